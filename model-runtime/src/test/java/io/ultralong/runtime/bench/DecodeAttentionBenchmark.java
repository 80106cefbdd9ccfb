package io.ultralong.runtime.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.Callable;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.IValue;
import io.ultralong.runtime.djl.TorchScriptModule;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One decode step's attention over an n-token cache in every layer, on the CPU, with the KV arena's two layouts
 * (token-major rows, as before, and head-major, as now) and a plain read of the same bytes as the floor. Shapes are
 * those of the llama.cpp comparison model (12 layers, 4 KV heads of 3 query heads each, head_dim 64, f32).
 *
 * <p>Reports CPU time of the calling thread per step (libtorch runs single-threaded work in the caller with
 * {@code -Dai.djl.pytorch.num_threads=1}), which other load on the machine barely changes, unlike wall time.
 */
@Command(name = "decode-attention-benchmark", mixinStandardHelpOptions = true)
public final class DecodeAttentionBenchmark implements Callable<Integer> {

    @Option(names = "--contexts", defaultValue = "2048,8192,32768", split = ",", description = "cached tokens")
    int[] contexts;

    @Option(names = "--steps", defaultValue = "20", description = "measured steps per layout and context")
    int steps;

    private static final String[] LAYOUTS = {"token_major", "head_major", "read_only"};

    public static void main(String[] args) {
        System.exit(new CommandLine(new DecodeAttentionBenchmark()).execute(args));
    }

    @Override
    public Integer call() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        System.out.printf("load average %.1f; CPU ms per decode step (12 layers, f32), one thread%n",
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        System.out.println(" context  token-major  head-major  read floor  token/head");
        try (NDManager manager = NDManager.newBaseManager()) {
            TorchScriptModule module = TorchScriptModule.load(DecodeAttentionBenchmark.class,
                    "decode_attention.torchscript", "DecodeAttention", manager);
            for (int n : contexts) {
                try (NDManager scope = manager.newSubManager()) {
                    NDArray tokenMajor = scope.randomNormal(new Shape(12, 2, n, 4, 64));
                    NDArray headMajor = scope.randomNormal(new Shape(12, 2, 4, n, 64));
                    NDArray q = scope.randomNormal(new Shape(1, 4, 3, 64));
                    double[] cpuMs = new double[LAYOUTS.length];
                    // interleaved, after two unmeasured rounds: every layout sees the same machine
                    for (int round = -2; round < steps; round++) {
                        for (int i = 0; i < LAYOUTS.length; i++) {
                            NDArray slab = i == 0 ? tokenMajor : headMajor;
                            try (IValue qv = IValue.from((PtNDArray) q); IValue sv = IValue.from((PtNDArray) slab);
                                    IValue nv = IValue.from((long) n)) {
                                long before = threads.getCurrentThreadCpuTime();
                                module.call(LAYOUTS[i], qv, sv, nv).close();
                                if (round >= 0) {
                                    cpuMs[i] += (threads.getCurrentThreadCpuTime() - before) / 1e6;
                                }
                            }
                        }
                    }
                    System.out.printf("%8d %12.2f %11.2f %11.2f %11.2f%n", n, cpuMs[0] / steps, cpuMs[1] / steps,
                            cpuMs[2] / steps, cpuMs[0] / cpuMs[1]);
                }
            }
            module.close();
        }
        return 0;
    }
}
