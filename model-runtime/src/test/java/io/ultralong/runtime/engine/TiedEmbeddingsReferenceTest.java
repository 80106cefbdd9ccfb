package io.ultralong.runtime.engine;

import static io.ultralong.runtime.engine.LogitsAssert.relativeError;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.TensorDType;
import io.ultralong.runtime.reference.ReferenceLlama;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Llama-3.2-1B/3B-shaped checkpoints, the laptop choice: tied embeddings (no lm_head.weight in the files) and
 * head_dim given in config.json, here 24 so that heads x head_dim (96) differs from hidden_size (64) and a loader
 * that derived either from the other would fail. Compared with the float64 reference at every position.
 */
class TiedEmbeddingsReferenceTest {

    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path dir;

    @Test
    void tiedEmbeddingsWithExplicitHeadDimMatchReferenceAtEveryPosition() throws Exception {
        assertMatchesReference(SyntheticModelSpec.tiny().withTiedEmbeddings(24));
    }

    @Test
    void tiedBf16CheckpointMatchesReference() throws Exception {
        assertMatchesReference(SyntheticModelSpec.tiny().withTiedEmbeddings(16).withDtype(TensorDType.BF16));
    }

    private void assertMatchesReference(SyntheticModelSpec spec) throws Exception {
        Path written = SyntheticModelWriter.write(dir, spec);
        assertThat(Files.readString(written.resolve("config.json"))).contains("\"tie_word_embeddings\" : true");
        ModelDirectory model = ModelDirectory.resolve(written);
        assertThat(model.config().tieWordEmbeddings()).isTrue();
        assertThat(model.config().headDim()).isEqualTo(spec.headDim());
        try (var weights = model.openWeights()) {
            assertThat(weights.tensorNames()).doesNotContain("lm_head.weight");
        }
        int[] tokens = LogitsAssert.tokens(200, spec.vocabSize(), 11);
        double[][] expected = ReferenceLlama.load(model).logits(tokens);
        try (LlamaRuntime runtime = LlamaRuntime.load(model, new RuntimeOptions("cpu", 48, 16, 32));
             KvCache cache = runtime.newCache()) {
            // a long prefill, then token-by-token decoding: every position's logits against the reference
            float[] logits = runtime.prefill(cache, java.util.Arrays.copyOf(tokens, 150), PrefillListener.NONE);
            assertThat(relativeError(logits, expected[149])).isLessThanOrEqualTo(TOLERANCE);
            for (int p = 150; p < tokens.length; p++) {
                logits = runtime.prefill(cache, new int[] {tokens[p]}, PrefillListener.NONE);
                assertThat(relativeError(logits, expected[p])).as("position %d", p).isLessThanOrEqualTo(TOLERANCE);
            }
        }
    }
}
