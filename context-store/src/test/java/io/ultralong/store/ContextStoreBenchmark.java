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
 * the token-chunk append rate. Args: [directory] [blocks]. Writes are durable inside the timed region (the store
 * fsyncs each block file and its directory, then flushes its index; the plain file is fsynced once at the end).
 * Reads are NOT cold: the data fits in the page cache. Both reads land in a reused direct buffer; the store's also
 * checks the chain hash and XXH64 of every block. The byte[] row is the compatibility path (one heap copy more).
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
        double storeReadCopies;
        try (ContextStore store = ContextStore.open(base.resolve("db"))) {
            long t0 = System.nanoTime();
            for (int b = 0; b < blocks; b++) {
                store.putKvBlock(fp, "bench", b, tokens, TOKENS_PER_BLOCK, payload);
            }
            store.flush();
            storeWrite = gib / seconds(t0);
            long t1 = System.nanoTime();
            long[] sink = {0};
            long n = store.readVerifiedKvBuffers(fp, "bench", tokens, TOKENS_PER_BLOCK, (i, b) -> sink[0] += b.get(0));
            storeRead = gib / seconds(t1);
            long t1b = System.nanoTime();
            long m = store.readVerifiedKvBlocks(fp, "bench", tokens, TOKENS_PER_BLOCK, (i, b) -> sink[0] += b[0]);
            storeReadCopies = gib / seconds(t1b);
            if (n != blocks || m != blocks) {
                throw new IllegalStateException("read " + n + " and " + m + " of " + blocks + " blocks");
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
            // Into one reused direct buffer, as the store reads: one copy out of the page cache, nothing else.
            ByteBuffer into = ByteBuffer.allocateDirect(BLOCK_BYTES);
            for (int b = 0; b < blocks; b++) {
                into.clear();
                while (into.hasRemaining() && ch.read(into) >= 0) {
                    // fill one block-sized buffer
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
        System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV read GB/s, byte[] per block", storeReadCopies, fileRead,
                storeReadCopies / fileRead);
        System.out.printf("%-34s %10.0f%n", "token chunk appends/s (16 tokens)", appendRate);
        System.out.printf("load average (1 min) at the end: %.2f%n",
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
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
