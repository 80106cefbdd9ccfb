package io.ultralong.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KvBlockFileTest {

    @TempDir
    Path dir;

    private final byte[] payload = ContextStoreTest.block(3, 300);
    private final byte[] chain = ChainHash.chain(new int[] {1, 2, 3, 4}, 4, 1)[0];

    @Test
    void aWrittenBlockReadsBackIntoAReadOnlyDirectBufferWithItsHeader() throws Exception {
        Path file = write("0.kv");
        KvBlockFile.Read read = KvBlockFile.read(file);
        assertThat(read.status()).isEqualTo(KvBlockFile.Read.Status.OK);
        assertThat(read.payload().isDirect()).isTrue();
        assertThat(read.payload().isReadOnly()).isTrue();
        assertThat(bytes(read.payload())).isEqualTo(payload);
        assertThat(read.header().chainHash()).isEqualTo(chain);
        assertThat(Files.size(file)).isEqualTo(KvBlockFile.HEADER_BYTES + payload.length);
        try (var names = Files.list(dir)) {
            assertThat(names.map(p -> p.getFileName().toString())).containsExactly("0.kv");   // no temporary left
        }
    }

    /** Several checksum segments, written from a heap slice and from a direct buffer, read back the same. */
    @Test
    void aMultiSegmentBlockVerifiesFromHeapSlicesAndDirectBuffers() throws Exception {
        byte[] big = ContextStoreTest.block(5, 5 * KvBlockFile.SEGMENT_BYTES / 2 + 7);
        ByteBuffer heapSlice = ByteBuffer.wrap(big, 7, big.length - 7).slice();
        ByteBuffer direct = ByteBuffer.allocateDirect(big.length - 7).put(heapSlice.duplicate()).flip();
        long checksum = KvBlockFile.checksum(heapSlice);
        assertThat(KvBlockFile.checksum(direct)).isEqualTo(checksum);
        for (ByteBuffer source : new ByteBuffer[] {heapSlice, direct}) {
            Path file = dir.resolve("big.kv");
            KvBlockFile.writeDurably(file, new KvBlockFile.Header(source.remaining(), checksum, chain), source);
            KvBlockFile.Read read = KvBlockFile.read(file);
            assertThat(read.status()).isEqualTo(KvBlockFile.Read.Status.OK);
            assertThat(bytes(read.payload())).isEqualTo(bytes(heapSlice));
        }
        // A flip in the last, short segment is caught like one in the first.
        Path file = dir.resolve("big.kv");
        byte[] onDisk = Files.readAllBytes(file);
        onDisk[onDisk.length - 3] ^= 1;
        Files.write(file, onDisk);
        assertThat(KvBlockFile.read(file).status()).isEqualTo(KvBlockFile.Read.Status.CORRUPT);
    }

    /** A flip of any single bit pattern in any byte, header or payload, makes the file CORRUPT. */
    @Test
    void everyFlippedByteOfTheFileIsDetected() throws Exception {
        byte[] good = Files.readAllBytes(write("0.kv"));
        Path damaged = dir.resolve("damaged.kv");
        for (int at = 0; at < good.length; at++) {
            byte[] bad = good.clone();
            bad[at] ^= (byte) (1 << (at % 8));
            Files.write(damaged, bad);
            assertThat(KvBlockFile.read(damaged).status()).as("flip at byte %d", at)
                    .isEqualTo(KvBlockFile.Read.Status.CORRUPT);
        }
    }

    @Test
    void aTruncatedEmptyOrLongerFileIsCorruptAndAnAbsentOneMissing() throws Exception {
        byte[] good = Files.readAllBytes(write("0.kv"));
        for (byte[] bad : new byte[][] {new byte[0], Arrays.copyOf(good, 10), Arrays.copyOf(good, KvBlockFile.HEADER_BYTES),
                Arrays.copyOf(good, good.length - 1), Arrays.copyOf(good, good.length + 1)}) {
            Path file = dir.resolve("bad.kv");
            Files.write(file, bad);
            assertThat(KvBlockFile.read(file).status()).as("%d bytes", bad.length)
                    .isEqualTo(KvBlockFile.Read.Status.CORRUPT);
        }
        assertThat(KvBlockFile.read(dir.resolve("absent.kv")).status()).isEqualTo(KvBlockFile.Read.Status.MISSING);
    }

    /**
     * A mapped file cut short under its mapping (what a failing disk or another process could do) faults on the
     * missing pages: the verification reports CORRUPT instead of taking the JVM down.
     */
    @Test
    void aFileTruncatedUnderItsMappingIsCorruptNotACrash() throws Exception {
        byte[] big = ContextStoreTest.block(9, 3 * KvBlockFile.SEGMENT_BYTES);
        Path file = dir.resolve("big.kv");
        KvBlockFile.writeDurably(file, new KvBlockFile.Header(big.length, KvBlockFile.checksum(ByteBuffer.wrap(big)), chain),
                ByteBuffer.wrap(big));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            ch.truncate(KvBlockFile.SEGMENT_BYTES);
            assertThat(KvBlockFile.verify(mapped).status()).isEqualTo(KvBlockFile.Read.Status.CORRUPT);
        }
    }

    private Path write(String name) throws Exception {
        Path file = dir.resolve(name);
        KvBlockFile.Header header = new KvBlockFile.Header(payload.length, KvBlockFile.checksum(ByteBuffer.wrap(payload)), chain);
        KvBlockFile.writeDurably(file, header, ByteBuffer.wrap(payload));
        return file;
    }

    static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
