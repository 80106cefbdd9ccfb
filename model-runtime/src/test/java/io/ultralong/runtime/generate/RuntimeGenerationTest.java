package io.ultralong.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;

import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.reference.ReferenceLlama;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generation on the real DJL runtime (tiny synthetic model, CPU) against the float64 reference. The prompt is 150
 * tokens, so every generated token sits beyond the model's original_max_position_embeddings (128), where YaRN
 * matters, and prefill runs in several chunks.
 */
class RuntimeGenerationTest {

    private static final int PROMPT_TOKENS = 150;
    private static final int GENERATED = 24;

    @TempDir
    static Path dir;
    static ModelDirectory model;
    static LlamaRuntime runtime;
    static int[] prompt;
    /** Greedy continuation by the reference: argmax of its logits over the growing sequence. */
    static int[] referenceGreedy;

    @BeforeAll
    static void loadModelAndComputeTheReferenceContinuation() {
        model = ModelDirectory.resolve(SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny()));
        runtime = LlamaRuntime.load(model, new RuntimeOptions("cpu", 64, 32, 64));
        SplittableRandom random = new SplittableRandom(5);
        prompt = new int[PROMPT_TOKENS];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = random.nextInt(502);   // regular tokens only
        }
        ReferenceLlama reference = ReferenceLlama.load(model);
        int[] sequence = prompt.clone();
        referenceGreedy = new int[GENERATED];
        for (int i = 0; i < GENERATED; i++) {
            double[] logits = reference.logits(sequence)[sequence.length - 1];
            int best = 0;
            int second = -1;
            for (int id = 1; id < logits.length; id++) {
                if (logits[id] > logits[best]) {
                    second = best;
                    best = id;
                } else if (second < 0 || logits[id] > logits[second]) {
                    second = id;
                }
            }
            // a near tie would make the comparison a coin toss between fp32 and fp64, not a test
            assertThat(logits[best] - logits[second]).as("reference margin at step %d", i).isGreaterThan(1e-3);
            referenceGreedy[i] = best;
            sequence = Arrays.copyOf(sequence, sequence.length + 1);
            sequence[sequence.length - 1] = best;
        }
    }

    @AfterAll
    static void closeRuntime() {
        if (runtime != null) {
            runtime.close();
        }
    }

    /** What LlamaRuntime.generate delegates to: the decoding loop over single-token prefills of the cache. */
    private static GenerationResult generate(KvCache cache, GenerationParams params, TokenListener listener) {
        float[] first = runtime.prefill(cache, prompt, PrefillListener.NONE);
        return Generator.run(first, id -> runtime.prefill(cache, new int[] {id}, PrefillListener.NONE), params,
                runtime.tokenizer(), listener);
    }

    @Test
    void greedyGenerationEqualsTheReferenceArgmaxTokenForTokenAndRepeatsExactly() {
        StringBuilder streamed = new StringBuilder();
        GenerationResult first;
        try (KvCache cache = runtime.newCache()) {
            first = generate(cache, GenerationParams.greedy(GENERATED, Set.of()), (id, text) -> streamed.append(text) != null);
            assertThat(first.tokens()).containsExactly(referenceGreedy);
            assertThat(first.finishReason()).isEqualTo("length");
            assertThat(cache.length()).as("prompt + generated tokens but the last").isEqualTo(PROMPT_TOKENS + GENERATED - 1);
        }
        assertThat(first.text()).isEqualTo(streamed.toString());
        try (KvCache cache = runtime.newCache()) {
            GenerationResult second = generate(cache, GenerationParams.greedy(GENERATED, Set.of()), TokenListener.NONE);
            assertThat(second.tokens()).isEqualTo(first.tokens());
            assertThat(second.text()).isEqualTo(first.text());
        }
    }

    @Test
    void aStopTokenFromTheModelEndsGenerationThere() {
        int stop = referenceGreedy[5];
        int firstOccurrence = Arrays.stream(referenceGreedy).boxed().toList().indexOf(stop);
        try (KvCache cache = runtime.newCache()) {
            GenerationResult result = generate(cache, GenerationParams.greedy(GENERATED, Set.of(stop)), TokenListener.NONE);
            assertThat(result.finishReason()).isEqualTo("stop");
            assertThat(result.tokens()).containsExactly(Arrays.copyOf(referenceGreedy, firstOccurrence + 1));
        }
    }

    @Test
    void seededSamplingIsReproducibleAndTheSeedMatters() {
        int length = 12;
        GenerationParams params = GenerationParams.sampled(length, 1.0, 0.95, 100, 2026, Set.of());
        int[][] runs = new int[3][];
        for (int i = 0; i < 3; i++) {
            try (KvCache cache = runtime.newCache()) {
                GenerationParams run = i < 2 ? params
                        : GenerationParams.sampled(length, 1.0, 0.95, 100, 2027, Set.of());
                runs[i] = generate(cache, run, TokenListener.NONE).tokens();
            }
        }
        assertThat(runs[1]).isEqualTo(runs[0]);
        assertThat(runs[2]).isNotEqualTo(runs[0]);
        assertThat(runs[0]).isNotEqualTo(Arrays.copyOf(referenceGreedy, length));
    }

    @Test
    void facadeGenerateGivesTheReferenceTokens() {
        try (KvCache cache = runtime.newCache()) {
            float[] first = runtime.prefill(cache, prompt, PrefillListener.NONE);
            GenerationResult result = runtime.generate(cache, first, GenerationParams.greedy(GENERATED, Set.of()),
                    TokenListener.NONE);
            assertThat(result.tokens()).containsExactly(referenceGreedy);
            assertThat(cache.length()).isEqualTo(PROMPT_TOKENS + GENERATED - 1);
        }
    }
}
