package io.ultralong.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KvBlockFileTest {

    @TempDir
    Path dir;

    private final DirectBufferPool buffers = new DirectBufferPool(64 << 20);
    private final byte[] payload = ContextStoreTest.block(3, 300);
    private final byte[] chain = ChainHash.chain(new int[] {1, 2, 3, 4}, 4, 1)[0];

    @Test
    void aWrittenBlockReadsBackIntoADirectBufferLentReadOnlyWithItsHeader() throws Exception {
        Path file = write("0.kv");
        KvBlockFile.Read read = KvBlockFile.read(file, buffers);
        assertThat(read.status()).isEqualTo(KvBlockFile.Read.Status.OK);
        assertThat(read.payload().isDirect()).isTrue();
        assertThat(read.lend().payload().isReadOnly()).isTrue();
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
            KvBlockFile.Read read = KvBlockFile.read(file, buffers);
            assertThat(read.status()).isEqualTo(KvBlockFile.Read.Status.OK);
            assertThat(bytes(read.payload())).isEqualTo(bytes(heapSlice));
        }
        // A flip in the last, short segment is caught like one in the first.
        Path file = dir.resolve("big.kv");
        byte[] onDisk = Files.readAllBytes(file);
        onDisk[onDisk.length - 3] ^= 1;
        Files.write(file, onDisk);
        assertThat(KvBlockFile.read(file, buffers).status()).isEqualTo(KvBlockFile.Read.Status.CORRUPT);
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
            assertThat(KvBlockFile.read(damaged, buffers).status()).as("flip at byte %d", at)
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
            assertThat(KvBlockFile.read(file, buffers).status()).as("%d bytes", bad.length)
                    .isEqualTo(KvBlockFile.Read.Status.CORRUPT);
        }
        assertThat(KvBlockFile.read(dir.resolve("absent.kv"), buffers).status()).isEqualTo(KvBlockFile.Read.Status.MISSING);
    }

    /**
     * A block file rewritten in place and cut short while it is being read (what a failing disk or another process
     * could do): every read is OK with the original bytes or CORRUPT, never an error in this or a pool thread and
     * never a crash (a memory-mapped read would fault on the vanished pages).
     */
    @Test
    void aFileCutShortWhileItIsReadIsCorruptOrWholeNeverAnError() throws Exception {
        byte[] big = ContextStoreTest.block(9, 3 * KvBlockFile.SEGMENT_BYTES);
        byte[] whole = KvBlockFile.encode(new KvBlockFile.Header(big.length, KvBlockFile.checksum(ByteBuffer.wrap(big)), chain),
                ByteBuffer.wrap(big));
        Path file = dir.resolve("big.kv");
        Files.write(file, whole);
        List<Throwable> poolErrors = new CopyOnWriteArrayList<>();
        AtomicBoolean done = new AtomicBoolean();
        Thread vandal = new Thread(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                while (!done.get()) {
                    ch.truncate(KvBlockFile.SEGMENT_BYTES);
                    ch.write(ByteBuffer.wrap(whole), 0);
                }
            } catch (Throwable e) {
                poolErrors.add(e);
            }
        });
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> poolErrors.add(e));
        int ok = 0;
        int corrupt = 0;
        vandal.start();
        try {
            // 200 reads, and on until one met the file cut short (however the two threads are scheduled), for 30 s at most
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            while (ok + corrupt < 200 || (corrupt == 0 && System.nanoTime() < deadline)) {
                KvBlockFile.Read read = KvBlockFile.read(file, buffers);
                if (read.status() == KvBlockFile.Read.Status.OK) {
                    assertThat(bytes(read.payload())).isEqualTo(big);
                    read.lend().close();   // the next read reuses the buffer
                    ok++;
                } else {
                    assertThat(read.status()).isEqualTo(KvBlockFile.Read.Status.CORRUPT);
                    corrupt++;
                }
            }
        } finally {
            done.set(true);
            vandal.join();
            Thread.setDefaultUncaughtExceptionHandler(before);
        }
        assertThat(poolErrors).isEmpty();
        assertThat(corrupt).as("reads that met a cut-short file").isPositive();
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
