package io.ultralong.worker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.store.ContextStore;

/**
 * A session's KV restored from the context store into a fresh cache, the two ways the runtime can take it: the
 * store's verified direct buffers imported in place ({@code readVerifiedKvBuffers} + {@code importBlock(ByteBuffer)},
 * what the worker does) against a heap copy per block ({@code readVerifiedKvBlocks} + {@code importBlock(byte[])},
 * what it did before), alternated, and the store read alone for each; medians of the rounds. Same synthetic Llama
 * as {@link KvReuseBenchmark}. Args: [context tokens, default 4096] [rounds, default 7].
 *
 * <pre>java -cp ... io.ultralong.worker.KvImportBenchmark 4096 7</pre>
 */
public final class KvImportBenchmark {

    private KvImportBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int contextTokens = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        Path dir = Files.createTempDirectory("kv-import-bench");
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), KvReuseBenchmark.MODEL);
        byte[] fingerprint = {1, 2, 3};
        List<Long> readBuffers = new ArrayList<>();
        List<Long> readArrays = new ArrayList<>();
        List<Long> restoreBuffers = new ArrayList<>();
        List<Long> restoreArrays = new ArrayList<>();
        long blocks;
        long bytesPerToken;
        try (LlamaRuntime runtime = LlamaRuntime.load(ModelDirectory.resolve(modelDir), new RuntimeOptions("cpu", 512, 256, 1024));
             ContextStore store = ContextStore.open(dir.resolve("store"))) {
            bytesPerToken = runtime.kvBytesPerToken();
            int[] tokens = new Random(1).ints(contextTokens, 0, 500).toArray();
            try (KvCache cache = runtime.newCache()) {
                runtime.prefill(cache, tokens, PrefillListener.NONE);
                blocks = cache.fullBlocks();
                for (int b = 0; b < blocks; b++) {
                    store.putKvBlock(fingerprint, "s", b, tokens, 256, runtime.exportBlock(cache, b));
                }
            }
            long[] sink = {0};
            for (int round = 0; round < rounds; round++) {
                long t0 = System.nanoTime();
                store.readVerifiedKvBuffers(fingerprint, "s", tokens, 256, (i, b) -> { try (b) { sink[0] += b.payload().get(0); } });
                readBuffers.add(System.nanoTime() - t0);
                t0 = System.nanoTime();
                store.readVerifiedKvBlocks(fingerprint, "s", tokens, 256, (i, b) -> sink[0] += b[0]);
                readArrays.add(System.nanoTime() - t0);
                // Which import goes first alternates from round to round.
                for (int k = 0; k < 2; k++) {
                    boolean buffers = (round + k) % 2 == 0;
                    try (KvCache cache = runtime.newCache()) {
                        t0 = System.nanoTime();
                        long n = buffers
                                ? store.readVerifiedKvBuffers(fingerprint, "s", tokens, 256, (i, b) -> { try (b) { runtime.importBlock(cache, b.payload()); } })
                                : store.readVerifiedKvBlocks(fingerprint, "s", tokens, 256, (i, b) -> runtime.importBlock(cache, b));
                        (buffers ? restoreBuffers : restoreArrays).add(System.nanoTime() - t0);
                        if (n != blocks || cache.length() != blocks * 256) {
                            throw new IllegalStateException("restored " + n + " of " + blocks + " blocks");
                        }
                    }
                }
            }
        }
        System.out.printf("%nRestore of %d KV blocks (%d MiB, synthetic 4-layer hidden-512 Llama, f32) into a fresh cache, "
                + "median of %d alternated rounds%n", blocks, blocks * 256 * bytesPerToken >> 20, rounds);
        System.out.printf("%-40s %12s %12s%n", "path", "read ms", "restore ms");
        System.out.printf("%-40s %12.1f %12.1f%n", "direct buffers, imported in place", median(readBuffers), median(restoreBuffers));
        System.out.printf("%-40s %12.1f %12.1f%n", "byte[] per block, importBlock(byte[])", median(readArrays), median(restoreArrays));
        System.out.printf("load average (1 min) at the end: %.2f%n",
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static double median(List<Long> nanos) {
        List<Long> sorted = new ArrayList<>(nanos);
        sorted.sort(null);
        return sorted.get(sorted.size() / 2) / 1e6;
    }
}
