package io.ultralong.runtime.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.runtime.engine.KvPlacement;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.LlamaConfig;
import io.ultralong.runtime.model.ModelDirectory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Prefill and decode throughput of the runtime through its public API ({@link LlamaRuntime#prefill}), whatever engine
 * is behind it, at several context lengths: one table on stdout and, with {@code --json}, the same figures for the
 * scripts that set them beside llama.cpp's ({@code scripts/bench-llamacpp.sh}) or run them on a GPU
 * ({@code scripts/gpu-check.sh}).
 *
 * <p>Prefill: one {@code prefill} call of n tokens into an empty cache. Decode: then {@code --decode} single-token
 * calls (each returns the logits, as a generation step does). Useful FLOPs: 2 per weight per token plus causal
 * attention (QK^T and PV: 4 x hidden per layer per query-key pair), the head only for the positions whose logits
 * are returned. Model FLOP utilisation = useful FLOPs / time / {@code --peak-tflops}.
 *
 * <p>{@code --budget-s}: contexts are measured in the order given; one whose predicted time (fitted on the earlier
 * ones: a + b n + c n^2 prefill, linear decode) would overrun the budget is skipped and reported as such, and a
 * prefill still running at the end of the budget is stopped (its partial rate is reported).
 */
@Command(name = "throughput-benchmark", mixinStandardHelpOptions = true)
public final class ThroughputBenchmark implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "model directory (written first when it has no config.json and --write names a model)")
    Path model;

    @Option(names = "--write", description = "cpu-100m or ultralong-8b: the model to write into --model if absent")
    String write;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--devices", description = "a session's KV over these devices in order, e.g. cuda:0,cuda:1 (overrides --device)")
    String devices;

    @Option(names = "--device-kv-bytes", defaultValue = "0",
            description = "KV bytes each of --devices holds (default: no limit on the CPU, the memory after the weights on CUDA)")
    long deviceKvBytes;

    @Option(names = "--host-kv-bytes", defaultValue = "0", description = "host tier for the oldest KV blocks (default: none)")
    long hostKvBytes;

    @Option(names = "--contexts", defaultValue = "2048,8192", split = ",", description = "context lengths in tokens")
    int[] contexts;

    @Option(names = "--decode", defaultValue = "32", description = "decode steps per context")
    int decodeTokens;

    @Option(names = "--budget-s", defaultValue = "0", description = "time budget for all contexts, 0 for none")
    double budgetSeconds;

    @Option(names = "--peak-tflops", defaultValue = "0",
            description = "dense peak of the device for MFU, e.g. 989.4 (H100/H200 SXM bf16/fp16); 0: no MFU column")
    double peakTflops;

    @Option(names = "--json", description = "also write the results here")
    Path json;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ThroughputBenchmark()).execute(args));
    }

    /** One measured (or skipped) context. */
    record Row(int context, double prefillSeconds, int prefilled, int decoded, double decodeSeconds,
            double prefillFlops, double decodeFlops, long peakGpuMiB, long vmHwmMiB, String note,
            double prefillCpuSeconds, double decodeCpuSeconds) {

        double prefillPerSecond() {
            return prefilled / prefillSeconds;
        }

        double decodePerSecond() {
            return decoded / decodeSeconds;
        }
    }

    /** A prefill stopped because the budget ran out. */
    private static final class OutOfBudget extends RuntimeException {
        final long done;

        OutOfBudget(long done) {
            super(null, null, false, false);
            this.done = done;
        }
    }

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        if (write != null) {
            BenchModels.parse(write).ensure(model);
        }
        ModelDirectory directory = ModelDirectory.resolve(model);
        LlamaConfig c = directory.config();
        RuntimeOptions options = RuntimeOptions.defaults().withDevice(device);
        if (devices != null || hostKvBytes > 0 || deviceKvBytes > 0) {
            options = options.withPlacement(KvPlacement.SINGLE.withDevices(KvPlacement.parseDevices(devices))
                    .withDeviceKvBytes(deviceKvBytes).withHostKvBytes(hostKvBytes));
        }
        long layerParams = (long) c.numHiddenLayers() * ((long) c.hiddenSize()
                * (c.numAttentionHeads() + 2L * c.numKeyValueHeads()) * c.headDim()
                + (long) c.numAttentionHeads() * c.headDim() * c.hiddenSize() + 3L * c.hiddenSize() * c.intermediateSize());
        long headParams = (long) c.hiddenSize() * c.vocabSize();
        List<Row> rows = new ArrayList<>();
        double deadline = budgetSeconds > 0 ? budgetSeconds : Double.MAX_VALUE;
        try (GpuMemoryMonitor gpu = GpuMemoryMonitor.start(device)) {
            long loadStart = System.nanoTime();
            try (LlamaRuntime runtime = LlamaRuntime.load(directory, options)) {
                double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
                System.out.printf("model %s: %.2fB parameters (%.2fB in layers), %d MiB of weights on %s, KV %d bytes/token (%s), loaded in %.1f s%n",
                        directory.root(), (layerParams + 2 * headParams) / 1e9, layerParams / 1e9,
                        runtime.weightBytes() >> 20, runtime.device(), runtime.kvBytesPerToken(), runtime.kvDtype(),
                        loadSeconds);
                warmUp(runtime, c);
                System.out.printf("warmed up; GPU memory after load %s MiB%n", gpu.available() ? gpu.peakMiB() : "n/a");
                for (int n : contexts) {
                    double elapsed = (System.nanoTime() - started) / 1e9;
                    double predicted = predict(rows, n);
                    if (elapsed + predicted > deadline) {
                        String note = String.format("skipped: predicted %.0f s, %.0f s of the %.0f s budget left",
                                predicted, deadline - elapsed, budgetSeconds);
                        System.out.println(n + ": " + note);
                        rows.add(new Row(n, Double.NaN, 0, 0, Double.NaN, 0, 0, -1, -1, note, Double.NaN, Double.NaN));
                        continue;
                    }
                    gpu.reset();
                    rows.add(measure(runtime, c, n, layerParams, headParams, started, deadline, gpu));
                    Row r = rows.get(rows.size() - 1);
                    System.out.printf("%d: prefill %.1f s (%.1f tok/s), decode %.1f ms/token %s%n", n, r.prefillSeconds(),
                            r.prefillPerSecond(), 1000 / r.decodePerSecond(), r.note());
                    runtime.releaseCachedDeviceMemory();
                }
            }
        }
        print(rows);
        if (json != null) {
            writeJson(rows);
        }
        return 0;
    }

    /**
     * First calls pay for libtorch's lazy initialisation (and CUDA's kernel loading), and the Java decode kernels for
     * the JIT's compilation: prefill and enough single-token steps to reach steady state.
     */
    private static void warmUp(LlamaRuntime runtime, LlamaConfig c) {
        try (KvCache warm = runtime.newCache()) {
            runtime.prefill(warm, tokens(600, c.vocabSize(), 1), PrefillListener.NONE);
            for (int i = 0; i < 64; i++) {
                runtime.prefill(warm, new int[] {i % c.vocabSize()}, PrefillListener.NONE);
            }
        }
    }

    private Row measure(LlamaRuntime runtime, LlamaConfig c, int n, long layerParams, long headParams, long started,
            double deadline, GpuMemoryMonitor gpu) throws IOException {
        int[] tokens = tokens(n + decodeTokens, c.vocabSize(), n);
        try (KvCache cache = runtime.newCache()) {
            long t0 = System.nanoTime();
            long cpu0 = processCpuNanos();
            int prefilled = n;
            String note = "";
            try {
                runtime.prefill(cache, Arrays.copyOf(tokens, n), (done, total) -> {
                    if ((System.nanoTime() - started) / 1e9 > deadline) {
                        throw new OutOfBudget(done);
                    }
                });
            } catch (OutOfBudget stop) {
                prefilled = (int) stop.done;
                note = "prefill stopped by the budget after " + stop.done + " tokens";
            }
            double prefillSeconds = (System.nanoTime() - t0) / 1e9;
            double prefillCpuSeconds = (processCpuNanos() - cpu0) / 1e9;
            double l = c.numHiddenLayers();
            double prefillFlops = 2.0 * layerParams * prefilled + 4.0 * l * c.hiddenSize() * prefilled * (prefilled + 1) / 2.0
                    + 2.0 * headParams;
            int decoded = 0;
            double decodeSeconds = Double.NaN;
            double decodeCpuSeconds = Double.NaN;
            if (prefilled == n) {
                long t1 = System.nanoTime();
                long cpu1 = processCpuNanos();
                for (int i = 0; i < decodeTokens; i++) {
                    runtime.prefill(cache, new int[] {tokens[n + i]}, PrefillListener.NONE);
                }
                decodeSeconds = (System.nanoTime() - t1) / 1e9;
                decodeCpuSeconds = (processCpuNanos() - cpu1) / 1e9;
                decoded = decodeTokens;
            }
            double decodeFlops = decoded * (2.0 * layerParams + 2.0 * headParams)
                    + 4.0 * l * c.hiddenSize() * (double) decoded * (n + decoded / 2.0);
            return new Row(n, prefillSeconds, prefilled, decoded, decodeSeconds, prefillFlops, decodeFlops,
                    gpu.available() ? gpu.peakMiB() : -1, vmHwmMiB(), note, prefillCpuSeconds, decodeCpuSeconds);
        }
    }

    /**
     * Seconds context n should take, from the contexts measured so far: prefill a + b n + c n^2 through the last
     * three (fewer points: a pure n^2 scaling of the last, an upper bound while attention is not yet dominant),
     * decode linear in n from the last.
     */
    static double predict(List<Row> rows, int n) {
        List<Row> done = rows.stream().filter(r -> r.prefilled() == r.context() && r.decoded() > 0).toList();
        if (done.isEmpty()) {
            return 0;
        }
        Row last = done.get(done.size() - 1);
        double scale = (double) n / last.context();
        double prefill = last.prefillSeconds() * scale * scale;
        if (done.size() >= 2) {
            // b n + c n^2 through the last two points (prefill time has no meaningful constant part)
            Row a = done.get(done.size() - 2);
            double n1 = a.context();
            double n2 = last.context();
            double cq = (last.prefillSeconds() / n2 - a.prefillSeconds() / n1) / (n2 - n1);
            double b = a.prefillSeconds() / n1 - cq * n1;
            prefill = Math.max(b * n + cq * n * (double) n, last.prefillSeconds() * scale);
        }
        return prefill + last.decodeSeconds() * scale;
    }

    private void print(List<Row> rows) {
        System.out.printf("%nnproc %d, load average %.1f, device %s, %d decode steps per context%n",
                Runtime.getRuntime().availableProcessors(), ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                device, decodeTokens);
        boolean mfu = peakTflops > 0;
        System.out.println(" context  prefill s  prefill/s   decode/s  ms/token" + (mfu ? "  pf MFU  dec MFU" : "")
                + "  peak GPU MiB  VmHWM MiB  note");
        for (Row r : rows) {
            if (r.prefilled() == 0) {
                System.out.printf("%8d  %s%n", r.context(), r.note());
                continue;
            }
            String mfuCells = mfu ? String.format("  %5.1f%%  %6.2f%%", 100 * r.prefillFlops() / r.prefillSeconds() / (peakTflops * 1e12),
                    r.decoded() == 0 ? Double.NaN : 100 * r.decodeFlops() / r.decodeSeconds() / (peakTflops * 1e12)) : "";
            System.out.printf("%8d %10.2f %10.1f %10.2f %9.2f%s %13s %10d  %s%n", r.context(), r.prefillSeconds(),
                    r.prefillPerSecond(), r.decodePerSecond(), 1000 / r.decodePerSecond(), mfuCells,
                    r.peakGpuMiB() < 0 ? "n/a" : Long.toString(r.peakGpuMiB()), r.vmHwmMiB(), r.note());
        }
        if (mfu) {
            System.out.printf("MFU: useful FLOPs / time / %.1f TFLOP/s%n", peakTflops);
        }
    }

    private void writeJson(List<Row> rows) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("engine", "ultralong-runtime");
        root.put("device", device);
        root.put("model", model.toString());
        root.put("decodeTokens", decodeTokens);
        root.put("loadAverage", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        ArrayNode results = root.putArray("results");
        for (Row r : rows) {
            ObjectNode o = results.addObject();
            o.put("context", r.context());
            o.put("prefilled", r.prefilled());
            if (r.prefilled() > 0) {
                o.put("prefillSeconds", r.prefillSeconds());
                o.put("prefillPerSecond", r.prefillPerSecond());
                o.put("prefillCpuMsPerToken", 1000 * r.prefillCpuSeconds() / r.prefilled());
            }
            if (r.decoded() > 0) {
                o.put("decodePerSecond", r.decodePerSecond());
                o.put("decodeMsPerToken", 1000 / r.decodePerSecond());
                o.put("decodeCpuMsPerToken", 1000 * r.decodeCpuSeconds() / r.decoded());
            }
            if (peakTflops > 0 && r.prefilled() > 0) {
                o.put("prefillMfu", r.prefillFlops() / r.prefillSeconds() / (peakTflops * 1e12));
            }
            o.put("peakGpuMiB", r.peakGpuMiB());
            o.put("note", r.note());
        }
        Files.createDirectories(json.toAbsolutePath().getParent());
        mapper.writerWithDefaultPrettyPrinter().writeValue(json.toFile(), root);
    }

    /**
     * CPU time of the whole process (every thread, user and system): on a loaded machine the work an engine does, where
     * wall time also counts the waits for a core.
     */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Deterministic pseudo-random token ids in [0, vocab). */
    static int[] tokens(int count, int vocab, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return ids;
    }

    private static long vmHwmMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) >> 10;
            }
        }
        return -1;
    }

    /**
     * Peak GPU memory in use (all processes on the device, PyTorch's cache included) from {@code nvidia-smi -lms 100}
     * running beside the benchmark; nothing on a CPU run or where nvidia-smi is missing.
     */
    static final class GpuMemoryMonitor implements AutoCloseable {
        private final Process process;
        private final AtomicLong peak = new AtomicLong(-1);

        private GpuMemoryMonitor(Process process) {
            this.process = process;
            if (process != null) {
                Thread reader = new Thread(() -> {
                    try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = in.readLine()) != null) {
                            try {
                                long used = Long.parseLong(line.trim());
                                peak.accumulateAndGet(used, Math::max);
                            } catch (NumberFormatException ignored) {
                                // a header or warning line
                            }
                        }
                    } catch (IOException ignored) {
                        // the process ended
                    }
                }, "nvidia-smi-reader");
                reader.setDaemon(true);
                reader.start();
            }
        }

        static GpuMemoryMonitor start(String device) {
            String d = device.toLowerCase(java.util.Locale.ROOT);
            if (!(d.startsWith("cuda") || d.startsWith("gpu"))) {
                return new GpuMemoryMonitor(null);
            }
            String index = d.contains(":") ? d.substring(d.indexOf(':') + 1) : "0";
            try {
                return new GpuMemoryMonitor(new ProcessBuilder("nvidia-smi", "--query-gpu=memory.used",
                        "--format=csv,noheader,nounits", "-i", index, "-lms", "100").redirectErrorStream(true).start());
            } catch (IOException e) {
                System.err.println("nvidia-smi not available: no GPU memory figures (" + e.getMessage() + ")");
                return new GpuMemoryMonitor(null);
            }
        }

        boolean available() {
            return process != null && peak.get() >= 0;
        }

        long peakMiB() {
            return peak.get();
        }

        /** Restart the peak from the current reading (the next sample). */
        void reset() {
            peak.set(-1);
            // wait for one fresh sample so the peak is never "none" for a short measurement
            long until = System.nanoTime() + 1_000_000_000L;
            while (process != null && process.isAlive() && peak.get() < 0 && System.nanoTime() < until) {
                java.util.concurrent.locks.LockSupport.parkNanos(10_000_000L);
            }
        }

        @Override
        public void close() {
            if (process != null) {
                process.destroy();
            }
        }
    }
}
