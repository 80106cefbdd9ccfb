package io.ultralong.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;

import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Statistics;
import org.rocksdb.Status;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Durable state of the sessions one worker owns, in one RocksDB directory. Owns every native handle it opens and
 * closes them in {@link #close()}. Writers are serialised (one worker thread applies a partition's chunks); reads
 * may run concurrently.
 *
 * <p>Column families: {@code sessions} (session -> counters + metadata blob), {@code tokens} (session|seq -> chunk),
 * {@code records} (session|seq -> raw record bytes), {@code kv} (fingerprint|session|block -> verified block),
 * {@code watermarks} (partition -> next offset to consume), {@code watch_progress} (session|watch -> tokens covered).
 *
 * <p>With a shared KV directory ({@link SharedKvDirectory}), every KV block is also written there, and a block
 * missing locally is looked for there, verified the same way: the next owner of a partition restores the KV
 * of its sessions instead of recomputing it. The quota evicts local blocks only.
 */
public final class ContextStore implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ContextStore.class);

    private static final int HASH_BYTES = 32;
    private static final int KV_HEADER_BYTES = HASH_BYTES + Integer.BYTES + Long.BYTES;
    private static final int SESSION_VALUE_FIXED = 5 * Long.BYTES;
    private static final int CHUNK_HEADER_BYTES = 2 * Long.BYTES;

    private final LRUCache blockCache;
    private final DBOptions dbOptions;
    private final Statistics rocksStatistics;
    private final List<ColumnFamilyOptions> cfOptions = new ArrayList<>();
    private final List<ColumnFamilyHandle> handles = new ArrayList<>();
    private final WriteOptions writeOptions;
    private final RocksDB db;
    private final ColumnFamilyHandle sessions;
    private final ColumnFamilyHandle tokens;
    private final ColumnFamilyHandle records;
    private final ColumnFamilyHandle kv;
    private final ColumnFamilyHandle watermarks;
    /** session prefix | fingerprint | block index -> stored value length: the quota's accounting. */
    private final ColumnFamilyHandle kvSizes;
    /** session key -> logical time of the last KV write or read: the quota's LRU order. */
    private final ColumnFamilyHandle kvAccess;
    /** session prefix | watch id -> context tokens the watch's last evaluation covered. */
    private final ColumnFamilyHandle watchProgress;
    private final long kvQuotaBytes;
    /** null: KV blocks are local only. */
    private final SharedKvDirectory shared;
    private final AtomicLong kvBytes = new AtomicLong();
    private final AtomicLong accessClock = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();

    private final AtomicLong kvBlocksWritten = new AtomicLong();
    private final AtomicLong kvHits = new AtomicLong();
    private final AtomicLong sharedHits = new AtomicLong();
    private final AtomicLong sharedErrors = new AtomicLong();
    private final AtomicLong kvMisses = new AtomicLong();
    private final AtomicLong corruptDropped = new AtomicLong();
    private final AtomicLong foreignDropped = new AtomicLong();

    private ContextStore(Path dir, long blockCacheBytes, long kvQuotaBytes, SharedKvDirectory shared) throws RocksDBException {
        RocksDB.loadLibrary();
        this.shared = shared;
        blockCache = new LRUCache(blockCacheBytes);
        dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
        // Tokens, records and metadata are small, repetitive and read back often: compress, cache their blocks.
        ColumnFamilyOptions compressed = new ColumnFamilyOptions()
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(blockCache));
        // KV blocks are fp16 activations (incompressible) of tens of MiB: keep them in blob files so compaction
        // moves only the small keys, and never compress them.
        ColumnFamilyOptions kvOptions = new ColumnFamilyOptions()
                .setCompressionType(CompressionType.NO_COMPRESSION)
                .setEnableBlobFiles(true)
                .setMinBlobSize(64 * 1024)
                .setBlobCompressionType(CompressionType.NO_COMPRESSION)
                .setBlobFileSize(256L << 20)
                .setWriteBufferSize(128L << 20);
        cfOptions.add(compressed);
        cfOptions.add(kvOptions);
        List<ColumnFamilyDescriptor> descriptors = List.of(
                new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, compressed),
                new ColumnFamilyDescriptor("sessions".getBytes(UTF_8), compressed),
                new ColumnFamilyDescriptor("tokens".getBytes(UTF_8), compressed),
                new ColumnFamilyDescriptor("records".getBytes(UTF_8), compressed),
                new ColumnFamilyDescriptor("kv".getBytes(UTF_8), kvOptions),
                new ColumnFamilyDescriptor("watermarks".getBytes(UTF_8), compressed),
                new ColumnFamilyDescriptor("kv_sizes".getBytes(UTF_8), compressed),
                new ColumnFamilyDescriptor("kv_access".getBytes(UTF_8), compressed),
                new ColumnFamilyDescriptor("watch_progress".getBytes(UTF_8), compressed));
        rocksStatistics = new Statistics();
        dbOptions.setStatistics(rocksStatistics);
        db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
        sessions = handles.get(1);
        tokens = handles.get(2);
        records = handles.get(3);
        kv = handles.get(4);
        watermarks = handles.get(5);
        kvSizes = handles.get(6);
        kvAccess = handles.get(7);
        watchProgress = handles.get(8);
        this.kvQuotaBytes = kvQuotaBytes;
        long total = 0;
        long clock = System.currentTimeMillis() * 1000;
        try (RocksIterator it = db.newIterator(kvSizes)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                total += ByteBuffer.wrap(it.value()).getLong();
            }
        }
        try (RocksIterator it = db.newIterator(kvAccess)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                clock = Math.max(clock, ByteBuffer.wrap(it.value()).getLong() + 1);
            }
        }
        kvBytes.set(total);
        accessClock.set(clock);
        // The WAL survives a process crash without fsync (the OS holds it); sync is only needed for power loss.
        writeOptions = new WriteOptions();
    }

    public static ContextStore open(Path dir) throws RocksDBException {
        return open(dir, 64L << 20, Long.MAX_VALUE);
    }

    /**
     * @param kvQuotaBytes disk quota for KV blocks; above it whole sessions' KV blocks are evicted, least recently
     *                     used first. Token logs and records are never evicted.
     */
    public static ContextStore open(Path dir, long blockCacheBytes, long kvQuotaBytes) throws RocksDBException {
        return open(dir, blockCacheBytes, kvQuotaBytes, null);
    }

    /**
     * @param sharedKvDir a directory all workers mount, where KV blocks are also written and looked for; null for
     *                    none. It has no quota of its own: session deletes empty it, its size is the operator's.
     */
    public static ContextStore open(Path dir, long blockCacheBytes, long kvQuotaBytes, Path sharedKvDir)
            throws RocksDBException {
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot create " + dir, e);
        }
        return new ContextStore(dir, blockCacheBytes, kvQuotaBytes, sharedKvDir == null ? null : new SharedKvDirectory(sharedKvDir));
    }

    // ---------------------------------------------------------------- token log

    /** Applies a chunk without a consumer watermark. */
    public AppendResult appendChunk(String session, long seq, long firstPosition, long sourceOffset, int[] chunk)
            throws RocksDBException {
        return appendChunk(session, seq, firstPosition, sourceOffset, chunk, -1, -1);
    }

    /** Applies a chunk with a consumer watermark, keeping the session's metadata as it is. */
    public AppendResult appendChunk(String session, long seq, long firstPosition, long sourceOffset,
                                    int[] chunk, int partition, long consumedOffset) throws RocksDBException {
        return appendChunk(session, seq, firstPosition, sourceOffset, chunk, partition, consumedOffset, UnaryOperator.identity());
    }

    /**
     * Applies a chunk atomically with the session counters, the session's metadata as {@code nextMetadata} makes it
     * from the current one (empty for a new session), and, when partition >= 0, the partition watermark (next offset
     * to consume = consumedOffset + 1), all in one WriteBatch. Re-applying an applied seq changes nothing; a seq
     * beyond the next one is reported as a gap and not written.
     */
    public synchronized AppendResult appendChunk(String session, long seq, long firstPosition, long sourceOffset,
                                                 int[] chunk, int partition, long consumedOffset,
                                                 UnaryOperator<byte[]> nextMetadata)
            throws RocksDBException {
        SessionInfo info = session(session);
        long lastSeq = info == null ? 0 : info.lastSeq();
        if (seq <= lastSeq) {
            return AppendResult.duplicate(lastSeq + 1);
        }
        if (seq != lastSeq + 1) {
            return AppendResult.gap(lastSeq + 1);
        }
        long tokenCount = info == null ? 0 : info.tokenCount();
        if (firstPosition != tokenCount) {
            throw new IllegalArgumentException("chunk " + seq + " of " + session + " starts at position "
                    + firstPosition + " but the log holds " + tokenCount + " tokens");
        }
        long now = System.currentTimeMillis();
        ByteBuffer value = ByteBuffer.allocate(CHUNK_HEADER_BYTES + chunk.length * Integer.BYTES);
        value.putLong(firstPosition).putLong(sourceOffset);
        for (int t : chunk) {
            value.putInt(t);
        }
        SessionInfo next = new SessionInfo(session, seq, sourceOffset, tokenCount + chunk.length,
                info == null ? now : info.createdMillis(), now,
                nextMetadata.apply(info == null ? new byte[0] : info.metadata()));
        try (WriteBatch batch = new WriteBatch()) {
            batch.put(tokens, seqKey(session, seq), value.array());
            batch.put(sessions, sessionKey(session), encode(next));
            if (partition >= 0) {
                batch.put(watermarks, ByteBuffer.allocate(4).putInt(partition).array(),
                        ByteBuffer.allocate(8).putLong(consumedOffset + 1).array());
            }
            db.write(writeOptions, batch);
        }
        return AppendResult.applied(seq + 1);
    }

    /** Next offset to consume for the partition, or -1 when none was stored. */
    public long appliedOffset(int partition) throws RocksDBException {
        byte[] v = db.get(watermarks, ByteBuffer.allocate(4).putInt(partition).array());
        return v == null ? -1 : ByteBuffer.wrap(v).getLong();
    }

    /** All tokens of the session in position order. */
    public int[] readTokens(String session) throws RocksDBException {
        return readTokensAsOf(session, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /** Tokens of chunks with seq <= maxSeq. */
    public int[] readTokensUpToSeq(String session, long maxSeq) throws RocksDBException {
        return readTokensAsOf(session, maxSeq, Long.MAX_VALUE);
    }

    /** Tokens of chunks whose sourceOffset <= maxSourceOffset (offsets are monotonic per session). */
    public int[] readTokensUpToSourceOffset(String session, long maxSourceOffset) throws RocksDBException {
        return readTokensAsOf(session, Long.MAX_VALUE, maxSourceOffset);
    }

    private int[] readTokensAsOf(String session, long maxSeq, long maxSourceOffset) throws RocksDBException {
        SessionInfo info = session(session);
        if (info == null) {
            return new int[0];
        }
        int[] out = new int[Math.toIntExact(info.tokenCount())];
        int filled = 0;
        byte[] prefix = sessionPrefix(session);
        try (RocksIterator it = db.newIterator(tokens)) {
            for (it.seek(seqKey(session, 1)); it.isValid() && startsWith(it.key(), prefix); it.next()) {
                long seq = ByteBuffer.wrap(it.key(), prefix.length, Long.BYTES).getLong();
                ByteBuffer v = ByteBuffer.wrap(it.value());
                long first = v.getLong();
                long sourceOffset = v.getLong();
                if (seq > maxSeq || sourceOffset > maxSourceOffset) {
                    break;
                }
                if (first != filled) {
                    throw new IllegalStateException("token log of " + session + " not contiguous at seq " + seq);
                }
                while (v.hasRemaining()) {
                    out[filled++] = v.getInt();
                }
            }
            it.status();
        }
        return filled == out.length ? out : Arrays.copyOf(out, filled);
    }

    // ---------------------------------------------------------------- sessions and records

    public SessionInfo session(String session) throws RocksDBException {
        byte[] v = db.get(sessions, sessionKey(session));
        return v == null ? null : decode(session, v);
    }

    public List<String> listSessions() {
        List<String> out = new ArrayList<>();
        try (RocksIterator it = db.newIterator(sessions)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                out.add(new String(it.key(), UTF_8));
            }
        }
        return out;
    }

    /** Replaces the small metadata blob of an existing session (or creates the session with it). */
    public synchronized void putMetadata(String session, byte[] metadata) throws RocksDBException {
        SessionInfo info = session(session);
        long now = System.currentTimeMillis();
        SessionInfo next = info == null
                ? new SessionInfo(session, 0, -1, 0, now, now, metadata)
                : new SessionInfo(session, info.lastSeq(), info.lastSourceOffset(), info.tokenCount(),
                        info.createdMillis(), now, metadata);
        db.put(sessions, writeOptions, sessionKey(session), encode(next));
    }

    public void putRecord(String session, long seq, byte[] record) throws RocksDBException {
        db.put(records, writeOptions, seqKey(session, seq), record);
    }

    public byte[] record(String session, long seq) throws RocksDBException {
        return db.get(records, seqKey(session, seq));
    }

    /** Removes everything of the session with range deletes; compaction then gives the space back. */
    public synchronized void deleteSession(String session) throws RocksDBException {
        byte[] prefix = sessionPrefix(session);
        try (WriteBatch batch = new WriteBatch()) {
            batch.delete(sessions, sessionKey(session));
            batch.deleteRange(tokens, prefix, rangeEnd(prefix));
            batch.deleteRange(records, prefix, rangeEnd(prefix));
            batch.deleteRange(watchProgress, prefix, rangeEnd(prefix));
            db.write(writeOptions, batch);
        }
        dropAllKv(session);
        onShared("Could not delete a session's KV blocks from the shared directory", s -> s.dropSession(session));
    }

    /**
     * Runs a write to the shared KV directory, if there is one. The shared copy only spares a partition's next
     * owner the recompute: a failure is logged and counted, never passed on to the query.
     */
    private void onShared(String failure, java.util.function.Consumer<SharedKvDirectory> action) {
        if (shared == null) {
            return;
        }
        try {
            action.accept(shared);
        } catch (UncheckedIOException e) {
            sharedErrors.incrementAndGet();
            LOG.warn("{}: {}", failure, e.getMessage());
        }
    }

    // ---------------------------------------------------------------- standing queries

    /** Records that the watch's last evaluation covered the session's first {@code contextTokens} tokens. */
    public void putWatchProgress(String session, String watchId, long contextTokens) throws RocksDBException {
        db.put(watchProgress, writeOptions, watchKey(session, watchId), ByteBuffer.allocate(Long.BYTES).putLong(contextTokens).array());
    }

    /** The context tokens the watch's last evaluation covered, or -1 if none was recorded here. */
    public long watchProgress(String session, String watchId) throws RocksDBException {
        byte[] value = db.get(watchProgress, watchKey(session, watchId));
        return value == null ? -1 : ByteBuffer.wrap(value).getLong();
    }

    /** Forgets a deleted watch's progress. */
    public void deleteWatchProgress(String session, String watchId) throws RocksDBException {
        db.delete(watchProgress, writeOptions, watchKey(session, watchId));
    }

    private static byte[] watchKey(String session, String watchId) {
        byte[] prefix = sessionPrefix(session);
        byte[] id = watchId.getBytes(UTF_8);
        return ByteBuffer.allocate(prefix.length + id.length).put(prefix).put(id).array();
    }

    /** Flushes memtables to SST and blob files (fsynced) so written data no longer depends on the WAL. */
    public void flush() throws RocksDBException {
        try (FlushOptions options = new FlushOptions().setWaitForFlush(true)) {
            db.flush(options, handles);
        }
    }

    /** Compacts all column families so range-deleted space is reclaimed now. */
    public void compact() throws RocksDBException {
        for (ColumnFamilyHandle h : handles) {
            db.compactRange(h);
        }
    }

    private List<byte[]> fingerprintsOf(String session) {
        List<byte[]> out = new ArrayList<>();
        try (RocksIterator it = db.newIterator(kv)) {
            it.seekToFirst();
            while (it.isValid()) {
                byte[] key = it.key();
                int fpLen = key[0] & 0xFF;
                byte[] fp = Arrays.copyOfRange(key, 1, 1 + fpLen);
                // Keys under one fingerprint are sorted by session: probe this session's range directly.
                byte[] kp = kvPrefix(fp, session);
                it.seek(kp);
                if (it.isValid() && startsWith(it.key(), kp)) {
                    out.add(fp);
                }
                // Skip to the next fingerprint.
                byte[] nextFp = rangeEnd(Arrays.copyOfRange(key, 0, 1 + fpLen));
                it.seek(nextFp);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- KV blocks

    /**
     * Stores block {@code blockIndex} of the session: the tokens it covers are
     * {@code sessionTokens[blockIndex*blockSize, (blockIndex+1)*blockSize)}. The chained hash is computed from the
     * session's tokens up to the end of the block.
     */
    public void putKvBlock(byte[] fingerprint, String session, long blockIndex, int[] sessionTokens, int blockSize,
                           byte[] block) throws RocksDBException {
        long end = (blockIndex + 1) * blockSize;
        if (end > sessionTokens.length) {
            throw new IllegalArgumentException("block " + blockIndex + " needs " + end + " tokens, have "
                    + sessionTokens.length);
        }
        byte[] chain = chainHash(fingerprint, session, blockIndex, sessionTokens, blockSize);
        CRC32C crc = new CRC32C();
        crc.update(block);
        byte[] value = new byte[KV_HEADER_BYTES + block.length];
        ByteBuffer.wrap(value).put(chain).putInt((int) crc.getValue()).putLong(block.length).put(block);
        byte[] sizeKey = sizeKey(session, fingerprint, blockIndex);
        byte[] previous = db.get(kvSizes, sizeKey);
        try (WriteBatch batch = new WriteBatch()) {
            batch.put(kv, kvKey(fingerprint, session, blockIndex), value);
            // Size for the quota, then the chain hash, so the next block's hash costs one block, not the whole log.
            batch.put(kvSizes, sizeKey, ByteBuffer.allocate(Long.BYTES + HASH_BYTES).putLong(value.length).put(chain).array());
            batch.put(kvAccess, sessionKey(session), ByteBuffer.allocate(8).putLong(accessClock.incrementAndGet()).array());
            db.write(writeOptions, batch);
        }
        kvBytes.addAndGet(value.length - (previous == null ? 0 : ByteBuffer.wrap(previous).getLong()));
        kvBlocksWritten.incrementAndGet();
        onShared("KV block not copied to the shared directory", s -> s.write(fingerprint, session, blockIndex, value));
        enforceQuota(session);
    }

    /**
     * Streams the longest prefix of stored blocks whose chained hash matches the session's current tokens and
     * whose checksum verifies. The first block that fails is deleted with everything after it and counted.
     *
     * @return the number of blocks delivered
     */
    public long readVerifiedKvBlocks(byte[] fingerprint, String session, int[] sessionTokens, int blockSize,
                                     KvBlockConsumer consumer) throws RocksDBException {
        long fullBlocks = sessionTokens.length / blockSize;
        byte[][] expected = chainHashes(sessionTokens, blockSize, fullBlocks);
        long index = 0;
        for (; index < fullBlocks; index++) {
            byte[] value;
            try {
                value = db.get(kv, kvKey(fingerprint, session, index));
            } catch (RocksDBException e) {
                // RocksDB's own blob/block checksum caught the damage before our CRC32C could.
                if (e.getStatus() == null || e.getStatus().getCode() != Status.Code.Corruption) {
                    throw e;
                }
                corruptDropped.incrementAndGet();
                dropFrom(fingerprint, session, index);
                return index;
            }
            boolean fromShared = false;
            if (value == null && shared != null) {
                try {
                    value = shared.read(fingerprint, session, index);
                    fromShared = value != null;
                } catch (UncheckedIOException e) {
                    sharedErrors.incrementAndGet();
                    LOG.warn("Shared KV directory unreadable, recomputing from block {}: {}", index, e.getMessage());
                }
            }
            if (value == null) {
                kvMisses.incrementAndGet();
                return index;
            }
            ByteBuffer v = ByteBuffer.wrap(value);
            byte[] chain = new byte[HASH_BYTES];
            v.get(chain);
            int storedCrc = v.getInt();
            long length = v.getLong();
            if (!Arrays.equals(chain, expected[Math.toIntExact(index)])) {
                foreignDropped.incrementAndGet();
                dropFrom(fingerprint, session, index);
                return index;
            }
            CRC32C crc = new CRC32C();
            crc.update(value, KV_HEADER_BYTES, value.length - KV_HEADER_BYTES);
            if (length != value.length - KV_HEADER_BYTES || (int) crc.getValue() != storedCrc) {
                corruptDropped.incrementAndGet();
                dropFrom(fingerprint, session, index);
                return index;
            }
            kvHits.incrementAndGet();
            if (fromShared) {
                sharedHits.incrementAndGet();
            }
            if (index == 0) {
                db.put(kvAccess, writeOptions, sessionKey(session),
                        ByteBuffer.allocate(8).putLong(accessClock.incrementAndGet()).array());
            }
            consumer.accept(index, Arrays.copyOfRange(value, KV_HEADER_BYTES, value.length));
        }
        return index;
    }

    /** Drops blocks {@code index} and after, locally and in the shared directory (they failed verification). */
    private synchronized void dropFrom(byte[] fingerprint, String session, long index) throws RocksDBException {
        onShared("Could not drop failed KV blocks from the shared directory", s -> s.dropFrom(fingerprint, session, index));
        byte[] prefix = kvPrefix(fingerprint, session);
        byte[] sizeStart = sizeKey(session, fingerprint, index);
        byte[] sizeEnd = rangeEnd(Arrays.copyOf(sizeStart, sizeStart.length - Long.BYTES));
        long freed = sumSizes(sizeStart, sizeEnd);
        try (WriteBatch batch = new WriteBatch()) {
            batch.deleteRange(kv, kvKey(fingerprint, session, index), rangeEnd(prefix));
            batch.deleteRange(kvSizes, sizeStart, sizeEnd);
            db.write(writeOptions, batch);
        }
        kvBytes.addAndGet(-freed);
    }

    /** Removes all local KV blocks of the session (every fingerprint) and its quota bookkeeping. */
    private synchronized void dropAllKv(String session) throws RocksDBException {
        byte[] sp = sessionPrefix(session);
        long freed = sumSizes(sp, rangeEnd(sp));
        try (WriteBatch batch = new WriteBatch()) {
            for (byte[] fp : fingerprintsOf(session)) {
                byte[] kvPrefix = kvPrefix(fp, session);
                batch.deleteRange(kv, kvPrefix, rangeEnd(kvPrefix));
            }
            batch.deleteRange(kvSizes, sp, rangeEnd(sp));
            batch.delete(kvAccess, sessionKey(session));
            db.write(writeOptions, batch);
        }
        kvBytes.addAndGet(-freed);
    }

    private long sumSizes(byte[] from, byte[] to) {
        long sum = 0;
        try (RocksIterator it = db.newIterator(kvSizes)) {
            for (it.seek(from); it.isValid() && Arrays.compareUnsigned(it.key(), to) < 0; it.next()) {
                sum += ByteBuffer.wrap(it.value()).getLong();
            }
        }
        return sum;
    }

    /** Evicts whole sessions' KV blocks, least recently used first, never the session just written. */
    private synchronized void enforceQuota(String writingSession) throws RocksDBException {
        while (kvBytes.get() > kvQuotaBytes) {
            String victim = null;
            long oldest = Long.MAX_VALUE;
            try (RocksIterator it = db.newIterator(kvAccess)) {
                for (it.seekToFirst(); it.isValid(); it.next()) {
                    String s = new String(it.key(), UTF_8);
                    long at = ByteBuffer.wrap(it.value()).getLong();
                    if (!s.equals(writingSession) && at < oldest) {
                        oldest = at;
                        victim = s;
                    }
                }
            }
            if (victim == null) {
                return;
            }
            dropAllKv(victim);   // local only: a shared copy stays for whoever needs it next
            evictions.incrementAndGet();
        }
    }

    private static byte[] sizeKey(String session, byte[] fingerprint, long blockIndex) {
        byte[] p = sessionPrefix(session);
        return ByteBuffer.allocate(p.length + 1 + fingerprint.length + Long.BYTES)
                .put(p).put((byte) fingerprint.length).put(fingerprint).putLong(blockIndex).array();
    }

    /** SHA-256 chain: h[i] = sha256(h[i-1] || tokens of block i as big-endian ints), h[-1] = 32 zero bytes. */
    /**
     * The chained hash of block {@code blockIndex}: from the stored hash of the block before when there is one
     * (a stale one only makes this block fail verification, as its predecessor already does), else from the start.
     */
    private byte[] chainHash(byte[] fingerprint, String session, long blockIndex, int[] sessionTokens, int blockSize)
            throws RocksDBException {
        if (blockIndex > 0) {
            byte[] before = db.get(kvSizes, sizeKey(session, fingerprint, blockIndex - 1));
            byte[] previous = before != null && before.length == Long.BYTES + HASH_BYTES
                    ? Arrays.copyOfRange(before, Long.BYTES, before.length)
                    : sharedChainHash(fingerprint, session, blockIndex - 1);   // a block restored from the shared directory
            if (previous != null) {
                return chainStep(sha256(), previous, sessionTokens, Math.toIntExact(blockIndex), blockSize,
                        ByteBuffer.allocate(blockSize * Integer.BYTES));
            }
        }
        return chainHashes(sessionTokens, blockSize, blockIndex + 1)[Math.toIntExact(blockIndex)];
    }

    /** The chain hash stored with a block in the shared directory, or null. */
    private byte[] sharedChainHash(byte[] fingerprint, String session, long blockIndex) {
        if (shared == null) {
            return null;
        }
        try {
            return shared.chainHash(fingerprint, session, blockIndex, HASH_BYTES);
        } catch (UncheckedIOException e) {
            return null;   // hashing from the start gives the same answer, only slower
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SHA-256(previous hash || block b's token ids as big-endian int32). */
    private static byte[] chainStep(MessageDigest sha, byte[] previous, int[] sessionTokens, int b, int blockSize, ByteBuffer buf) {
        buf.clear();
        for (int i = 0; i < blockSize; i++) {
            buf.putInt(sessionTokens[b * blockSize + i]);
        }
        sha.update(previous);
        sha.update(buf.array());
        return sha.digest();
    }

    static byte[][] chainHashes(int[] sessionTokens, int blockSize, long blocks) {
        MessageDigest sha = sha256();
        byte[][] out = new byte[Math.toIntExact(blocks)][];
        byte[] prev = new byte[HASH_BYTES];
        ByteBuffer buf = ByteBuffer.allocate(blockSize * Integer.BYTES);
        for (int b = 0; b < blocks; b++) {
            prev = chainStep(sha, prev, sessionTokens, b, blockSize, buf);
            out[b] = prev;
        }
        return out;
    }

    public StoreStatistics statistics() throws RocksDBException {
        return new StoreStatistics(kvBytes.get(), kvBlocksWritten.get(), kvHits.get(), kvMisses.get(),
                corruptDropped.get(), foreignDropped.get(), evictions.get(), sharedHits.get(), sharedErrors.get());
    }

    // ---------------------------------------------------------------- encoding

    private static byte[] sessionKey(String session) {
        return session.getBytes(UTF_8);
    }

    /** 2-byte length then UTF-8 key, so no session's prefix is a prefix of another's. */
    private static byte[] sessionPrefix(String session) {
        byte[] s = session.getBytes(UTF_8);
        if (s.length > 0xFFFF) {
            throw new IllegalArgumentException("session key longer than 65535 bytes");
        }
        return ByteBuffer.allocate(2 + s.length).putShort((short) s.length).put(s).array();
    }

    private static byte[] seqKey(String session, long seq) {
        byte[] p = sessionPrefix(session);
        return ByteBuffer.allocate(p.length + Long.BYTES).put(p).putLong(seq).array();
    }

    private static byte[] kvPrefix(byte[] fingerprint, String session) {
        if (fingerprint.length == 0 || fingerprint.length > 255) {
            throw new IllegalArgumentException("fingerprint must be 1..255 bytes");
        }
        byte[] p = sessionPrefix(session);
        return ByteBuffer.allocate(1 + fingerprint.length + p.length)
                .put((byte) fingerprint.length).put(fingerprint).put(p).array();
    }

    private static byte[] kvKey(byte[] fingerprint, String session, long blockIndex) {
        byte[] p = kvPrefix(fingerprint, session);
        return ByteBuffer.allocate(p.length + Long.BYTES).put(p).putLong(blockIndex).array();
    }

    /** Smallest key greater than every key starting with prefix (prefix followed by 0xFF bytes). */
    private static byte[] rangeEnd(byte[] prefix) {
        byte[] end = Arrays.copyOf(prefix, prefix.length + 9);
        Arrays.fill(end, prefix.length, end.length, (byte) 0xFF);
        return end;
    }

    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static byte[] encode(SessionInfo s) {
        return ByteBuffer.allocate(SESSION_VALUE_FIXED + s.metadata().length)
                .putLong(s.lastSeq()).putLong(s.lastSourceOffset()).putLong(s.tokenCount())
                .putLong(s.createdMillis()).putLong(s.updatedMillis()).put(s.metadata()).array();
    }

    private static SessionInfo decode(String session, byte[] v) {
        ByteBuffer b = ByteBuffer.wrap(v);
        long lastSeq = b.getLong();
        long lastOffset = b.getLong();
        long count = b.getLong();
        long created = b.getLong();
        long updated = b.getLong();
        byte[] meta = new byte[b.remaining()];
        b.get(meta);
        return new SessionInfo(session, lastSeq, lastOffset, count, created, updated, meta);
    }

    @Override
    public void close() {
        try {
            db.flushWal(true);
        } catch (RocksDBException e) {
            // Closing anyway: the WAL is replayed on the next open.
        }
        handles.forEach(ColumnFamilyHandle::close);
        db.close();
        writeOptions.close();
        cfOptions.forEach(ColumnFamilyOptions::close);
        dbOptions.close();
        rocksStatistics.close();
        blockCache.close();
    }
}
