package io.ultralong.runtime.engine;

import static io.ultralong.runtime.engine.LogitsAssert.relativeError;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;

import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.TensorDType;
import io.ultralong.runtime.reference.ReferenceLlama;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime on the device named by {@code -Dul.test.device} (cuda, cuda:N, cpu) against the float64 reference, at
 * every position of a 330-token sequence fed in uneven slices and then token by token: what
 * {@code scripts/gpu-check.sh} runs on a GPU host. Tolerance by compute dtype: 1e-4 in f32, 2e-2 in f16 (11-bit
 * mantissa; 1.3e-2 measured on the CPU), {@link Bf16PrecisionTest#BF16_TOLERANCE} in bf16 (8 bits; 6.4e-2
 * measured on the CPU), plus {@link QuantisedKvAccuracyTest#INT8_MAX_REL} with int8 KV. The default precision on
 * CUDA computes this bf16 checkpoint in bf16; f16 and bf16 are also forced, so the CPU can run every case. Not run without the property: {@code LlamaRuntimeReferenceTest} and
 * {@code Bf16PrecisionTest} cover the CPU in every build.
 */
@EnabledIfSystemProperty(named = "ul.test.device", matches = ".+")
class DeviceReferenceTest {

    private static final String DEVICE = System.getProperty("ul.test.device", "cpu");
    private static final int[] SLICES = {1, 7, 64, 3, 100, 1, 1, 40, 13, 1, 99};

    @TempDir
    Path dir;

    @Test
    void bf16CheckpointMatchesReferenceOnTheTestDevice() {
        assertMatchesReference(new RuntimeOptions(DEVICE, 48, 16, 32));
    }

    @Test
    void kvOnHostMatchesReferenceOnTheTestDevice() {
        assertMatchesReference(new RuntimeOptions(DEVICE, 48, 16, 32, true));
    }

    /**
     * Sequence-sharded KV over {@code -Dul.test.devices} (e.g. {@code cuda:0,cuda:1}, or {@code cuda:0,cuda:0}: two
     * shards of one GPU) with 3 blocks per device (6 in f16) and the rest in the host tier (pinned beside CUDA),
     * streamed in pieces of 40 rows: attention per shard, merged on the first device.
     */
    @Test
    @EnabledIfSystemProperty(named = "ul.test.devices", matches = ".+")
    void shardedKvWithAHostTierMatchesReferenceOnTheTestDevices() {
        java.util.List<String> devices = KvPlacement.parseDevices(System.getProperty("ul.test.devices"));
        assertMatchesReference(new RuntimeOptions(devices.get(0), 48, 16, 32).withPlacement(KvPlacement.SINGLE
                .withDevices(devices).withDeviceKvBytes(3L * 16 * 512).withHostKvBytes(64L * 16 * 512).withHostPieceTokens(40)));
    }

    @Test
    void f16ComputeMatchesReferenceOnTheTestDevice() {
        assertMatchesReference(new RuntimeOptions(DEVICE, 48, 16, 32).withPrecision("f16"));
    }

    @Test
    void bf16ComputeMatchesReferenceOnTheTestDevice() {
        assertMatchesReference(new RuntimeOptions(DEVICE, 48, 16, 32).withPrecision("bf16"));
    }

    /** int8 KV in the device's default compute dtype: the compute tolerance plus int8's bound. */
    @Test
    void int8KvMatchesReferenceOnTheTestDevice() {
        assertMatchesReference(new RuntimeOptions(DEVICE, 48, 16, 32).withKvPrecision("int8"));
    }

    private void assertMatchesReference(RuntimeOptions options) {
        SyntheticModelSpec spec = SyntheticModelSpec.tiny().withDtype(TensorDType.BF16);
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, spec));
        int total = Arrays.stream(SLICES).sum();
        int[] tokens = LogitsAssert.tokens(total, spec.vocabSize(), 7);
        double[][] expected = ReferenceLlama.load(model).logits(tokens);
        try (LlamaRuntime runtime = LlamaRuntime.load(model, options); KvCache cache = runtime.newCache()) {
            double tolerance = switch (runtime.computeDtype()) {
                case "f32" -> 1e-4;
                case "f16" -> 2e-2;
                default -> Bf16PrecisionTest.BF16_TOLERANCE;
            } + (runtime.kvDtype().equals("int8") ? QuantisedKvAccuracyTest.INT8_MAX_REL : 0);
            int position = 0;
            double worst = 0;
            for (int slice : SLICES) {
                float[] logits = runtime.prefill(cache, Arrays.copyOfRange(tokens, position, position + slice), PrefillListener.NONE);
                position += slice;
                worst = Math.max(worst, relativeError(logits, expected[position - 1]));
            }
            try (KvCache decoding = runtime.newCache()) {
                int prefix = spec.originalMaxPositions() - 28;
                runtime.prefill(decoding, Arrays.copyOf(tokens, prefix), PrefillListener.NONE);
                for (int p = prefix; p < total; p++) {
                    float[] logits = runtime.prefill(decoding, new int[] {tokens[p]}, PrefillListener.NONE);
                    worst = Math.max(worst, relativeError(logits, expected[p]));
                }
            }
            System.out.printf("%s (%s compute, %s KV on %s): worst relative error %.3g, tolerance %.0e%n",
                    runtime.device(), runtime.computeDtype(), runtime.kvDtype(), runtime.kvShards().size() > 1
                            ? runtime.kvShards().stream().map(LlamaRuntime.KvShardUsage::name).toList()
                            : runtime.kvDevice(), worst, tolerance);
            assertThat(worst).isLessThanOrEqualTo(tolerance);
        }
    }
}
