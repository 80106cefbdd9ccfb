package io.ultralong.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.Statistics;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Durable state of the sessions one worker owns, in one directory: RocksDB for sessions, records, the token log,
 * watermarks and the KV block index; one file per KV block beside it. This class owns every native handle and
 * closes them in {@link #close()}; the work is done by one part per concern: {@link SessionTable} (sessions,
 * records, watch progress), {@link TokenLog} (chunks, watermarks), {@link KvBlockStore} (verified KV blocks, with
 * its {@link KvQuota}) and {@link StoreCounters} (statistics). Writers are serialised on one lock (one worker
 * thread applies a partition's chunks); reads may run concurrently.
 *
 * <p>With a shared KV tier ({@link SharedKvTier}: a directory all workers mount, or an S3-compatible bucket),
 * every KV block is also written there, and a block missing locally is looked for there, verified the same way:
 * the next owner of a partition restores the KV of its sessions instead of recomputing it. The quota evicts
 * local blocks only.
 */
public final class ContextStore implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ContextStore.class);

    /** Column families of the layout before KV payloads moved to files: dropped at open (KV is only a cache). */
    private static final Set<String> LEGACY_KV_FAMILIES = Set.of("kv", "kv_sizes");
    private static final List<String> FAMILIES = List.of("sessions", "tokens", "records", "watermarks",
            "kv_index", "kv_access", "watch_progress");

    private static final byte[] WRITE_PROBE_KEY = "write-probe".getBytes(UTF_8);

    private final LRUCache blockCache;
    private final DBOptions dbOptions;
    private final Statistics rocksStatistics;
    private final ColumnFamilyOptions cfOptions;
    private final List<ColumnFamilyHandle> handles = new ArrayList<>();
    private final WriteOptions writeOptions;
    private final RocksDB db;
    private final Object writeLock = new Object();
    private final StoreCounters counters = new StoreCounters();
    private final SessionTable sessions;
    private final TokenLog tokenLog;
    private final KvBlockStore kvBlocks;
    /** Retries at open the shared purges that failed before; null without a shared tier. */
    private final Thread purgeRetry;
    /** The last RocksDB write failure's message while writes fail; null once a write succeeded again. */
    private volatile String writeFailure;

    private ContextStore(Path dir, long blockCacheBytes, long kvQuotaBytes, SharedKvTier shared) throws RocksDBException {
        RocksDB.loadLibrary();
        blockCache = new LRUCache(blockCacheBytes);
        // paranoid_checks off: with it, one failed WAL append (disk full, file too large) turns the database read-only
        // until it is reopened (RocksJava has no DB::Resume), so a worker could never recover by itself once space is
        // back. Reads still verify block checksums; the torn WAL record such a failure may leave is dealt with in
        // writing() below.
        dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true).setParanoidChecks(false);
        // Everything in RocksDB is now small (no KV payloads) and read back often: compress, cache its blocks.
        cfOptions = new ColumnFamilyOptions()
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(blockCache));
        List<String> legacy = existingLegacyFamilies(dir);
        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions));
        FAMILIES.forEach(name -> descriptors.add(new ColumnFamilyDescriptor(name.getBytes(UTF_8), cfOptions)));
        legacy.forEach(name -> descriptors.add(new ColumnFamilyDescriptor(name.getBytes(UTF_8), cfOptions)));
        rocksStatistics = new Statistics();
        dbOptions.setStatistics(rocksStatistics);
        db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
        for (int i = 0; i < legacy.size(); i++) {
            ColumnFamilyHandle old = handles.remove(handles.size() - 1);
            db.dropColumnFamily(old);
            old.close();
        }
        if (!legacy.isEmpty()) {
            LOG.info("Dropped the KV blocks of the previous store layout in {} (they are recomputed on demand)", dir);
        }
        // The WAL survives a process crash without fsync (the OS holds it); sync is only needed for power loss.
        writeOptions = new WriteOptions();
        sessions = new SessionTable(db, writeOptions, family("sessions"), family("records"), family("watch_progress"));
        tokenLog = new TokenLog(db, writeOptions, family("tokens"), family("watermarks"), sessions);
        kvBlocks = new KvBlockStore(dir, db, writeOptions, family("kv_index"), family("kv_access"), handles.get(0),
                kvQuotaBytes, shared, counters, writeLock);
        if (shared != null) {
            // Deletes whose shared purge failed before a restart: retried off the open path (the tier may be slow).
            // close() waits for it: it reads RocksDB.
            purgeRetry = new Thread(() -> {
                try {
                    kvBlocks.retrySharedPurges();
                } catch (RocksDBException | RuntimeException e) {
                    LOG.warn("Pending purges of the shared KV tier not retried: {}", e.getMessage());
                }
            }, "shared-kv-purges");
            purgeRetry.setDaemon(true);
            purgeRetry.start();
        } else {
            purgeRetry = null;
        }
    }

    public static ContextStore open(Path dir) throws RocksDBException {
        return open(dir, 64L << 20, Long.MAX_VALUE);
    }

    /**
     * @param kvQuotaBytes disk quota for KV blocks; above it whole sessions' KV blocks are evicted, least recently
     *                     used first; 0 or less: no quota. Token logs and records are never evicted.
     */
    public static ContextStore open(Path dir, long blockCacheBytes, long kvQuotaBytes) throws RocksDBException {
        return open(dir, blockCacheBytes, kvQuotaBytes, (SharedKvTier) null);
    }

    /**
     * @param sharedKvDir a directory all workers mount, where KV blocks are also written and looked for; null for
     *                    none. It has no quota of its own: session deletes empty it, its size is the operator's.
     */
    public static ContextStore open(Path dir, long blockCacheBytes, long kvQuotaBytes, Path sharedKvDir)
            throws RocksDBException {
        return open(dir, blockCacheBytes, kvQuotaBytes, sharedKvDir == null ? null : SharedKvTier.directory(sharedKvDir));
    }

    /**
     * @param shared where KV blocks are also written and looked for ({@link SharedKvTier#directory},
     *               {@link SharedKvTier#objectStore}); null for none
     */
    public static ContextStore open(Path dir, long blockCacheBytes, long kvQuotaBytes, SharedKvTier shared)
            throws RocksDBException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + dir, e);
        }
        return new ContextStore(dir, blockCacheBytes, kvQuotaBytes, shared);
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
    public AppendResult appendChunk(String session, long seq, long firstPosition, long sourceOffset,
                                    int[] chunk, int partition, long consumedOffset,
                                    UnaryOperator<byte[]> nextMetadata) throws RocksDBException {
        return writing(() -> {
            synchronized (writeLock) {
                return tokenLog.append(session, seq, firstPosition, sourceOffset, chunk, partition, consumedOffset, nextMetadata);
            }
        });
    }

    /** Next offset to consume for the partition, or -1 when none was stored. */
    public long appliedOffset(int partition) throws RocksDBException {
        return tokenLog.appliedOffset(partition);
    }

    /**
     * Forgets where the partition was read to, so it is applied again from its log start (its sessions' data must be
     * deleted first: the partition's log no longer matches what was applied from it).
     */
    public void resetPartition(int partition) throws RocksDBException {
        writing(() -> {
            synchronized (writeLock) {
                tokenLog.resetWatermark(partition);
            }
            return null;
        });
    }

    /** Records that offsets [from, to) of the partition were gone from Kafka (retention, data loss) before they were applied. */
    public void markRecordsLost(int partition, long from, long to) throws RocksDBException {
        writing(() -> {
            tokenLog.markLost(partition, from, to);
            return null;
        });
    }

    /** {from, to} of the last loss {@link #markRecordsLost} recorded for the partition, or null if none. */
    public long[] recordsLost(int partition) throws RocksDBException {
        return tokenLog.lost(partition);
    }

    /** All tokens of the session in position order. */
    public int[] readTokens(String session) throws RocksDBException {
        return tokenLog.read(session, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /** Tokens of chunks with seq <= maxSeq. */
    public int[] readTokensUpToSeq(String session, long maxSeq) throws RocksDBException {
        return tokenLog.read(session, maxSeq, Long.MAX_VALUE);
    }

    /** Tokens of chunks whose sourceOffset <= maxSourceOffset (offsets are monotonic per session). */
    public int[] readTokensUpToSourceOffset(String session, long maxSourceOffset) throws RocksDBException {
        return tokenLog.read(session, Long.MAX_VALUE, maxSourceOffset);
    }

    // ---------------------------------------------------------------- sessions and records

    public SessionInfo session(String session) throws RocksDBException {
        return sessions.get(session);
    }

    public List<String> listSessions() {
        return sessions.list();
    }

    /** Replaces the small metadata blob of an existing session (or creates the session with it). */
    public void putMetadata(String session, byte[] metadata) throws RocksDBException {
        writing(() -> {
            synchronized (writeLock) {
                sessions.putMetadata(session, metadata);
            }
            return null;
        });
    }

    public void putRecord(String session, long seq, byte[] record) throws RocksDBException {
        writing(() -> {
            sessions.putRecord(session, seq, record);
            return null;
        });
    }

    public byte[] record(String session, long seq) throws RocksDBException {
        return sessions.record(session, seq);
    }

    /** Removes everything of the session (range deletes, then its KV files); compaction gives the space back. */
    public void deleteSession(String session) throws RocksDBException {
        writing(() -> {
            synchronized (writeLock) {
                try (WriteBatch batch = new WriteBatch()) {
                    sessions.delete(batch, session);
                    tokenLog.delete(batch, session);
                    db.write(writeOptions, batch);
                }
            }
            kvBlocks.deleteSession(session);
            return null;
        });
    }

    // ---------------------------------------------------------------- standing queries

    /** Records that the watch's last evaluation covered the session's first {@code contextTokens} tokens. */
    public void putWatchProgress(String session, String watchId, long contextTokens) throws RocksDBException {
        writing(() -> {
            sessions.putWatchProgress(session, watchId, contextTokens);
            return null;
        });
    }

    /** The context tokens the watch's last evaluation covered, or -1 if none was recorded here. */
    public long watchProgress(String session, String watchId) throws RocksDBException {
        return sessions.watchProgress(session, watchId);
    }

    /** Forgets a deleted watch's progress. */
    public void deleteWatchProgress(String session, String watchId) throws RocksDBException {
        writing(() -> {
            sessions.deleteWatchProgress(session, watchId);
            return null;
        });
    }

    // ---------------------------------------------------------------- KV blocks

    /**
     * Stores block {@code blockIndex} of the session: the tokens it covers are
     * {@code sessionTokens[blockIndex*blockSize, (blockIndex+1)*blockSize)}. The chained hash is computed from the
     * session's tokens up to the end of the block. Returns once the block file is durable and indexed.
     */
    public void putKvBlock(byte[] fingerprint, String session, long blockIndex, int[] sessionTokens, int blockSize,
                           byte[] block) throws RocksDBException {
        putKvBlock(fingerprint, session, blockIndex, sessionTokens, blockSize, ByteBuffer.wrap(block));
    }

    /** Same as the byte[] form, from a buffer's remaining bytes (a direct buffer is written without a copy). */
    public void putKvBlock(byte[] fingerprint, String session, long blockIndex, int[] sessionTokens, int blockSize,
                           ByteBuffer block) throws RocksDBException {
        writing(() -> {
            kvBlocks.put(fingerprint, session, blockIndex, sessionTokens, blockSize, block.slice());
            return null;
        });
    }

    /**
     * Stores consecutive blocks {@code firstBlock, firstBlock+1, ...} of the session, as many as {@code blocks}
     * holds, like {@link #putKvBlock} each, but made durable together: every file is written before the first fsync
     * and the index entries commit in one batch, which keeps the disk busy where block-by-block syncs leave it idle
     * between blocks. Returns once all are durable and indexed.
     */
    public void putKvBlocks(byte[] fingerprint, String session, long firstBlock, int[] sessionTokens, int blockSize,
                            List<byte[]> blocks) throws RocksDBException {
        writing(() -> {
            kvBlocks.putAll(fingerprint, session, firstBlock, sessionTokens, blockSize,
                    blocks.stream().map(ByteBuffer::wrap).toList());
            return null;
        });
    }

    /**
     * Stores the session's unfinished block {@code blockIndex}, the first {@code partialTokens} (1 to blockSize-1) of
     * its tokens, so that a restore recomputes none of the session's cached tokens. A read delivers it after the full
     * blocks before it, as the last block; storing the full block {@code blockIndex} (or a longer partial one)
     * replaces it. Returns once it is durable and indexed.
     */
    public void putKvPartialBlock(byte[] fingerprint, String session, long blockIndex, int[] sessionTokens,
                                  int blockSize, int partialTokens, byte[] block) throws RocksDBException {
        writing(() -> {
            kvBlocks.putPartial(fingerprint, session, blockIndex, sessionTokens, blockSize, partialTokens,
                    ByteBuffer.wrap(block));
            return null;
        });
    }

    /**
     * Streams the longest prefix of stored blocks whose chained hash matches the session's current tokens and
     * whose checksum verifies, each copied into its own byte[]; a stored partial block ({@link #putKvPartialBlock})
     * comes last. The first block that fails is deleted with everything after it and counted.
     *
     * @return the number of blocks delivered, a partial one included
     */
    public long readVerifiedKvBlocks(byte[] fingerprint, String session, int[] sessionTokens, int blockSize,
                                     KvBlockConsumer consumer) throws RocksDBException {
        return kvBlocks.readVerified(fingerprint, session, sessionTokens, blockSize, (index, block) -> {
            byte[] copy;
            try (block) {
                copy = new byte[block.payload().remaining()];
                block.payload().duplicate().get(copy);
            }
            consumer.accept(index, copy);
        });
    }

    /**
     * Like {@link #readVerifiedKvBlocks} without the heap copy: each block is lent in a read-only direct buffer,
     * read and verified in one parallel pass; the consumer closes it when done ({@link KvBlockBuffer}).
     */
    public long readVerifiedKvBuffers(byte[] fingerprint, String session, int[] sessionTokens, int blockSize,
                                      KvBlockBufferConsumer consumer) throws RocksDBException {
        return kvBlocks.readVerified(fingerprint, session, sessionTokens, blockSize, consumer);
    }

    /**
     * Deleted sessions whose KV blocks could not be removed from the shared tier yet (it failed at the delete); each is
     * retried after the next shared write that succeeds, at the next open, and by {@link #retrySharedPurges()}.
     */
    public int sharedPurgesPending() {
        return kvBlocks.sharedPurgesPending();
    }

    /** Retries the pending purges of the shared tier now; how many are still pending. */
    public int retrySharedPurges() throws RocksDBException {
        return kvBlocks.retrySharedPurges();
    }

    public StoreStatistics statistics() throws RocksDBException {
        return counters.snapshot(kvBlocks.storedBytes());
    }

    // ---------------------------------------------------------------- write failures

    /**
     * Why the store's writes fail now (RocksDB's message: "No space left on device", "File too large", ...), or empty
     * when the last write succeeded. Reads keep working meanwhile.
     */
    public java.util.Optional<String> writeFailure() {
        return java.util.Optional.ofNullable(writeFailure);
    }

    /**
     * Writes one small key to learn whether writes succeed again (space was freed), so a store whose writes failed can
     * report recovery before real work arrives.
     *
     * @throws RocksDBException when writes still fail
     */
    public void probeWrites() throws RocksDBException {
        writing(() -> {
            db.put(handles.get(0), writeOptions, WRITE_PROBE_KEY, StoreKeys.longValue(System.currentTimeMillis()));
            return null;
        });
    }

    @FunctionalInterface
    private interface RocksWrite<T> {
        T run() throws RocksDBException;
    }

    /**
     * Runs one of the store's RocksDB writes, noting whether it failed. A failed WAL append may leave a torn record at
     * the end of the WAL, and recovery after a crash stops at it: every write after it would be rolled back (consistently,
     * since data and watermarks share batches, but the worker would replay them). So the first write that succeeds
     * after a failure flushes the memtables to fsynced SST files, which also starts a new WAL, and only then clears
     * the failure.
     */
    private <T> T writing(RocksWrite<T> write) throws RocksDBException {
        T result;
        try {
            result = write.run();
        } catch (RocksDBException e) {
            if (writeFailure == null) {
                LOG.error("Context store writes fail: {}", e.getMessage());
            }
            writeFailure = e.getMessage() == null ? e.toString() : e.getMessage();
            throw e;
        }
        if (writeFailure != null) {
            recoverFromWriteFailure();
        }
        return result;
    }

    private synchronized void recoverFromWriteFailure() throws RocksDBException {
        if (writeFailure == null) {
            return;
        }
        try {
            flush();
        } catch (RocksDBException e) {
            writeFailure = e.getMessage();
            throw e;
        }
        LOG.info("Context store writes succeed again (after: {}); memtables flushed past the failed WAL append", writeFailure);
        writeFailure = null;
    }

    // ---------------------------------------------------------------- maintenance

    /** Flushes memtables to SST files (fsynced) so written data no longer depends on the WAL. */
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

    private ColumnFamilyHandle family(String name) {
        return handles.get(1 + FAMILIES.indexOf(name));
    }

    private static List<String> existingLegacyFamilies(Path dir) throws RocksDBException {
        if (!Files.exists(dir.resolve("CURRENT"))) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        try (Options options = new Options()) {
            for (byte[] name : RocksDB.listColumnFamilies(options, dir.toString())) {
                String family = new String(name, UTF_8);
                if (LEGACY_KV_FAMILIES.contains(family)) {
                    out.add(family);
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        if (purgeRetry != null) {
            try {
                purgeRetry.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            db.flushWal(true);
        } catch (RocksDBException e) {
            // Closing anyway: the WAL is replayed on the next open.
        }
        handles.forEach(ColumnFamilyHandle::close);
        db.close();
        writeOptions.close();
        cfOptions.close();
        dbOptions.close();
        rocksStatistics.close();
        blockCache.close();
    }
}
