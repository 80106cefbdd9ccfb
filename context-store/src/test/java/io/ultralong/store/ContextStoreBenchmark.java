package io.ultralong.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * KV write/read GB/s with 32 MiB blocks against a plain sequential file of the same bytes on the same disk, and
 * the token-chunk append rate. Args: [directory] [blocks]. Writes are made durable (store flush = fsynced blob
 * files; file fsync) inside the timed region; reads are NOT cold: the data fits in the page cache.
 */
public final class ContextStoreBenchmark {

    private static final int BLOCK_BYTES = 32 << 20;
    private static final int TOKENS_PER_BLOCK = 256;

    private ContextStoreBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path base = Path.of(args.length > 0 ? args[0] : "target/store-bench");
        int blocks = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        deleteTree(base);
        Files.createDirectories(base);
        byte[] payload = ContextStoreTest.block(1, BLOCK_BYTES);
        int[] tokens = IntStream.range(0, blocks * TOKENS_PER_BLOCK).toArray();
        double gib = (double) blocks * BLOCK_BYTES / (1L << 30);
        byte[] fp = {7, 7, 7};

        double storeWrite;
        double storeRead;
        try (ContextStore store = ContextStore.open(base.resolve("db"))) {
            long t0 = System.nanoTime();
            for (int b = 0; b < blocks; b++) {
                store.putKvBlock(fp, "bench", b, tokens, TOKENS_PER_BLOCK, payload);
            }
            store.flush();
            storeWrite = gib / seconds(t0);
            long t1 = System.nanoTime();
            long[] sink = {0};
            long n = store.readVerifiedKvBlocks(fp, "bench", tokens, TOKENS_PER_BLOCK, (i, b) -> sink[0] += b[0]);
            storeRead = gib / seconds(t1);
            if (n != blocks) {
                throw new IllegalStateException("read " + n + " of " + blocks + " blocks");
            }
        }

        Path file = base.resolve("plain.bin");
        long t2 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (int b = 0; b < blocks; b++) {
                ByteBuffer buf = ByteBuffer.wrap(payload);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
            ch.force(true);
        }
        double fileWrite = gib / seconds(t2);
        long t3 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            byte[] into = new byte[BLOCK_BYTES];
            for (int b = 0; b < blocks; b++) {
                ByteBuffer buf = ByteBuffer.wrap(into);
                while (buf.hasRemaining() && ch.read(buf) >= 0) {
                    // fill one block-sized buffer, as the store hands out one byte[] per block
                }
            }
        }
        double fileRead = gib / seconds(t3);

        int chunks = 200_000;
        double appendRate;
        try (ContextStore store = ContextStore.open(base.resolve("tokens-db"))) {
            int[] chunk = IntStream.range(0, 16).toArray();
            long t4 = System.nanoTime();
            for (int s = 1; s <= chunks; s++) {
                store.appendChunk("chat", s, (long) (s - 1) * chunk.length, s, chunk, 0, s);
            }
            appendRate = chunks / seconds(t4);
        }

        System.out.printf("%-34s %10s %10s %8s%n", "measure (" + blocks + " x 32 MiB)", "store", "plain file", "ratio");
        System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV write GB/s (durable)", storeWrite, fileWrite,
                storeWrite / fileWrite);
        System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV read GB/s (page cache warm)", storeRead, fileRead,
                storeRead / fileRead);
        System.out.printf("%-34s %10.0f%n", "token chunk appends/s (16 tokens)", appendRate);
        deleteTree(base);
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
