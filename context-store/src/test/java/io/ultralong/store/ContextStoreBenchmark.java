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
 * the token-chunk append rate. Args: [directory] [blocks] [read rounds]. Writes are durable inside the timed region (the store
 * fsyncs each block file and its directory, then flushes its index; the plain file is fsynced once at the end).
 * Reads are NOT cold: the data fits in the page cache. Both reads land in a reused direct buffer; the store's also
 * checks the chain hash and XXH64 of every block; reads alternate store and plain file for several rounds and
 * report medians. The byte[] row is the compatibility path (one heap copy more).
 */
public final class ContextStoreBenchmark {

    private static final int BLOCK_BYTES = 32 << 20;
    private static final int TOKENS_PER_BLOCK = 256;

    private ContextStoreBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path base = Path.of(args.length > 0 ? args[0] : "target/store-bench");
        int blocks = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        deleteTree(base);
        Files.createDirectories(base);
        byte[] payload = ContextStoreTest.block(1, BLOCK_BYTES);
        int[] tokens = IntStream.range(0, blocks * TOKENS_PER_BLOCK).toArray();
        double gib = (double) blocks * BLOCK_BYTES / (1L << 30);
        byte[] fp = {7, 7, 7};
        Path file = base.resolve("plain.bin");

        try (ContextStore store = ContextStore.open(base.resolve("db"))) {
            long t0 = System.nanoTime();
            for (int b = 0; b < blocks; b++) {
                store.putKvBlock(fp, "bench", b, tokens, TOKENS_PER_BLOCK, payload);
            }
            store.flush();
            double storeWrite = gib / seconds(t0);

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

            // Reads alternate store and plain file, round after round, so both see the same moments of a shared
            // machine's load; the medians are reported.
            double[] storeReads = new double[rounds];
            double[] storeCopyReads = new double[rounds];
            double[] fileReads = new double[rounds];
            double[] ratios = new double[rounds];
            ByteBuffer into = ByteBuffer.allocateDirect(BLOCK_BYTES);
            long[] sink = {0};
            for (int r = 0; r < rounds; r++) {
                long t1 = System.nanoTime();
                long n = store.readVerifiedKvBuffers(fp, "bench", tokens, TOKENS_PER_BLOCK, (i, b) -> sink[0] += b.get(0));
                storeReads[r] = gib / seconds(t1);
                long t3 = System.nanoTime();
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    // Into one reused direct buffer, as the store reads: one copy out of the page cache, nothing else.
                    for (int b = 0; b < blocks; b++) {
                        into.clear();
                        while (into.hasRemaining() && ch.read(into) >= 0) {
                            // fill one block-sized buffer
                        }
                    }
                }
                fileReads[r] = gib / seconds(t3);
                ratios[r] = storeReads[r] / fileReads[r];
                long t4 = System.nanoTime();
                long m = store.readVerifiedKvBlocks(fp, "bench", tokens, TOKENS_PER_BLOCK, (i, b) -> sink[0] += b[0]);
                storeCopyReads[r] = gib / seconds(t4);
                if (n != blocks || m != blocks) {
                    throw new IllegalStateException("read " + n + " and " + m + " of " + blocks + " blocks");
                }
            }

            int chunks = 200_000;
            double appendRate;
            try (ContextStore tokensStore = ContextStore.open(base.resolve("tokens-db"))) {
                int[] chunk = IntStream.range(0, 16).toArray();
                long t5 = System.nanoTime();
                for (int s = 1; s <= chunks; s++) {
                    tokensStore.appendChunk("chat", s, (long) (s - 1) * chunk.length, s, chunk, 0, s);
                }
                appendRate = chunks / seconds(t5);
            }

            double fileRead = median(fileReads);
            System.out.printf("%-34s %10s %10s %8s%n", "measure (" + blocks + " x 32 MiB)", "store", "plain file", "ratio");
            System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV write GB/s (durable)", storeWrite, fileWrite,
                    storeWrite / fileWrite);
            System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV read GB/s (page cache warm)", median(storeReads),
                    fileRead, median(ratios));
            System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV read GB/s, byte[] per block", median(storeCopyReads),
                    fileRead, median(storeCopyReads) / fileRead);
            System.out.printf("%-34s %10.0f%n", "token chunk appends/s (16 tokens)", appendRate);
            System.out.printf("read ratio per round (store / plain, %d rounds): %s%n", rounds, format(ratios));
            System.out.printf("load average (1 min) at the end: %.2f%n",
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
        deleteTree(base);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static String format(double[] values) {
        StringBuilder out = new StringBuilder();
        for (double v : values) {
            out.append(String.format("%.2f ", v));
        }
        return out.toString().trim();
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
