package io.ultralong.runtime.placement;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Prints the sizing table of docs/operations.md: UltraLong-8B at 1M, 2M and 4M tokens on 1, 2, 4 and 8 GPUs of 80 and
 * 141 GB, fp16 and int8 KV, through {@link MemoryPlanner}. Run: see docs/operations.md, "Serving 1M-4M tokens".
 */
public final class UltraLongSizing {

    private static final long GIB = 1L << 30;

    private UltraLongSizing() {
    }

    public static void main(String[] args) {
        long weights = 16_060_000_000L;
        long reserve = 4 * GIB;
        // usable memory as CUDA reports it on an 80 GB (H100/A100) and a 141 GB (H200) card
        long[][] cards = {{80, 79 * GIB}, {141, 139 * GIB}};
        long[] contexts = {1L << 20, 2L << 20, 4L << 20};
        System.out.println("| GPUs | KV | holds on GPUs | 1M tokens | 2M tokens | 4M tokens |");
        System.out.println("| --- | --- | --- | --- | --- | --- |");
        for (long[] card : cards) {
            for (int gpus : new int[] {1, 2, 4, 8}) {
                for (KvPrecision precision : new KvPrecision[] {KvPrecision.F16, KvPrecision.INT8}) {
                    List<MemoryPlanner.Device> devices = new ArrayList<>();
                    for (int i = 0; i < gpus; i++) {
                        devices.add(new MemoryPlanner.Device("cuda:" + i, card[1]));
                    }
                    long perToken = precision.bytesPerToken(32, 8, 128, 256);
                    MemoryPlan plan = MemoryPlanner.plan(devices, 0, weights, false, reserve, perToken, 256);
                    StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %d x %d GB | %s | %.2fM |",
                            gpus, card[0], precision.name().toLowerCase(Locale.ROOT),
                            plan.maxContextTokens() / (double) (1 << 20)));
                    for (long context : contexts) {
                        long host = Math.max(0, context - plan.maxContextTokens()) * perToken;
                        row.append(host == 0 ? " on GPUs |" : String.format(Locale.ROOT, " + %.0f GiB host |",
                                host / (double) GIB));
                    }
                    System.out.println(row);
                }
            }
        }
    }
}
