package io.ultralong.runtime.generate;

import java.util.Objects;
import java.util.Set;

/**
 * How to pick each next token and when to stop.
 *
 * <p>{@code temperature} 0 means greedy (argmax; topP, topK and seed are then irrelevant). Otherwise the
 * logits are divided by the temperature, cut to the {@code topK} most likely tokens (0 = no cut), then to
 * the smallest set whose probability mass reaches {@code topP} (1 = no cut): HF's warper order. The same
 * seed and logits always give the same tokens. Generation stops after {@code maxTokens} tokens, or on
 * any of {@code stopTokenIds} (see {@link StopTokens} for the model's own set).
 */
public record GenerationParams(int maxTokens, double temperature, double topP, int topK, long seed,
        Set<Integer> stopTokenIds) {

    public GenerationParams {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, got " + maxTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0 (0 = off), got " + topK);
        }
        Objects.requireNonNull(stopTokenIds, "stopTokenIds (may be empty, not null)");
        for (Integer id : stopTokenIds) {
            if (id == null || id < 0) {
                throw new IllegalArgumentException("stop token ids must be non-negative, got " + stopTokenIds);
            }
        }
        stopTokenIds = Set.copyOf(stopTokenIds);
    }

    /** Greedy decoding of at most {@code maxTokens} tokens. */
    public static GenerationParams greedy(int maxTokens, Set<Integer> stopTokenIds) {
        return new GenerationParams(maxTokens, 0.0, 1.0, 0, 0L, stopTokenIds);
    }

    /** Temperature sampling with top-p and top-k, reproducible by {@code seed}. */
    public static GenerationParams sampled(int maxTokens, double temperature, double topP, int topK, long seed,
            Set<Integer> stopTokenIds) {
        return new GenerationParams(maxTokens, temperature, topP, topK, seed, stopTokenIds);
    }

    public boolean isGreedy() {
        return temperature == 0.0;
    }
}
