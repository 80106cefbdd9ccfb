package io.ultralong.runtime.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy, or temperature -> top-k -> top-p (HF's warper order)
 * followed by one draw from a seeded {@link SplittableRandom}.
 *
 * <p>One sampler serves one generation: its random stream advances with every draw, so the same seed and
 * the same logits give the same token sequence. Not thread-safe.
 */
public final class Sampler {

    private final double temperature;
    private final double topP;
    private final int topK;
    private final SplittableRandom random;

    public Sampler(double temperature, double topP, int topK, long seed) {
        // validation lives in GenerationParams; maxTokens and stop ids do not matter here
        new GenerationParams(1, temperature, topP, topK, seed, java.util.Set.of());
        this.temperature = temperature;
        this.topP = topP;
        this.topK = topK;
        this.random = new SplittableRandom(seed);
    }

    public Sampler(GenerationParams params) {
        this(params.temperature(), params.topP(), params.topK(), params.seed());
    }

    /** The next token id for {@code logits} (one float per vocabulary entry). */
    public int sample(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("empty logits");
        }
        if (temperature == 0.0 || topK == 1) {
            return argmax(logits);
        }
        Candidates kept = candidates(logits);
        double draw = random.nextDouble() * kept.mass;
        double cumulative = 0;
        for (int i = 0; i < kept.count; i++) {
            cumulative += kept.weights[i];
            if (draw < cumulative) {
                return kept.ids[i];
            }
        }
        return kept.ids[kept.count - 1];   // draw landed on the rounding error of the last sum
    }

    /**
     * The tokens that survive temperature, top-k and top-p, most likely first, with their unnormalised
     * probabilities; exposed so tests can check the warpers without drawing.
     */
    Candidates candidates(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            if (Float.isNaN(l)) {
                throw new IllegalStateException("logits contain NaN: the forward pass diverged");
            }
            max = Math.max(max, l);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            throw new IllegalStateException("every logit is -infinity: nothing can be sampled");
        }
        int n = logits.length;
        // Rank by logit (exp is monotone) with a primitive sort of (orderable logit bits << 32 | id): a boxed
        // comparator sort of a 128K vocabulary costs several times more per token.
        long[] order = new long[n];
        double[] weight = new double[n];
        for (int id = 0; id < n; id++) {
            weight[id] = Math.exp((logits[id] - max) / temperature);
            order[id] = ((long) orderableBits(logits[id]) << 32) | id;
        }
        Arrays.sort(order);
        int limit = topK > 0 ? Math.min(topK, n) : n;
        int[] ids = new int[limit];
        double[] weights = new double[limit];
        double total = 0;
        for (int i = 0; i < limit; i++) {
            int id = (int) order[n - 1 - i];   // descending by weight
            ids[i] = id;
            weights[i] = weight[id];
            total += weights[i];
        }
        int count = limit;
        double mass = total;
        if (topP < 1.0) {
            // keep the smallest most-likely prefix whose mass reaches topP (the crossing token included)
            double cumulative = 0;
            for (int i = 0; i < limit; i++) {
                cumulative += weights[i];
                if (cumulative >= topP * total) {
                    count = i + 1;
                    mass = cumulative;
                    break;
                }
            }
        }
        return new Candidates(ids, weights, count, mass);
    }

    /** Float bits as a signed int that orders like the float: negative floats get their magnitude bits flipped. */
    private static int orderableBits(float f) {
        int bits = Float.floatToRawIntBits(f);
        return bits < 0 ? bits ^ 0x7fffffff : bits;
    }

    /** Most likely first: ids[0..count), weights unnormalised, mass = their sum. */
    record Candidates(int[] ids, double[] weights, int count, double mass) { }

    /** Index of the largest logit; ties go to the lowest id, as torch.argmax does. */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 0; i < logits.length; i++) {
            if (Float.isNaN(logits[i])) {
                throw new IllegalStateException("logits contain NaN: the forward pass diverged");
            }
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
