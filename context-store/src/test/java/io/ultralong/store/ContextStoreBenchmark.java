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
 * the token-chunk append rate. Args: [directory] [blocks] [rounds]. Writes are durable inside the timed region (the
 * store fsyncs each block file and its directory, then flushes its index; the plain file is fsynced once at the
 * end). Reads are NOT cold: the data fits in the page cache. The plain read copies into a reused direct buffer; the
 * store reads each block file's segments in parallel into a new direct buffer, hashing each as it lands, and checks
 * the chain hash.
 * Writes and reads alternate store and plain file for several rounds and report medians. The byte[] row is the
 * compatibility path (one heap copy).
 */
public final class ContextStoreBenchmark {

    private static final int BLOCK_BYTES = 32 << 20;
    private static final int TOKENS_PER_BLOCK = 256;
    private static final int WRITE_BATCH = 8;

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
            // Writes alternate too, and which of the three goes first rotates from round to round (a write pays for
            // the write-back of the one before it on a shared disk); each starts from an empty session and no plain
            // file, deleted outside the timed region.
            double[] storeWrites = new double[rounds];
            double[] storeSingleWrites = new double[rounds];
            double[] fileWrites = new double[rounds];
            double[] writeRatios = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < 3; k++) {
                    store.deleteSession("bench");
                    Files.deleteIfExists(file);
                    switch ((r + k) % 3) {
                        case 0 -> storeWrites[r] = gib / storeWrite(store, fp, tokens, blocks, payload, WRITE_BATCH);
                        case 1 -> fileWrites[r] = gib / plainWrite(file, blocks, payload);
                        default -> storeSingleWrites[r] = gib / storeWrite(store, fp, tokens, blocks, payload, 1);
                    }
                }
                writeRatios[r] = storeWrites[r] / fileWrites[r];
            }
            store.deleteSession("bench");
            Files.deleteIfExists(file);
            storeWrite(store, fp, tokens, blocks, payload, WRITE_BATCH);   // what the reads read
            plainWrite(file, blocks, payload);

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
                long n = store.readVerifiedKvBuffers(fp, "bench", tokens, TOKENS_PER_BLOCK, (i, b) -> { try (b) { sink[0] += b.payload().get(0); } });
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
            System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV write GB/s (durable, 8 per batch)", median(storeWrites),
                    median(fileWrites), median(writeRatios));
            double[] singleRatios = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                singleRatios[r] = storeSingleWrites[r] / fileWrites[r];
            }
            System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV write GB/s, block by block", median(storeSingleWrites),
                    median(fileWrites), median(singleRatios));
            System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV read GB/s (page cache warm)", median(storeReads),
                    fileRead, median(ratios));
            System.out.printf("%-34s %10.2f %10.2f %8.2f%n", "KV read GB/s, byte[] per block", median(storeCopyReads),
                    fileRead, median(storeCopyReads) / fileRead);
            System.out.printf("%-34s %10.0f%n", "token chunk appends/s (16 tokens)", appendRate);
            System.out.printf("write ratio per round (store / plain, %d rounds): %s%n", rounds, format(writeRatios));
            System.out.printf("block-by-block write ratio per round: %s%n", format(singleRatios));
            System.out.printf("read ratio per round (store / plain, %d rounds): %s%n", rounds, format(ratios));
            System.out.printf("load average (1 min) at the end: %.2f%n",
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
        deleteTree(base);
    }

    /**
     * Seconds for the store to take the blocks durably, {@code batch} blocks per call (the worker's write-behind
     * hands over up to {@value #WRITE_BATCH} queued blocks at once; 1: block by block), then its index flushed.
     */
    private static double storeWrite(ContextStore store, byte[] fp, int[] tokens, int blocks, byte[] payload, int batch)
            throws Exception {
        long t0 = System.nanoTime();
        for (int b = 0; b < blocks; b += batch) {
            if (batch == 1) {
                store.putKvBlock(fp, "bench", b, tokens, TOKENS_PER_BLOCK, payload);
            } else {
                store.putKvBlocks(fp, "bench", b, tokens, TOKENS_PER_BLOCK,
                        java.util.Collections.nCopies(Math.min(batch, blocks - b), payload));
            }
        }
        store.flush();
        return seconds(t0);
    }

    /** Seconds to write the same bytes to one file and fsync it once. */
    private static double plainWrite(Path file, int blocks, byte[] payload) throws IOException {
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (int b = 0; b < blocks; b++) {
                ByteBuffer buf = ByteBuffer.wrap(payload);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
            ch.force(true);
        }
        return seconds(t0);
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
