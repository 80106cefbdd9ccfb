package io.ultralong.runtime.engine;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.LlamaConfig;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.TensorDType;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;

/**
 * CPU prefill and decode throughput of a synthetic Llama with the layers of a ~100M model (hidden 768, 12 layers,
 * 12 heads, 4 KV heads, intermediate 2048: 75.5M parameters in layers; vocab 2048) at several context lengths, against the floor set by one large DJL matmul:
 * ratio = measured time / (useful FLOPs of the run / matmul FLOP/s), 1.0 meaning "as fast as a big GEMM". Decoding
 * reads every weight and the whole KV per token, so its floor is memory bandwidth instead (measured by one large
 * matrix-vector product): dec×bw = measured time / ((weight bytes + KV bytes) per token / bytes/s).
 *
 * <pre>
 * ./mvnw -B -q -pl model-runtime test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.ultralong.runtime.engine.RuntimeBenchmark -Dexec.args="2048,8192,32768 32"
 * </pre>
 * args: context lengths (comma-separated, default 2048,8192), decode tokens per context (default 32), model
 * directory (default model-runtime/target/bench-model, written once; run from the repository root), attention
 * ({@code fused}, the default, {@code blockwise}: the DJL reference path, or {@code both}: the two side by side,
 * alternating per context in one JVM, so their ratio is measured under the same load).
 */
public final class RuntimeBenchmark {

    public static void main(String[] args) throws IOException {
        int[] contexts = java.util.Arrays.stream((args.length > 0 ? args[0] : "2048,8192").split(","))
                .mapToInt(Integer::parseInt).toArray();
        int decodeTokens = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        Path dir = Path.of(args.length > 2 ? args[2] : "model-runtime/target/bench-model");
        // vocab 2048, not 32000: the synthetic BPE tokenizer writer learns merges in time that grows steeply with the
        // vocabulary (32000 ran for over an hour here); the layers, which carry the cost, are the ~100M-model's
        SyntheticModelSpec spec = new SyntheticModelSpec(768, 2048, 12, 12, 4, 2048, 8192, 8.0, TensorDType.F32, 1, 7L);
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            SyntheticModelWriter.write(dir, spec);
        }
        ModelDirectory model = ModelDirectory.resolve(dir);
        LlamaConfig c = model.config();
        double matmulFlops = matmulFlopsPerSecond(2048);
        double bandwidth = matvecBytesPerSecond();
        String mode = args.length > 3 ? args[3] : "fused";
        List<Boolean> paths = mode.equals("both") ? List.of(true, false) : List.of(!mode.equals("blockwise"));
        RuntimeOptions options = RuntimeOptions.defaults().withDevice("cpu");
        double loadAtStart = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        List<String> rows = new ArrayList<>();
        List<LlamaRuntime> runtimes = new ArrayList<>();
        try {
            for (boolean fused : paths) {
                runtimes.add(LlamaRuntime.load(model, options.withFusedAttention(fused)));
            }
            LlamaRuntime first = runtimes.get(0);
            long layerParams = (long) c.numHiddenLayers() * ((long) c.hiddenSize()
                    * (c.numAttentionHeads() + 2L * c.numKeyValueHeads()) * c.headDim()
                    + (long) c.numAttentionHeads() * c.headDim() * c.hiddenSize() + 3L * c.hiddenSize() * c.intermediateSize());
            long headParams = (long) c.hiddenSize() * c.vocabSize();
            System.out.printf("model: %.1fM parameters (%.1fM in layers), %d MiB f32 weights, KV %d bytes/token (f32)%n",
                    (layerParams + 2 * headParams) / 1e6, layerParams / 1e6, first.weightBytes() >> 20,
                    first.kvBytesPerToken());
            System.out.printf("floor: one %dx%d DJL matmul runs at %.1f GFLOP/s; a matrix-vector product reads %.1f GB/s%n",
                    2048, 2048, matmulFlops / 1e9, bandwidth / 1e9);
            // warm-up: first calls pay for libtorch's lazy initialisation
            for (LlamaRuntime runtime : runtimes) {
                try (KvCache warm = runtime.newCache()) {
                    runtime.prefill(warm, LogitsAssert.tokens(600, c.vocabSize(), 1), PrefillListener.NONE);
                    for (int i = 0; i < 16; i++) {
                        runtime.prefill(warm, new int[] {i}, PrefillListener.NONE);   // and the single-token path
                    }
                }
            }
            for (int n : contexts) {
                for (LlamaRuntime runtime : runtimes) {
                    int[] tokens = LogitsAssert.tokens(n + decodeTokens, c.vocabSize(), n);
                    try (KvCache cache = runtime.newCache()) {
                        long t0 = System.nanoTime();
                        runtime.prefill(cache, java.util.Arrays.copyOf(tokens, n), PrefillListener.NONE);
                        double prefillSeconds = (System.nanoTime() - t0) / 1e9;
                        long t1 = System.nanoTime();
                        for (int i = 0; i < decodeTokens; i++) {
                            runtime.prefill(cache, new int[] {tokens[n + i]}, PrefillListener.NONE);
                        }
                        double decodeSeconds = (System.nanoTime() - t1) / 1e9;
                        double decodeBytes = decodeTokens * (runtime.weightBytes()
                                + (n + decodeTokens / 2.0) * runtime.kvBytesPerToken());
                        // useful FLOPs: 2 per weight per token, causal attention QK^T and PV (2 x 2 x hidden per pair)
                        double prefillFlops = 2.0 * layerParams * n + 4.0 * c.numHiddenLayers() * c.hiddenSize() * n * (n + 1) / 2.0
                                + 2.0 * headParams;
                        double decodeFlops = decodeTokens * (2.0 * layerParams + 2.0 * headParams)
                                + 4.0 * c.numHiddenLayers() * c.hiddenSize() * (double) decodeTokens * (n + decodeTokens / 2.0);
                        rows.add(String.format("%-9s %7d %10.1f %10.2f %8.1f %8.1f %8.1f %8.0f %8d",
                                    runtime.options().fusedAttention() ? "fused" : "blockwise", n, n / prefillSeconds,
                                decodeTokens / decodeSeconds,
                                prefillSeconds / (prefillFlops / matmulFlops), decodeSeconds / (decodeFlops / matmulFlops),
                                decodeSeconds / (decodeBytes / bandwidth),
                                cache.length() * (double) runtime.kvBytesPerToken() / (1 << 20), vmHwmMiB()));
                        System.out.println("done " + n + " tokens");
                    }
                }
            }
        } finally {
            runtimes.forEach(LlamaRuntime::close);
        }
        System.out.printf("%nnproc %d, load average %.1f at start, %.1f at end, peak Java heap %d MiB, chunk %d, KV block %d,"
                + " attention block %d%n", Runtime.getRuntime().availableProcessors(), loadAtStart,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), peakHeapMiB(),
                options.prefillChunkTokens(), options.kvBlockTokens(), options.attentionBlockTokens());
        System.out.println("attention context  prefill/s   decode/s  pf×floor dec×floor   dec×bw   KV MiB  VmHWM MiB");
        rows.forEach(System.out::println);
    }

    private static double matmulFlopsPerSecond(int n) {
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            NDArray a = manager.randomUniform(-1, 1, new Shape(n, n));
            NDArray b = manager.randomUniform(-1, 1, new Shape(n, n));
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 6; i++) {
                long t0 = System.nanoTime();
                try (NDArray product = a.matMul(b)) {
                    product.getFloat(0, 0);   // forces the result (PyTorch CPU ops are synchronous anyway)
                }
                best = Math.min(best, (System.nanoTime() - t0) / 1e9);
            }
            return 2.0 * n * n * n / best;
        }
    }

    /** Bytes/s one large fp32 matrix-vector product reads (768 x 81920, 240 MiB): the decode floor. */
    private static double matvecBytesPerSecond() {
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            NDArray matrix = manager.randomUniform(-1, 1, new Shape(768, 81_920));
            NDArray vector = manager.randomUniform(-1, 1, new Shape(1, 768));
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 8; i++) {
                long t0 = System.nanoTime();
                try (NDArray product = vector.matMul(matrix)) {
                    product.getFloat(0, 0);
                }
                best = Math.min(best, (System.nanoTime() - t0) / 1e9);
            }
            return 768.0 * 81_920 * Float.BYTES / best;
        }
    }

    private static long vmHwmMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) >> 10;
            }
        }
        return -1;
    }

    private static long peakHeapMiB() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        return peak >> 20;
    }
}
