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
import org.junit.jupiter.api.io.TempDir;

/**
 * The DJL forward pass against the plain-Java float64 reference: every position compared, 330 tokens, so most of
 * them lie beyond the tiny model's original_max_position_embeddings of 128 where YaRN's interpolation and its
 * attention factor matter.
 */
class LlamaRuntimeReferenceTest {

    private static final int TOKENS = 330;
    private static final double TOLERANCE = 1e-4;
    /** Slices fed to prefill one after another: single tokens (decode), odd sizes, and slices above the chunk size. */
    private static final int[] SLICES = {1, 7, 64, 3, 100, 1, 1, 40, 13, 1, 99};

    @TempDir
    Path dir;

    @Test
    void fp32CheckpointMatchesReferenceAtEveryPosition() {
        assertMatchesReference(SyntheticModelSpec.tiny());
    }

    @Test
    void bf16CheckpointMatchesReferenceAtEveryPosition() {
        assertMatchesReference(SyntheticModelSpec.tiny().withDtype(TensorDType.BF16));
    }

    @Test
    void shardedCheckpointMatchesReferenceAtEveryPosition() {
        assertMatchesReference(SyntheticModelSpec.tiny().withShards(3));
    }

    /**
     * KV blocks under their own host-memory root, as on a GPU with {@code kvOnHost} (on this CPU-only machine the
     * copies to the compute device are no-ops, but blocks, import and freeing go through the separate root).
     */
    @Test
    void kvKeptInHostMemoryMatchesReference() {
        assertMatchesReference(SyntheticModelSpec.tiny(), new RuntimeOptions("cpu", 48, 16, 32, true));
    }

    /** The fallback and reference of the fused path: the blockwise online softmax in DJL ops. */
    @Test
    void blockwiseAttentionMatchesReference() {
        assertMatchesReference(SyntheticModelSpec.tiny(), new RuntimeOptions("cpu", 48, 16, 32).withFusedAttention(false));
    }

    private void assertMatchesReference(SyntheticModelSpec spec) {
        assertMatchesReference(spec, new RuntimeOptions("cpu", 48, 16, 32));
    }

    private void assertMatchesReference(SyntheticModelSpec spec, RuntimeOptions options) {
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, spec));
        assertThat(Arrays.stream(SLICES).sum()).isEqualTo(TOKENS);
        int[] tokens = LogitsAssert.tokens(TOKENS, spec.vocabSize(), 7);
        double[][] expected = ReferenceLlama.load(model).logits(tokens);
        // chunk 48 and blocks of 16 tokens, 2 blocks per attention step: every path (partial blocks, several
        // steps, several chunks per prefill call) is exercised
        try (LlamaRuntime runtime = LlamaRuntime.load(model, options); KvCache cache = runtime.newCache()) {
            assertThat(runtime.device()).isEqualTo("cpu()");
            assertThat(runtime.kvDevice()).isEqualTo("cpu()");
            assertThat(runtime.kvDtype()).isEqualTo("f32");
            int position = 0;
            double worst = 0;
            for (int slice : SLICES) {
                int[] part = Arrays.copyOfRange(tokens, position, position + slice);
                float[] logits = runtime.prefill(cache, part, PrefillListener.NONE);
                position += slice;
                double error = relativeError(logits, expected[position - 1]);
                assertThat(error).as("position %d", position - 1).isLessThanOrEqualTo(TOLERANCE);
                worst = Math.max(worst, error);
            }
            assertThat(cache.length()).isEqualTo(TOKENS);

            // then every single position: one prefill up to just below the original context, one token at a time after
            int prefix = spec.originalMaxPositions() - 28;
            try (KvCache decoding = runtime.newCache()) {
                runtime.prefill(decoding, Arrays.copyOf(tokens, prefix), PrefillListener.NONE);
                for (int p = prefix; p < TOKENS; p++) {
                    float[] logits = runtime.prefill(decoding, new int[] {tokens[p]}, PrefillListener.NONE);
                    double error = relativeError(logits, expected[p]);
                    assertThat(error).as("position %d", p).isLessThanOrEqualTo(TOLERANCE);
                    worst = Math.max(worst, error);
                }
            }
            System.out.printf("%s x%d shards: worst relative error %.3g over positions %d..%d%n", spec.dtype(),
                    spec.shards(), worst, prefix, TOKENS - 1);
        }
    }
}
