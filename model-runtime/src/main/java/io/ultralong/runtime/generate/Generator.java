package io.ultralong.runtime.generate;

import java.util.Arrays;

import io.ultralong.runtime.tokenizer.ModelTokenizer;

/**
 * The decoding loop, independent of DJL: sample a token from the current logits, stream its text, stop or
 * feed it back to the model for the next logits.
 *
 * <p>The last sampled token (the stop token, the maxTokens-th token, or the one whose listener call
 * cancelled) is never fed to {@link Step#next}: its logits would not be used. So after a generation the
 * model state holds the prompt plus all generated tokens but the last.
 */
public final class Generator {

    /** Appends one token to the model state (e.g. the KV cache) and returns the logits for the next position. */
    @FunctionalInterface
    public interface Step {
        float[] next(int tokenId);
    }

    /**
     * Appends one token to the model state and returns the next token, sampled where the logits are (on the
     * device): only the id comes back.
     */
    @FunctionalInterface
    public interface SampledStep {
        int next(int tokenId);
    }

    private Generator() {
    }

    /**
     * Generates from {@code firstLogits} (the logits after the prompt) until a stop token, maxTokens or the
     * listener cancels.
     */
    public static GenerationResult run(float[] firstLogits, Step step, GenerationParams params,
            ModelTokenizer tokenizer, TokenListener listener) {
        Sampler sampler = new Sampler(params);
        return runSampled(sampler.sample(firstLogits), token -> sampler.sample(step.next(token)), params, tokenizer,
                listener);
    }

    /** Generates from {@code firstToken} (sampled from the logits after the prompt), like {@link #run}. */
    public static GenerationResult runSampled(int firstToken, SampledStep step, GenerationParams params,
            ModelTokenizer tokenizer, TokenListener listener) {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, params.stopTokenIds());
        int[] tokens = new int[Math.min(params.maxTokens(), 1024)];
        int count = 0;
        StringBuilder text = new StringBuilder();
        int token = firstToken;
        while (true) {
            if (count == tokens.length) {
                tokens = Arrays.copyOf(tokens, Math.min(params.maxTokens(), tokens.length * 2));
            }
            tokens[count++] = token;
            boolean stop = params.stopTokenIds().contains(token);
            boolean last = stop || count == params.maxTokens();
            String piece = detokenizer.next(token);
            if (last) {
                // the final call carries whatever complete text was still held back
                piece += detokenizer.finish();
            }
            text.append(piece);
            if (!listener.onToken(token, piece)) {
                return new GenerationResult(Arrays.copyOf(tokens, count), text.toString(), GenerationResult.CANCELLED);
            }
            if (last) {
                String reason = stop ? GenerationResult.STOP : GenerationResult.LENGTH;
                return new GenerationResult(Arrays.copyOf(tokens, count), text.toString(), reason);
            }
            token = step.next(token);
        }
    }
}
