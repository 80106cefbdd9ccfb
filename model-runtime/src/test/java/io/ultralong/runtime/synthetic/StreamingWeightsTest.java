package io.ultralong.runtime.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.SafetensorsCheckpoint;
import io.ultralong.runtime.model.TensorDType;
import io.ultralong.runtime.reference.ReferenceLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The all-cores weights writer used for the 16 GB UltraLong-shaped benchmark model, on the tiny model. */
class StreamingWeightsTest {

    private static final SyntheticModelSpec SPEC = SyntheticModelSpec.tiny().withDtype(TensorDType.BF16);

    @Test
    void writesEveryTensorOfTheConfigDeterministicallyWithTheIntendedScale(@TempDir Path one, @TempDir Path two) throws Exception {
        SyntheticModelWriter.write(one, SPEC);
        Path file = SyntheticModelWriter.writeWeightsStreaming(one, SPEC);
        SyntheticModelWriter.writeWeightsStreaming(two, SPEC);
        assertThat(Files.readAllBytes(file)).isEqualTo(Files.readAllBytes(two.resolve("model.safetensors")));

        Map<String, long[]> expected = ModelDirectory.resolve(one).expectedTensors();
        try (SafetensorsCheckpoint weights = SafetensorsCheckpoint.open(one)) {
            assertThat(weights.tensorNames()).containsExactlyInAnyOrderElementsOf(expected.keySet());
            expected.forEach((name, shape) -> {
                assertThat(weights.info(name).shape()).as(name).containsExactly(shape);
                assertThat(weights.info(name).dtype()).isEqualTo(TensorDType.BF16);
            });
            // q_proj: std 2/sqrt(hidden) = 0.25, bounded by sqrt(3) times that; norms near 1
            float[] q = weights.readAsFloatArray("model.layers.1.self_attn.q_proj.weight");
            double std = Math.sqrt(Arrays.stream(toDoubles(q)).map(v -> v * v).average().orElseThrow());
            assertThat(std).isBetween(0.24, 0.26);
            assertThat(Arrays.stream(toDoubles(q)).map(Math::abs).max().orElseThrow()).isLessThanOrEqualTo(0.25 * Math.sqrt(3) * 1.01);
            assertThat(Arrays.stream(toDoubles(weights.readAsFloatArray("model.norm.weight")))).allMatch(v -> v >= 0.89 && v <= 1.11);
        }
    }

    /** A checkpoint the runtime loads and runs like any other: its logits are the float64 reference's. */
    @Test
    void runtimeOnStreamedWeightsMatchesTheReference(@TempDir Path dir) {
        SyntheticModelWriter.write(dir, SPEC);
        SyntheticModelWriter.writeWeightsStreaming(dir, SPEC);
        ModelDirectory model = ModelDirectory.resolve(dir);
        int[] tokens = new java.util.SplittableRandom(5).ints(150, 0, SPEC.vocabSize()).toArray();
        double[][] expected = ReferenceLlama.load(model).logits(tokens);
        try (LlamaRuntime runtime = LlamaRuntime.load(model, new RuntimeOptions("cpu", 64, 16, 32));
                KvCache cache = runtime.newCache()) {
            float[] logits = runtime.prefill(cache, tokens, PrefillListener.NONE);
            double maxDiff = 0;
            double maxRef = 0;
            for (int i = 0; i < logits.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(logits[i] - expected[tokens.length - 1][i]));
                maxRef = Math.max(maxRef, Math.abs(expected[tokens.length - 1][i]));
            }
            assertThat(maxDiff / maxRef).isLessThan(1e-4);
        }
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
