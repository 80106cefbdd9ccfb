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
 *      4     4  format version (1)
 *      8     8  payload length
 *     16     8  payload checksum: XXH64 of the XXH64s of its 1 MiB segments ({@link #checksum})
 *     24    32  chained SHA-256 over the session's tokens up to the end of the block ({@link ChainHash})
 *     56     8  XXH64 of bytes 0..55 (a damaged header is corruption, not a foreign block)
 *     64     n  payload
 * </pre>
 *
 * The payload check is XXH64 (lz4-java, native) run over the direct buffer the payload is read into, segment by
 * segment as each arrives, on the common fork-join pool: it keeps up with the read, where CRC32C on a heap copy
 * did not. Which tokens the block belongs to is proven by the chained SHA-256, not by this checksum.
 */
final class KvBlockFile {

    static final int HEADER_BYTES = 64;
    static final String SUFFIX = ".kv";
    static final String TEMP_SUFFIX = ".tmp";

    private static final int MAGIC = 0x464B4C55;   // "ULKF" read little-endian (the payload starts with the codec's "ULKV")
    private static final int VERSION = 1;
    private static final int HEADER_CHECKED_BYTES = 56;
    /** lz4-java's JNI build when its native library loads (it does on linux/mac x86-64 and arm64), else pure Java. */
    private static final XXHash64 XXH64 = XXHashFactory.fastestInstance().hash64();
    private static final long SEED = 0;
    /** Unit of parallel, cache-hot checksumming. */
    static final int SEGMENT_BYTES = 1 << 20;

    private KvBlockFile() {
    }

    /** What a header says about its payload. */
    record Header(long payloadLength, long checksum, byte[] chainHash) {
    }

    /** Outcome of reading a block file: {@code payload} is set only when the file verified. */
    record Read(Status status, Header header, ByteBuffer payload) {
        enum Status { OK, MISSING, CORRUPT }

        static final Read MISSING = new Read(Status.MISSING, null, null);
        static final Read CORRUPT = new Read(Status.CORRUPT, null, null);
    }

    /**
     * The payload checksum: XXH64 over the little-endian XXH64s of its 1 MiB segments (the last one shorter), so
     * segments can be hashed in parallel and each right after it is read. Leaves the buffer's position as it is.
     */
    static long checksum(ByteBuffer payload) {
        ByteBuffer bytes = payload.slice();
        long[] hashes = new long[segments(bytes.remaining())];
        IntStream.range(0, hashes.length).parallel().forEach(k -> {
            ByteBuffer segment = segment(bytes, k);
            hashes[k] = XXH64.hash(segment, 0, segment.capacity(), SEED);
        });
        return combine(hashes);
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
        b.putInt(MAGIC).putInt(VERSION).putLong(header.payloadLength()).putLong(header.checksum())
                .put(header.chainHash());
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
        if (b.getInt() != MAGIC || b.getInt() != VERSION) {
            return null;
        }
        long length = b.getLong();
        long checksum = b.getLong();
        byte[] chain = new byte[ChainHash.BYTES];
        b.get(chain);
        long headerCheck = b.getLong();
        if (XXH64.hash(bytes, start, HEADER_CHECKED_BYTES, SEED) != headerCheck || length < 0) {
            return null;
        }
        return new Header(length, checksum, chain);
    }

    /**
     * Writes header + payload durably to {@code target}: temporary file in the same directory, fsync, rename
     * (replacing a file of the same name), fsync of the directory. Returns the file's size.
     */
    static long writeDurably(Path target, Header header, ByteBuffer payload) throws IOException {
        Path directory = target.getParent();
        ensureDirectory(directory);
        Path temporary = directory.resolve(target.getFileName() + "." + UUID.randomUUID() + TEMP_SUFFIX);
        ByteBuffer[] parts = {encodeHeader(header), payload.duplicate()};
        long size = HEADER_BYTES + (long) payload.remaining();
        try {
            try (FileChannel ch = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                long written = 0;
                while (written < size) {
                    written += ch.write(parts);
                }
                ch.force(false);   // data and the size; the name is made durable by the directory fsync below
            }
            try {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
        fsyncDirectory(directory);
        return size;
    }

    /**
     * Reads the file into {@code buffer} (a direct buffer, grown when too small; the returned payload may live in a
     * new one) and verifies it: a missing file is MISSING; a short, long, or damaged file, a bad header or a
     * payload whose XXH64 differs is CORRUPT.
     */
    static Read read(Path file, ByteBuffer[] buffer) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES || size - HEADER_BYTES > Integer.MAX_VALUE - HEADER_BYTES) {
                return Read.CORRUPT;
            }
            int total = (int) size;
            if (buffer[0] == null || buffer[0].capacity() < total) {
                buffer[0] = ByteBuffer.allocateDirect(Math.max(total, buffer[0] == null ? 0 : buffer[0].capacity()));
            }
            ByteBuffer into = buffer[0].clear().limit(total);
            if (!readFully(ch, into.slice(0, HEADER_BYTES), 0)) {
                return Read.CORRUPT;
            }
            Header header = decodeHeader(into.slice(0, HEADER_BYTES));
            if (header == null || header.payloadLength() != size - HEADER_BYTES) {
                return Read.CORRUPT;
            }
            ByteBuffer payload = into.slice(HEADER_BYTES, total - HEADER_BYTES);
            // Each segment is read and hashed by one task while it is still in the CPU cache: the check costs no
            // second pass over memory, and segments of one block load in parallel (queue depth for an NVMe).
            long[] hashes = new long[segments(payload.remaining())];
            boolean[] shortRead = {false};
            try {
                IntStream.range(0, hashes.length).parallel().forEach(k -> {
                    ByteBuffer segment = segment(payload, k);
                    try {
                        if (!readFully(ch, segment.duplicate(), HEADER_BYTES + (long) k * SEGMENT_BYTES)) {
                            shortRead[0] = true;
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    hashes[k] = XXH64.hash(segment, 0, segment.capacity(), SEED);
                });
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            if (shortRead[0] || combine(hashes) != header.checksum()) {
                return Read.CORRUPT;   // damaged, or truncated while we read
            }
            return new Read(Read.Status.OK, header, payload);
        } catch (NoSuchFileException e) {
            return Read.MISSING;
        }
    }

    /**
     * Verifies a whole block file already in memory (an object store's response) the way {@link #read} verifies
     * a file; the payload is a slice of {@code file}.
     */
    static Read verify(ByteBuffer file) {
        ByteBuffer whole = file.slice();
        Header header = decodeHeader(whole);
        if (header == null || header.payloadLength() != whole.remaining() - HEADER_BYTES) {
            return Read.CORRUPT;
        }
        ByteBuffer payload = whole.slice(HEADER_BYTES, whole.remaining() - HEADER_BYTES);
        return checksum(payload) == header.checksum() ? new Read(Read.Status.OK, header, payload) : Read.CORRUPT;
    }

    /** Header and payload in one array (for stores that take whole objects). */
    static byte[] encode(Header header, ByteBuffer payload) {
        byte[] out = new byte[HEADER_BYTES + payload.remaining()];
        encodeHeader(header).get(out, 0, HEADER_BYTES);
        payload.duplicate().get(out, HEADER_BYTES, payload.remaining());
        return out;
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
