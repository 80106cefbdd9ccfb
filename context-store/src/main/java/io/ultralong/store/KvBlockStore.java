package io.ultralong.store;

import static io.ultralong.store.StoreKeys.rangeEnd;
import static io.ultralong.store.StoreKeys.sessionPrefix;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verified KV blocks: payloads in files ({@link KvBlockFile}, one per block, written once), and in RocksDB only
 * the block index {@code kv_index} (session | fingerprint | block -> file size, file id, XXH64, chain hash).
 *
 * <p>Commit protocol: the file is made durable first (temporary name, fsync, rename, directory fsync), then the
 * index entry is written; the entry is the commit point, so a block is visible whole or not at all and no payload
 * goes through the WAL. A crash in between leaves an orphan file, swept at the next open. A block rewritten under
 * the same index gets a new file (a new file id), and the old file is deleted only after the new entry committed.
 * An entry whose file is missing counts as a missing block, a short or damaged one as corrupt: both are
 * recomputed by the caller, never an error to the query.
 */
final class KvBlockStore {

    private static final Logger LOG = LoggerFactory.getLogger(KvBlockStore.class);

    /** Under the store directory, next to RocksDB's files (RocksDB ignores names it did not make). */
    static final String FILES_DIRECTORY = "kv-blocks";

    private static final int ENTRY_BYTES = 3 * Long.BYTES + ChainHash.BYTES + Integer.BYTES;
    /** Entries written before partial blocks existed: no token count, always a full block. */
    private static final int FULL_ENTRY_BYTES = 3 * Long.BYTES + ChainHash.BYTES;

    private final RocksDB db;
    private final WriteOptions writeOptions;
    private final ColumnFamilyHandle index;
    private final Path root;
    /** null: KV blocks are local only. */
    private final SharedKvTier shared;
    private final KvQuota quota;
    private final StoreCounters counters;
    private final Object writeLock;
    /** Read buffers kept for reuse: eight 32 MiB blocks of UltraLong-8B, twice the worker's default read-ahead. */
    private final DirectBufferPool buffers = new DirectBufferPool(256L << 20);
    /** Deleted sessions whose shared blocks are still to be purged: {@code shared-purge:<session>} keys. */
    private final ColumnFamilyHandle pendingPurges;
    private final java.util.concurrent.atomic.AtomicInteger purgesPending = new java.util.concurrent.atomic.AtomicInteger();

    /** One block's index entry. */
    private record Entry(long fileBytes, long fileId, long checksum, byte[] chainHash, int partialTokens) {

        static Entry decode(byte[] value) {
            if (value == null || (value.length != ENTRY_BYTES && value.length != FULL_ENTRY_BYTES)) {
                return null;
            }
            ByteBuffer b = ByteBuffer.wrap(value);
            long bytes = b.getLong();
            long id = b.getLong();
            long checksum = b.getLong();
            byte[] chain = new byte[ChainHash.BYTES];
            b.get(chain);
            return new Entry(bytes, id, checksum, chain, b.hasRemaining() ? b.getInt() : 0);
        }

        byte[] encode() {
            return ByteBuffer.allocate(ENTRY_BYTES).putLong(fileBytes).putLong(fileId).putLong(checksum)
                    .put(chainHash).putInt(partialTokens).array();
        }
    }

    private static final byte[] PURGE_PREFIX = "shared-purge:".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    KvBlockStore(Path storeDirectory, RocksDB db, WriteOptions writeOptions, ColumnFamilyHandle index,
                 ColumnFamilyHandle access, ColumnFamilyHandle pendingPurges, long quotaBytes, SharedKvTier shared,
                 StoreCounters counters, Object writeLock) {
        this.pendingPurges = pendingPurges;
        try (RocksIterator it = db.newIterator(pendingPurges)) {
            for (it.seek(PURGE_PREFIX); it.isValid() && startsWith(it.key(), PURGE_PREFIX); it.next()) {
                purgesPending.incrementAndGet();
            }
        }
        this.db = db;
        this.writeOptions = writeOptions;
        this.index = index;
        this.root = storeDirectory.resolve(FILES_DIRECTORY);
        this.shared = shared;
        this.counters = counters;
        this.writeLock = writeLock;
        this.quota = new KvQuota(db, writeOptions, access, quotaBytes, sweepAndCount());
    }

    long storedBytes() {
        return quota.bytes();
    }

    /**
     * Stores block {@code blockIndex} of the session; the tokens it covers are
     * {@code sessionTokens[blockIndex*blockSize, (blockIndex+1)*blockSize)}.
     */
    void put(byte[] fingerprint, String session, long blockIndex, int[] sessionTokens, int blockSize,
             ByteBuffer payload) throws RocksDBException {
        putAll(fingerprint, session, blockIndex, sessionTokens, blockSize, List.of(payload));
    }

    /**
     * Stores consecutive blocks {@code firstBlock, firstBlock+1, ...} of the session: all files durable in one batch
     * ({@link KvBlockFile#writeDurably(List, List, List)}), then all index entries in one RocksDB batch. A crash in
     * between leaves orphan files (swept at open) and no entry, so every block is visible whole or not at all.
     */
    void putAll(byte[] fingerprint, String session, long firstBlock, int[] sessionTokens, int blockSize,
                List<ByteBuffer> payloads) throws RocksDBException {
        write(fingerprint, session, firstBlock, sessionTokens, blockSize, payloads, 0);
    }

    /**
     * Stores the session's unfinished block {@code blockIndex}: its first {@code partialTokens} tokens (1 to
     * blockSize-1). It is restored like a full block, as the last one, and replaced when the full block is stored.
     */
    void putPartial(byte[] fingerprint, String session, long blockIndex, int[] sessionTokens, int blockSize,
                    int partialTokens, ByteBuffer payload) throws RocksDBException {
        if (partialTokens < 1 || partialTokens >= blockSize) {
            throw new IllegalArgumentException("a partial block holds 1.." + (blockSize - 1) + " tokens, not " + partialTokens);
        }
        write(fingerprint, session, blockIndex, sessionTokens, blockSize, List.of(payload), partialTokens);
    }

    /** Blocks firstBlock.. durably, the last one partial when {@code lastPartialTokens} is above 0. */
    private void write(byte[] fingerprint, String session, long firstBlock, int[] sessionTokens, int blockSize,
                       List<ByteBuffer> payloads, int lastPartialTokens) throws RocksDBException {
        int n = payloads.size();
        long end = (firstBlock + n - 1) * blockSize + (lastPartialTokens > 0 ? lastPartialTokens : blockSize);
        if (end > sessionTokens.length) {
            throw new IllegalArgumentException("blocks up to " + (firstBlock + n - 1) + " need " + end + " tokens, have "
                    + sessionTokens.length);
        }
        List<KvBlockFile.Header> headers = new ArrayList<>(n);
        List<Path> files = new ArrayList<>(n);
        long[] fileIds = new long[n];
        byte[] chain = previousChainHash(fingerprint, session, firstBlock, sessionTokens, blockSize);
        for (int i = 0; i < n; i++) {
            int blockIndex = Math.toIntExact(firstBlock + i);
            int partial = i == n - 1 ? lastPartialTokens : 0;
            chain = partial > 0 ? ChainHash.partial(chain, sessionTokens, blockIndex, blockSize, partial)
                    : ChainHash.next(chain, sessionTokens, blockIndex, blockSize);
            ByteBuffer payload = payloads.get(i);
            headers.add(new KvBlockFile.Header(payload.remaining(), KvBlockFile.checksum(payload.duplicate()), chain, partial));
            fileIds[i] = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
            files.add(localFile(fingerprint, session, blockIndex, fileIds[i]));
        }
        long[] fileBytes;
        try {
            // Outside the write lock: the slow part, and the files are invisible until their entries commit.
            fileBytes = KvBlockFile.writeDurably(files, headers, payloads);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write KV blocks " + firstBlock + ".." + (firstBlock + n - 1) + " of "
                    + session + " to " + root, e);
        }
        List<Path> replaced = new ArrayList<>();
        synchronized (writeLock) {
            long added = 0;
            try (WriteBatch batch = new WriteBatch()) {
                for (int i = 0; i < n; i++) {
                    byte[] key = key(session, fingerprint, firstBlock + i);
                    Entry previous = Entry.decode(db.get(index, key));
                    if (previous != null) {
                        replaced.add(localFile(fingerprint, session, firstBlock + i, previous.fileId()));
                        added -= previous.fileBytes();
                    }
                    KvBlockFile.Header header = headers.get(i);
                    batch.put(index, key, new Entry(fileBytes[i], fileIds[i], header.checksum(), header.chainHash(),
                            header.partialTokens()).encode());
                    added += fileBytes[i];
                }
                quota.touch(batch, session);
                db.write(writeOptions, batch);
            }
            quota.add(added);
        }
        replaced.forEach(KvBlockStore::deleteQuietly);
        counters.kvBlocksWritten.addAndGet(n);
        boolean copied = onShared("KV blocks not copied to the shared directory",
                s -> s.writeAll(fingerprint, session, firstBlock, headers, payloads));
        if (copied && purgesPending.get() > 0) {
            retrySharedPurges();   // the tier answers again: purge what deletes could not
        }
        enforceQuota(session);
    }

    /**
     * Streams the longest prefix of stored blocks whose chained hash matches the session's current tokens and
     * whose payload verifies, each lent in a read-only direct buffer of its own ({@link KvBlockBuffer}); a partial
     * block (the session's unfinished block when it was stored) is delivered last. The first block that fails is
     * deleted with everything after it and counted.
     *
     * @return the number of blocks delivered, a partial one included
     */
    long readVerified(byte[] fingerprint, String session, int[] sessionTokens, int blockSize,
                      KvBlockBufferConsumer consumer) throws RocksDBException {
        long fullBlocks = sessionTokens.length / blockSize;
        byte[][] expected = ChainHash.chain(sessionTokens, blockSize, fullBlocks);
        // Up to the block after the last full one: where the session's unfinished block may be stored, partial.
        for (long blockIndex = 0; blockIndex <= fullBlocks; blockIndex++) {
            KvBlockFile.Read found = null;
            boolean fromShared = false;
            Entry entry = Entry.decode(db.get(index, key(session, fingerprint, blockIndex)));
            if (entry != null) {
                byte[] chain = expectedChain(expected, sessionTokens, blockSize, blockIndex, entry.partialTokens());
                if (chain == null) {
                    return blockIndex;   // stored for more tokens than asked for (an as-of read): kept, not used
                }
                if (!Arrays.equals(entry.chainHash(), chain)) {
                    counters.foreignDropped.incrementAndGet();
                    dropFailed(fingerprint, session, blockIndex, true);
                    return blockIndex;
                }
                KvBlockFile.Read read = readLocal(localFile(fingerprint, session, blockIndex, entry.fileId()));
                if (read.status() == KvBlockFile.Read.Status.MISSING) {
                    // Lost outside the store (an operator, a disk): a miss; the shared copy may still serve.
                    LOG.warn("KV block file {} of {} is missing; recomputing from there", blockIndex, session);
                    dropFailed(fingerprint, session, blockIndex, false);
                } else if (read.status() == KvBlockFile.Read.Status.CORRUPT
                        || read.header().checksum() != entry.checksum()
                        || read.header().partialTokens() != entry.partialTokens()
                        || !Arrays.equals(read.header().chainHash(), entry.chainHash())) {
                    if (read.status() == KvBlockFile.Read.Status.OK) {
                        read.lend().close();   // a whole file, but not the one the index names
                    }
                    counters.corruptDropped.incrementAndGet();
                    dropFailed(fingerprint, session, blockIndex, true);
                    return blockIndex;
                } else {
                    found = read;
                }
            }
            if (found == null && shared != null) {
                KvBlockFile.Read read;
                try {
                    read = shared.read(fingerprint, session, blockIndex, buffers);
                } catch (UncheckedIOException e) {
                    counters.sharedErrors.incrementAndGet();
                    LOG.warn("Shared KV directory unreadable, recomputing from block {}: {}", blockIndex, e.getMessage());
                    read = KvBlockFile.Read.MISSING;
                }
                if (read.status() == KvBlockFile.Read.Status.CORRUPT) {
                    counters.corruptDropped.incrementAndGet();
                    dropFailed(fingerprint, session, blockIndex, true);
                    return blockIndex;
                }
                if (read.status() == KvBlockFile.Read.Status.OK) {
                    byte[] chain = expectedChain(expected, sessionTokens, blockSize, blockIndex,
                            read.header().partialTokens());
                    if (chain == null) {
                        read.lend().close();
                        return blockIndex;
                    }
                    if (!Arrays.equals(read.header().chainHash(), chain)) {
                        read.lend().close();
                        counters.foreignDropped.incrementAndGet();
                        dropFailed(fingerprint, session, blockIndex, true);
                        return blockIndex;
                    }
                    found = read;
                    fromShared = true;
                }
            }
            if (found == null) {
                if (blockIndex < fullBlocks) {
                    counters.kvMisses.incrementAndGet();   // no unfinished block stored is no miss
                }
                return blockIndex;
            }
            counters.kvHits.incrementAndGet();
            if (fromShared) {
                counters.sharedHits.incrementAndGet();
            }
            if (blockIndex == 0) {
                touchQuietly(session);
            }
            consumer.accept(blockIndex, found.lend());
            if (found.header().partialTokens() > 0) {
                return blockIndex + 1;   // nothing follows a partial block
            }
        }
        return fullBlocks;
    }

    /**
     * The chain hash block {@code blockIndex} must carry to belong to the session's tokens, as a full block or as a
     * partial one of {@code partialTokens}; null when the session has too few tokens for it.
     */
    private static byte[] expectedChain(byte[][] expected, int[] sessionTokens, int blockSize, long blockIndex,
                                        int partialTokens) {
        int block = Math.toIntExact(blockIndex);
        if (partialTokens == 0) {
            return block < expected.length ? expected[block] : null;
        }
        if ((long) block * blockSize + partialTokens > sessionTokens.length) {
            return null;
        }
        byte[] previous = block == 0 ? new byte[ChainHash.BYTES] : expected[block - 1];
        return ChainHash.partial(previous, sessionTokens, block, blockSize, partialTokens);
    }

    /**
     * Drops blocks that failed verification during a read. A read must never fail for the store's writes (a full disk):
     * when the drop cannot be written, the blocks stay indexed, fail verification again next time, and the caller
     * recomputes from here either way.
     */
    private void dropFailed(byte[] fingerprint, String session, long from, boolean alsoShared) {
        try {
            dropFrom(fingerprint, session, from, alsoShared);
        } catch (RocksDBException e) {
            LOG.warn("Could not drop failed KV blocks {}+ of {}: {}", from, session, e.getMessage());
        }
    }

    /** Marks a read hit for the quota's LRU order; only an eviction hint, so a failed write loses nothing. */
    private void touchQuietly(String session) {
        try {
            quota.touch(session);
        } catch (RocksDBException e) {
            LOG.debug("KV access time of {} not recorded: {}", session, e.getMessage());
        }
    }

    /**
     * Removes every local block of the session (all fingerprints), its quota bookkeeping and its shared blocks. When the
     * shared tier cannot be reached, the purge is remembered durably and retried after the next shared write that
     * succeeds and at the next open, so a deleted session's KV never stays there for good.
     */
    void deleteSession(String session) throws RocksDBException {
        dropAllLocal(session);
        if (shared != null && !purgeShared(session)) {
            db.put(pendingPurges, writeOptions, purgeKey(session), new byte[0]);
            purgesPending.incrementAndGet();
            LOG.warn("The shared KV tier keeps the blocks of deleted session {} until it answers again (retried after "
                    + "its next successful write and at the next open)", session);
        }
    }

    /** Deleted sessions whose shared blocks could not be purged yet. */
    int sharedPurgesPending() {
        return purgesPending.get();
    }

    /** Retries the purges of deleted sessions' shared blocks that failed; how many are still pending. */
    int retrySharedPurges() throws RocksDBException {
        if (shared == null) {
            return 0;
        }
        int left = 0;
        List<byte[]> done = new ArrayList<>();
        try (RocksIterator it = db.newIterator(pendingPurges)) {
            for (it.seek(PURGE_PREFIX); it.isValid() && startsWith(it.key(), PURGE_PREFIX); it.next()) {
                String session = new String(it.key(), PURGE_PREFIX.length, it.key().length - PURGE_PREFIX.length,
                        java.nio.charset.StandardCharsets.UTF_8);
                if (purgeShared(session)) {
                    done.add(it.key());
                    LOG.info("Purged the shared KV blocks of deleted session {}", session);
                } else {
                    left++;
                }
            }
        }
        for (byte[] key : done) {
            db.delete(pendingPurges, writeOptions, key);
        }
        purgesPending.set(left);
        return left;
    }

    private boolean purgeShared(String session) {
        return onShared("Could not delete the KV blocks of " + session + " from the shared tier", s -> s.dropSession(session));
    }

    private static byte[] purgeKey(String session) {
        byte[] name = session.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] key = Arrays.copyOf(PURGE_PREFIX, PURGE_PREFIX.length + name.length);
        System.arraycopy(name, 0, key, PURGE_PREFIX.length, name.length);
        return key;
    }

    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    private KvBlockFile.Read readLocal(Path file) {
        try {
            return KvBlockFile.read(file, buffers);
        } catch (IOException e) {
            LOG.warn("Cannot read KV block file {}: {}", file, e.getMessage());
            return KvBlockFile.Read.CORRUPT;   // an unreadable file is as good as a damaged one: recompute
        }
    }

    /** Drops blocks {@code from} and after locally and, when asked, in the shared directory. */
    private void dropFrom(byte[] fingerprint, String session, long from, boolean alsoShared) throws RocksDBException {
        if (alsoShared) {
            onShared("Could not drop failed KV blocks from the shared directory", s -> s.dropFrom(fingerprint, session, from));
        }
        byte[] start = key(session, fingerprint, from);
        byte[] end = rangeEnd(Arrays.copyOf(start, start.length - Long.BYTES));
        dropLocal(start, end, null);
    }

    private void dropAllLocal(String session) throws RocksDBException {
        byte[] prefix = sessionPrefix(session);
        dropLocal(prefix, rangeEnd(prefix), session);
        for (Path fingerprintDirectory : directoriesIn(root)) {
            deleteTreeQuietly(fingerprintDirectory.resolve(SharedKvDirectory.sessionDirectoryName(session)));
        }
    }

    /** Deletes the index range, then the files it named; a crash in between leaves orphans the next open sweeps. */
    private void dropLocal(byte[] from, byte[] to, String forgetSession) throws RocksDBException {
        List<Path> files = new ArrayList<>();
        synchronized (writeLock) {
            long freed = 0;
            try (RocksIterator it = db.newIterator(index)) {
                for (it.seek(from); it.isValid() && Arrays.compareUnsigned(it.key(), to) < 0; it.next()) {
                    Entry entry = Entry.decode(it.value());
                    if (entry != null) {
                        freed += entry.fileBytes();
                        files.add(localFile(it.key(), entry.fileId()));
                    }
                }
            }
            try (WriteBatch batch = new WriteBatch()) {
                batch.deleteRange(index, from, to);
                if (forgetSession != null) {
                    quota.forget(batch, forgetSession);
                }
                db.write(writeOptions, batch);
            }
            quota.add(-freed);
        }
        files.forEach(KvBlockStore::deleteQuietly);
    }

    /** Evicts whole sessions' local blocks, least recently used first, never the session just written. */
    private void enforceQuota(String writingSession) throws RocksDBException {
        while (quota.exceeded()) {
            String victim = quota.leastRecentlyUsed(writingSession);
            if (victim == null) {
                return;
            }
            dropAllLocal(victim);   // local only: a shared copy stays for whoever needs it next
            counters.evictions.incrementAndGet();
        }
    }

    /**
     * The chained hash of block {@code blockIndex}: from the stored hash of the block before when there is one
     * (a stale one only makes this block fail verification, as its predecessor already does), else from the start.
     */
    /** h[blockIndex-1], the chain a block continues (zeros for block 0): stored with the block before, or hashed. */
    private byte[] previousChainHash(byte[] fingerprint, String session, long blockIndex, int[] sessionTokens, int blockSize)
            throws RocksDBException {
        if (blockIndex == 0) {
            return new byte[ChainHash.BYTES];
        }
        Entry before = Entry.decode(db.get(index, key(session, fingerprint, blockIndex - 1)));
        byte[] previous = before != null && before.partialTokens() == 0 ? before.chainHash()
                : sharedChainHash(fingerprint, session, blockIndex - 1);
        return previous != null ? previous
                : ChainHash.chain(sessionTokens, blockSize, blockIndex)[Math.toIntExact(blockIndex - 1)];
    }

    /** The chain hash stored with a block in the shared directory (a block restored from there), or null. */
    private byte[] sharedChainHash(byte[] fingerprint, String session, long blockIndex) {
        if (shared == null) {
            return null;
        }
        try {
            return shared.chainHash(fingerprint, session, blockIndex);
        } catch (UncheckedIOException e) {
            return null;   // hashing from the start gives the same answer, only slower
        }
    }

    /**
     * Runs an action on the shared KV directory, if there is one. The shared copy only spares a partition's next
     * owner the recompute: a failure is logged and counted, never passed on to the query.
     */
    private boolean onShared(String failure, Consumer<SharedKvTier> action) {
        if (shared == null) {
            return false;
        }
        try {
            action.accept(shared);
            return true;
        } catch (UncheckedIOException e) {
            counters.sharedErrors.incrementAndGet();
            LOG.warn("{}: {}", failure, e.getMessage());
            return false;
        }
    }

    /**
     * At open: deletes temporary files and files no index entry names (a crash between file and entry, or between
     * an entry's delete and its file's), and returns the bytes the index accounts for.
     */
    private long sweepAndCount() {
        long total = 0;
        Set<Path> referenced = new HashSet<>();
        Map<String, String> directoryNames = new HashMap<>();
        try (RocksIterator it = db.newIterator(index)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                Entry entry = Entry.decode(it.value());
                if (entry != null) {
                    total += entry.fileBytes();
                    referenced.add(localFile(it.key(), entry.fileId(), directoryNames));
                }
            }
        }
        if (!Files.isDirectory(root)) {
            return total;
        }
        int swept = 0;
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.filter(Files::isRegularFile).toList()) {
                String name = path.getFileName().toString();
                if (name.endsWith(KvBlockFile.TEMP_SUFFIX) || !referenced.contains(path)) {
                    Files.deleteIfExists(path);
                    swept++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot sweep the KV block files in " + root, e);
        }
        if (swept > 0) {
            LOG.info("Swept {} orphan or temporary KV block files from {}", swept, root);
        }
        return total;
    }

    /** Index key: session prefix | u8 fingerprint length | fingerprint | u64 block index. */
    private static byte[] key(String session, byte[] fingerprint, long blockIndex) {
        if (fingerprint.length == 0 || fingerprint.length > 255) {
            throw new IllegalArgumentException("fingerprint must be 1..255 bytes");
        }
        byte[] p = sessionPrefix(session);
        return ByteBuffer.allocate(p.length + 1 + fingerprint.length + Long.BYTES)
                .put(p).put((byte) fingerprint.length).put(fingerprint).putLong(blockIndex).array();
    }

    private Path localFile(byte[] fingerprint, String session, long blockIndex, long fileId) {
        return SharedKvDirectory.sessionDirectory(root, fingerprint, session).resolve(fileName(blockIndex, fileId));
    }

    private Path localFile(byte[] key, long fileId) {
        return localFile(key, fileId, new HashMap<>());
    }

    /** The file an index key names; {@code directoryNames} caches the session digests while sweeping. */
    private Path localFile(byte[] key, long fileId, Map<String, String> directoryNames) {
        String session = StoreKeys.sessionOf(key);
        int at = 2 + (((key[0] & 0xFF) << 8) | (key[1] & 0xFF));
        int fingerprintLength = key[at] & 0xFF;
        byte[] fingerprint = Arrays.copyOfRange(key, at + 1, at + 1 + fingerprintLength);
        long blockIndex = ByteBuffer.wrap(key, at + 1 + fingerprintLength, Long.BYTES).getLong();
        String directory = directoryNames.computeIfAbsent(session, SharedKvDirectory::sessionDirectoryName);
        return root.resolve(java.util.HexFormat.of().formatHex(fingerprint)).resolve(directory)
                .resolve(fileName(blockIndex, fileId));
    }

    private static String fileName(long blockIndex, long fileId) {
        return blockIndex + "-" + Long.toHexString(fileId) + KvBlockFile.SUFFIX;
    }

    private static List<Path> directoriesIn(Path directory) {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> children = Files.list(directory)) {
            return children.filter(Files::isDirectory).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("Could not delete KV block file {} (swept at the next open): {}", file, e.getMessage());
        }
    }

    private static void deleteTreeQuietly(Path directory) {
        try {
            SharedKvDirectory.deleteTree(directory);
        } catch (IOException e) {
            LOG.warn("Could not delete {} (swept at the next open): {}", directory, e.getMessage());
        }
    }
}
