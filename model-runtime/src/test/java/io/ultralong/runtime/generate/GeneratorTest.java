package io.ultralong.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import io.ultralong.runtime.synthetic.ByteLevelBpeTokenizerWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The decoding loop against a scripted model: a Step whose logits make a known token the clear favourite. */
class GeneratorTest {

    private static final int VOCAB = 512;
    private static final int EOS = 503;
    private static final int EOT = 511;

    @TempDir
    static Path dir;
    static ModelTokenizer tokenizer;

    @BeforeAll
    static void writeTokenizer() throws Exception {
        ByteLevelBpeTokenizerWriter.write(dir, VOCAB);
        tokenizer = ModelTokenizer.load(dir);
    }

    @AfterAll
    static void closeTokenizer() {
        tokenizer.close();
    }

    /** A "model" that speaks {@code script} one token per step and records what it was fed. */
    static final class ScriptedModel implements Generator.Step {
        final int[] script;
        final List<Integer> fed = new ArrayList<>();

        ScriptedModel(int... script) {
            this.script = script;
        }

        float[] logitsFor(int position) {
            float[] logits = new float[VOCAB];
            // a ramp so that every id is distinct, with the scripted id 20 logits above the rest
            for (int id = 0; id < VOCAB; id++) {
                logits[id] = (float) ((id * 7919 % VOCAB) / (double) VOCAB);
            }
            logits[script[position % script.length]] = 20f;
            return logits;
        }

        float[] firstLogits() {
            return logitsFor(0);
        }

        @Override
        public float[] next(int tokenId) {
            fed.add(tokenId);
            return logitsFor(fed.size());
        }
    }

    private static int[] concat(int[] a, int... b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }

    @Test
    void stopsOnAStopTokenWhichEndsTheTokensButNotTheText() {
        int[] words = tokenizer.encode("Hello world 🚀");
        ScriptedModel model = new ScriptedModel(concat(words, EOT, 65, 66));
        List<String> pieces = new ArrayList<>();
        GenerationResult result = Generator.run(model.firstLogits(), model, GenerationParams.greedy(100, Set.of(EOS, EOT)),
                tokenizer, (id, text) -> pieces.add(text));

        assertThat(result.finishReason()).isEqualTo("stop");
        assertThat(result.tokens()).containsExactly(concat(words, EOT));
        assertThat(result.answerTokens()).containsExactly(words);
        assertThat(result.text()).isEqualTo("Hello world 🚀");
        assertThat(pieces).hasSize(words.length + 1).noneMatch(p -> p.contains("\uFFFD"));
        assertThat(String.join("", pieces)).isEqualTo(result.text());
        assertThat(pieces.get(pieces.size() - 1)).as("the stop token's own piece").isEmpty();
        assertThat(model.fed).as("every token but the stop token was fed back").containsExactly(
                IntStream.of(words).boxed().toArray(Integer[]::new));
    }

    @Test
    void stopsAfterMaxTokensWithReasonLength() {
        ScriptedModel model = new ScriptedModel(tokenizer.encode("one two three four five six seven"));
        GenerationResult result = Generator.run(model.firstLogits(), model, GenerationParams.greedy(4, Set.of(EOT)),
                tokenizer, TokenListener.NONE);

        assertThat(result.finishReason()).isEqualTo("length");
        assertThat(result.tokens()).containsExactly(java.util.Arrays.copyOf(model.script, 4));
        assertThat(result.text()).isEqualTo(tokenizer.decode(result.tokens(), true));
        assertThat(model.fed).hasSize(3);
    }

    @Test
    void aStopTokenThatIsAlsoTheLastAllowedTokenReportsStop() {
        ScriptedModel model = new ScriptedModel(65, 66, EOS, 67);
        GenerationResult result = Generator.run(model.firstLogits(), model, GenerationParams.greedy(3, Set.of(EOS, EOT)),
                tokenizer, TokenListener.NONE);
        assertThat(result.tokens()).containsExactly(65, 66, EOS);
        assertThat(result.finishReason()).isEqualTo("stop");
        assertThat(result.text()).isEqualTo(tokenizer.decode(new int[] {65, 66}, true));
    }

    @Test
    void aListenerReturningFalseCancelsAfterThatToken() {
        ScriptedModel model = new ScriptedModel(tokenizer.encode("the quick brown fox jumps over the lazy dog"));
        int[] calls = {0};
        GenerationResult result = Generator.run(model.firstLogits(), model, GenerationParams.greedy(50, Set.of(EOT)),
                tokenizer, (id, text) -> ++calls[0] < 3);

        assertThat(result.finishReason()).isEqualTo("cancelled");
        assertThat(calls[0]).isEqualTo(3);
        assertThat(result.tokens()).containsExactly(java.util.Arrays.copyOf(model.script, 3));
        assertThat(model.fed).hasSize(2);
    }

    @Test
    void aSingleTokenBudgetNeverCallsTheModel() {
        ScriptedModel model = new ScriptedModel(42, 43);
        GenerationResult result = Generator.run(model.firstLogits(), model, GenerationParams.greedy(1, Set.of()),
                tokenizer, TokenListener.NONE);
        assertThat(result.tokens()).containsExactly(42);
        assertThat(result.finishReason()).isEqualTo("length");
        assertThat(model.fed).isEmpty();
    }

    @Test
    void seededSamplingIsReproducibleThroughTheLoop() {
        // the same gently varying logits at every step: greedy would repeat one token, sampling must not
        float[] logits = new float[VOCAB];
        for (int id = 0; id < VOCAB; id++) {
            logits[id] = (float) Math.sin(id);
        }
        Generator.Step wavy = id -> logits.clone();
        GenerationParams params = GenerationParams.sampled(40, 0.8, 0.95, 50, 99, Set.of());
        GenerationResult a = Generator.run(logits, wavy, params, tokenizer, TokenListener.NONE);
        GenerationResult b = Generator.run(logits, wavy, params, tokenizer, TokenListener.NONE);
        GenerationResult c = Generator.run(logits, wavy,
                GenerationParams.sampled(40, 0.8, 0.95, 50, 100, Set.of()), tokenizer, TokenListener.NONE);
        assertThat(b.tokens()).isEqualTo(a.tokens());
        assertThat(b.text()).isEqualTo(a.text());
        assertThat(c.tokens()).isNotEqualTo(a.tokens());
        assertThat(IntStream.of(a.tokens()).distinct().count()).as("sampling, not argmax").isGreaterThan(10);
        assertThat(Generator.run(logits, wavy, GenerationParams.greedy(5, Set.of()), tokenizer, TokenListener.NONE)
                .tokens()).containsOnly(Sampler.argmax(logits));
    }
}
