package io.ultralong.runtime.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.reference.ReferenceLlama;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;

/**
 * Accuracy of quantised KV against the unquantised runtime (the "fp32 reference": same model, f32 KV) and the
 * float64 reference: a long context is prefilled, then the last positions are fed one token at a time (decode, every
 * step reading the whole quantised cache) and each position's logits are compared. Prints one table row per KV
 * precision; {@link QuantisedKvAccuracyTest} asserts bounds on the same figures.
 *
 * <p>Run: {@code ./mvnw -B -q -pl model-runtime test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.ultralong.runtime.engine.KvPrecisionAccuracy -Dexec.args="4000 300"}
 * (arguments: context tokens, at most the tiny model's 4096 positions; measured positions at its end).
 */
public final class KvPrecisionAccuracy {

    /**
     * @param maxAbs    largest |logit - f32 logit| over every measured position and vocabulary entry
     * @param maxRel    largest per-position max |logit - f32 logit| / max |f32 logit|
     * @param meanRel   that relative error averaged over the positions
     * @param top1      share of positions whose most likely token equals the f32 runtime's
     * @param maxRelF64 largest per-position relative error against the float64 reference
     */
    record Row(String kv, long bytesPerToken, double maxAbs, double maxRel, double meanRel, double top1, double maxRelF64) {
    }

    private KvPrecisionAccuracy() {
    }

    /** Rows for f32 (the baseline against itself: zeros, its float64 error as the floor), int8 and fp8. */
    static List<Row> measure(ModelDirectory model, int contextTokens, int measured) {
        int[] tokens = LogitsAssert.tokens(contextTokens, model.config().vocabSize(), 11);
        double[][] f64 = ReferenceLlama.load(model).logits(tokens);
        float[][] f32 = null;
        List<Row> rows = new ArrayList<>();
        for (String kv : new String[] {"auto", "int8", "fp8"}) {
            RuntimeOptions options = new RuntimeOptions("cpu", 512, 16, 1024).withKvPrecision(kv);
            try (LlamaRuntime runtime = LlamaRuntime.load(model, options); KvCache cache = runtime.newCache()) {
                int prefix = contextTokens - measured;
                runtime.prefill(cache, Arrays.copyOf(tokens, prefix), PrefillListener.NONE);
                float[][] logits = new float[measured][];
                for (int p = prefix; p < contextTokens; p++) {
                    logits[p - prefix] = runtime.prefill(cache, new int[] {tokens[p]}, PrefillListener.NONE);
                }
                if (f32 == null) {
                    f32 = logits;
                }
                double maxAbs = 0;
                double maxRel = 0;
                double sumRel = 0;
                double maxRelF64 = 0;
                int agree = 0;
                for (int i = 0; i < measured; i++) {
                    double diff = 0;
                    double ref = 0;
                    for (int v = 0; v < logits[i].length; v++) {
                        diff = Math.max(diff, Math.abs(logits[i][v] - f32[i][v]));
                        ref = Math.max(ref, Math.abs(f32[i][v]));
                    }
                    maxAbs = Math.max(maxAbs, diff);
                    maxRel = Math.max(maxRel, diff / ref);
                    sumRel += diff / ref;
                    maxRelF64 = Math.max(maxRelF64, LogitsAssert.relativeError(logits[i], f64[prefix + i]));
                    agree += Bf16PrecisionTest.argmax(logits[i]) == Bf16PrecisionTest.argmax(f32[i]) ? 1 : 0;
                }
                rows.add(new Row(runtime.kvDtype(), runtime.kvBytesPerToken(), maxAbs, maxRel, sumRel / measured,
                        agree / (double) measured, maxRelF64));
            }
        }
        return rows;
    }

    static String table(List<Row> rows, int contextTokens, int measured) {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "KV precision at %,d tokens, %d decoded positions compared with f32 KV (tiny model, CPU)%n", contextTokens,
                measured));
        out.append(String.format(Locale.ROOT, "%-5s %10s %12s %12s %12s %8s %14s%n", "KV", "bytes/tok", "max abs",
                "max rel", "mean rel", "top-1", "max rel f64"));
        for (Row r : rows) {
            out.append(String.format(Locale.ROOT, "%-5s %10d %12.3e %12.3e %12.3e %7.1f%% %14.3e%n", r.kv(),
                    r.bytesPerToken(), r.maxAbs(), r.maxRel(), r.meanRel(), 100 * r.top1(), r.maxRelF64()));
        }
        return out.toString();
    }

    public static void main(String[] args) throws Exception {
        int contextTokens = args.length > 0 ? Integer.parseInt(args[0]) : 4000;
        int measured = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        Path dir = Files.createTempDirectory("kv-precision");
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, SyntheticModelSpec.tiny()));
        System.out.print(table(measure(model, contextTokens, measured), contextTokens, measured));
    }
}
