package io.ultralong.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.IntStream;

import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;

/**
 * The on-disk form of one KV block, the same in the local store and the shared directory: a 64-byte header, then
 * the payload. A file is written once under a temporary name, fsynced, renamed and its directory fsynced, so it
 * appears whole or not at all, also after a power loss.
 *
 * <pre>
 * offset  size  field (little-endian)
 *      0     4  magic "ULKF"
 *      4     4  format version (2; version 1 had an 8-byte payload length and no token count, and still reads)
 *      8     4  payload length
 *     12     4  tokens of a partial block (the session's unfinished last block), 0 for a full block
 *     16     8  payload checksum: XXH64 of the XXH64s of its 1 MiB segments ({@link #checksum})
 *     24    32  chained SHA-256 over the session's tokens up to the end of the block ({@link ChainHash})
 *     56     8  XXH64 of bytes 0..55 (a damaged header is corruption, not a foreign block)
 *     64     n  payload
 * </pre>
 *
 * A read is fused with its check: the payload's 1 MiB segments are read in parallel on the common fork-join pool,
 * each with a positional read into its slice of one direct buffer and hashed while still in the cache, so the
 * XXH64 adds no pass over memory and the copy out of the page cache runs on every core. The verified buffer is what
 * the engine imports, without another copy. Block files are deliberately not memory-mapped: a mapping cut short
 * under the reader (a disk error, another process truncating the file) faults, HotSpot reports that fault
 * asynchronously in whichever pool thread next reaches the VM, and native code reading the mapping later (the
 * engine's import) would take the JVM down; a read turns the same fault into an {@link IOException} or a short read.
 * Which tokens the block belongs to is proven by the chained SHA-256, not by this checksum.
 */
final class KvBlockFile {

    static final int HEADER_BYTES = 64;
    static final String SUFFIX = ".kv";
    static final String TEMP_SUFFIX = ".tmp";

    private static final int MAGIC = 0x464B4C55;   // "ULKF" read little-endian (the payload starts with the codec's "ULKV")
    private static final int VERSION = 2;
    private static final int VERSION_WITHOUT_TOKENS = 1;
    private static final int HEADER_CHECKED_BYTES = 56;
    /** lz4-java's JNI build when its native library loads (it does on linux/mac x86-64 and arm64), else pure Java. */
    private static final XXHash64 XXH64 = XXHashFactory.fastestInstance().hash64();
    /** For direct buffers: lz4-java's Java build reads them through the buffer's own accessors (~10 GB/s a core). */
    private static final XXHash64 XXH64_DIRECT = XXHashFactory.safeInstance().hash64();
    private static final long SEED = 0;
    /** Unit of parallel, cache-hot checksumming. */
    static final int SEGMENT_BYTES = 1 << 20;

    private KvBlockFile() {
    }

    /** What a header says about its payload; {@code partialTokens} is 0 for a full block. */
    record Header(long payloadLength, long checksum, byte[] chainHash, int partialTokens) {
        Header(long payloadLength, long checksum, byte[] chainHash) {
            this(payloadLength, checksum, chainHash, 0);
        }
    }

    /** Outcome of reading a block file: {@code payload} is set only when the file verified. */
    record Read(Status status, Header header, ByteBuffer payload, DirectBufferPool pool) {
        enum Status { OK, MISSING, CORRUPT }

        static final Read MISSING = new Read(Status.MISSING, null, null, null);
        static final Read CORRUPT = new Read(Status.CORRUPT, null, null, null);

        /** The payload of an OK read, lent; closing it gives a pooled buffer back. */
        KvBlockBuffer lend() {
            return new KvBlockBuffer(payload, pool == null ? () -> { } : () -> pool.giveBack(payload));
        }
    }

    /**
     * The payload checksum: XXH64 over the little-endian XXH64s of its 1 MiB segments (the last one shorter), so
     * segments can be hashed in parallel and each right after it is read. Leaves the buffer's position as it is.
     */
    static long checksum(ByteBuffer payload) {
        ByteBuffer bytes = payload.slice();
        long[] hashes = new long[segments(bytes.remaining())];
        XXHash64 hash = hashOf(bytes);
        IntStream.range(0, hashes.length).parallel().forEach(k -> {
            ByteBuffer segment = segment(bytes, k);
            hashes[k] = hash.hash(segment, 0, segment.capacity(), SEED);
        });
        return combine(hashes);
    }

    /** The JNI build for heap arrays; for direct memory the Java one (see {@link #XXH64_DIRECT}). */
    private static XXHash64 hashOf(ByteBuffer bytes) {
        return bytes.hasArray() ? XXH64 : XXH64_DIRECT;
    }

    private static int segments(int payloadBytes) {
        return Math.max(1, (payloadBytes + SEGMENT_BYTES - 1) / SEGMENT_BYTES);
    }

    private static ByteBuffer segment(ByteBuffer payload, int k) {
        int from = k * SEGMENT_BYTES;
        return payload.slice(from, Math.min(SEGMENT_BYTES, payload.remaining() - from));
    }

    private static long combine(long[] segmentHashes) {
        ByteBuffer all = ByteBuffer.allocate(segmentHashes.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long h : segmentHashes) {
            all.putLong(h);
        }
        return XXH64.hash(all.array(), 0, all.capacity(), SEED);
    }

    static ByteBuffer encodeHeader(Header header) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(VERSION).putInt(Math.toIntExact(header.payloadLength())).putInt(header.partialTokens())
                .putLong(header.checksum()).put(header.chainHash());
        b.putLong(XXH64.hash(b.array(), 0, HEADER_CHECKED_BYTES, SEED));
        return b.flip();
    }

    /** The header, or null when the bytes are not a valid header of this format. */
    static Header decodeHeader(ByteBuffer bytes) {
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < HEADER_BYTES) {
            return null;
        }
        int start = b.position();
        if (b.getInt() != MAGIC) {
            return null;
        }
        int version = b.getInt();
        if (version != VERSION && version != VERSION_WITHOUT_TOKENS) {
            return null;
        }
        long length = version == VERSION ? b.getInt() : b.getLong();
        int partialTokens = version == VERSION ? b.getInt() : 0;
        long checksum = b.getLong();
        byte[] chain = new byte[ChainHash.BYTES];
        b.get(chain);
        long headerCheck = b.getLong();
        if (hashOf(bytes).hash(bytes, start, HEADER_CHECKED_BYTES, SEED) != headerCheck || length < 0
                || partialTokens < 0) {
            return null;
        }
        return new Header(length, checksum, chain, partialTokens);
    }

    /**
     * Writes header + payload durably to {@code target}: temporary file in the same directory, fsync, rename
     * (replacing a file of the same name), fsync of the directory. Returns the file's size.
     */
    static long writeDurably(Path target, Header header, ByteBuffer payload) throws IOException {
        return writeDurably(List.of(target), List.of(header), List.of(payload))[0];
    }

    /**
     * Writes several block files durably, each as {@link #writeDurably(Path, Header, ByteBuffer)} does, but in
     * phases: every temporary file is written before the first fsync, so the kernel writes the later ones back while
     * the earlier ones are synced (one file at a time, write then wait, leaves the disk idle half the time); then
     * each file is fsynced and renamed, and each directory fsynced once. A failure deletes the temporary files;
     * files already renamed are whole (a store sweeps those no index entry names). Returns the files' sizes.
     */
    static long[] writeDurably(List<Path> targets, List<Header> headers, List<ByteBuffer> payloads) throws IOException {
        int n = targets.size();
        Path[] temporaries = new Path[n];
        // Kept open from write to fsync: a write-back error is reported to the descriptors open when it happened.
        FileChannel[] channels = new FileChannel[n];
        long[] sizes = new long[n];
        Set<Path> directories = new LinkedHashSet<>();
        try {
            for (int i = 0; i < n; i++) {
                Path directory = targets.get(i).getParent();
                if (directories.add(directory)) {
                    ensureDirectory(directory);
                }
                temporaries[i] = directory.resolve(targets.get(i).getFileName() + "." + UUID.randomUUID() + TEMP_SUFFIX);
                sizes[i] = HEADER_BYTES + (long) payloads.get(i).remaining();
                channels[i] = FileChannel.open(temporaries[i], StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            }
            // The copies into the page cache on every core, then the fsyncs side by side (the disk merges them).
            inParallel(n, i -> {
                ByteBuffer[] parts = {encodeHeader(headers.get(i)), payloads.get(i).duplicate()};
                long written = 0;
                while (written < sizes[i]) {
                    written += channels[i].write(parts);
                }
            });
            inParallel(n, i -> channels[i].force(false));   // data and size; the names by the directory fsync below
            for (int i = 0; i < n; i++) {
                channels[i].close();
                channels[i] = null;
            }
            for (int i = 0; i < n; i++) {
                try {
                    Files.move(temporaries[i], targets.get(i), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temporaries[i], targets.get(i), StandardCopyOption.REPLACE_EXISTING);
                }
                temporaries[i] = null;
            }
        } catch (IOException | RuntimeException e) {
            for (FileChannel channel : channels) {
                if (channel != null) {
                    channel.close();
                }
            }
            for (Path temporary : temporaries) {
                if (temporary != null) {
                    Files.deleteIfExists(temporary);
                }
            }
            throw e;
        }
        for (Path directory : directories) {
            fsyncDirectory(directory);
        }
        return sizes;
    }

    /**
     * Reads the file and verifies it: a missing file is MISSING; a short, long, or damaged file, a bad header or a
     * payload whose XXH64 differs is CORRUPT; a read that fails is an {@link IOException}. The payload of an OK read
     * is a buffer from {@code buffers}, to be lent on ({@link Read#lend}); a failed read gives it back itself.
     */
    static Read read(Path file, DirectBufferPool buffers) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES || size > Integer.MAX_VALUE) {
                return Read.CORRUPT;
            }
            ByteBuffer headerBytes = ByteBuffer.allocate(HEADER_BYTES);
            Header header = readFully(ch, headerBytes, 0) ? decodeHeader(headerBytes.flip()) : null;
            if (header == null || header.payloadLength() != size - HEADER_BYTES) {
                return Read.CORRUPT;
            }
            ByteBuffer payload = buffers.take((int) header.payloadLength());
            boolean ok = false;
            try {
                Long checksum = readAndChecksum(ch, payload);
                ok = checksum != null && checksum == header.checksum();
            } finally {
                if (!ok) {
                    buffers.giveBack(payload);
                }
            }
            return ok ? new Read(Read.Status.OK, header, payload, buffers) : Read.CORRUPT;
        } catch (NoSuchFileException e) {
            return Read.MISSING;
        }
    }

    /**
     * Fills {@code payload} from the file's payload bytes, segment by segment in parallel, hashing each segment as it
     * lands; the checksum, or null when the file ended early (truncated while we read).
     */
    private static Long readAndChecksum(FileChannel ch, ByteBuffer payload) throws IOException {
        long[] hashes = new long[segments(payload.capacity())];
        try {
            boolean whole = IntStream.range(0, hashes.length).parallel().allMatch(k -> {
                ByteBuffer segment = segment(payload, k);
                try {
                    if (!readFully(ch, segment, HEADER_BYTES + (long) k * SEGMENT_BYTES)) {
                        return false;
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                hashes[k] = XXH64_DIRECT.hash(segment, 0, segment.capacity(), SEED);
                return true;
            });
            return whole ? combine(hashes) : null;
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Verifies a whole block file in memory (an object store's response); the payload of an OK read is a slice of
     * {@code file}.
     */
    static Read verify(ByteBuffer file) {
        ByteBuffer whole = file.slice();
        Header header = decodeHeader(whole);
        if (header == null || header.payloadLength() != whole.remaining() - HEADER_BYTES) {
            return Read.CORRUPT;
        }
        ByteBuffer payload = whole.slice(HEADER_BYTES, whole.remaining() - HEADER_BYTES);
        return checksum(payload) == header.checksum() ? new Read(Read.Status.OK, header, payload, null) : Read.CORRUPT;
    }

    /** Header and payload in one array (for stores that take whole objects). */
    static byte[] encode(Header header, ByteBuffer payload) {
        byte[] out = new byte[HEADER_BYTES + payload.remaining()];
        encodeHeader(header).get(out, 0, HEADER_BYTES);
        payload.duplicate().get(out, HEADER_BYTES, payload.remaining());
        return out;
    }

    private interface IoTask {
        void run(int i) throws IOException;
    }

    /** Runs {@code task} for 0..n-1 on the common fork-join pool; the first IOException is rethrown as it was. */
    private static void inParallel(int n, IoTask task) throws IOException {
        try {
            IntStream.range(0, n).parallel().forEach(i -> {
                try {
                    task.run(i);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static boolean readFully(FileChannel ch, ByteBuffer into, long position) throws IOException {
        while (into.hasRemaining()) {
            if (ch.read(into, position + into.position()) < 0) {
                return false;
            }
        }
        return true;
    }

    /** Only the header (for the chain hash a next block continues from), or null when absent or invalid. */
    static Header readHeader(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
            while (b.hasRemaining() && ch.read(b, b.position()) >= 0) {
                // until the header is in or the file ends
            }
            return decodeHeader(b.flip());
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Creates the directory if needed, and makes its entry durable in the parent. */
    static void ensureDirectory(Path directory) throws IOException {
        if (Files.isDirectory(directory)) {
            return;
        }
        Path parent = directory.getParent();
        if (parent != null) {
            ensureDirectory(parent);
        }
        Files.createDirectories(directory);
        if (parent != null) {
            fsyncDirectory(parent);
        }
    }

    /** Linux makes a rename or create durable only when the directory itself is fsynced. */
    static void fsyncDirectory(Path directory) throws IOException {
        try (FileChannel ch = FileChannel.open(directory, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
