package io.ultralong.runtime.generate;

import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy, or temperature -> top-k -> top-p (HF's warper order)
 * followed by one draw from a seeded {@link SplittableRandom}.
 *
 * <p>One sampler serves one generation: its random stream advances with every draw, so the same seed and
 * the same logits give the same token sequence. Not thread-safe (it reuses a scratch buffer).
 *
 * <p>Cost matters at a 128K vocabulary: sorting every id per token takes ~10 ms here, as long as a GPU decode
 * step. So only the ids whose logit lies within a window below the maximum are sorted, and the window widens
 * until it provably holds the top-k and the top-p nucleus; the result equals a full sort's.
 */
public final class Sampler {

    /** First window, in units of temperature: ids with weight >= e^-8 of the most likely one. */
    private static final double FIRST_WINDOW = 8;
    /** Beyond e^-64 of the maximum a weight cannot move a double-precision sum: take every id. */
    private static final double LAST_WINDOW = 64;

    private final double temperature;
    private final double topP;
    private final int topK;
    private final SplittableRandom random;
    private long[] scratch = new long[0];

    public Sampler(double temperature, double topP, int topK, long seed) {
        // validation lives in GenerationParams; maxTokens and stop ids do not matter here
        new GenerationParams(1, temperature, topP, topK, seed, Set.of());
        this.temperature = temperature;
        this.topP = topP;
        this.topK = topK;
        this.random = new SplittableRandom(seed);
    }

    public Sampler(GenerationParams params) {
        this(params.temperature(), params.topP(), params.topK(), params.seed());
    }

    /** True when every token is the argmax (temperature 0 or top-k 1): no random draw is made. */
    public boolean greedy() {
        return temperature == 0.0 || topK == 1;
    }

    public double temperature() {
        return temperature;
    }

    public double topP() {
        return topP;
    }

    public int topK() {
        return topK;
    }

    /**
     * The next draw of this sampler's seeded stream, uniform in [0, 1): a sampler that runs elsewhere (on the
     * device) takes one per non-greedy token, as {@link #sample} does, so one seed gives one stream either way.
     */
    public double nextUniform() {
        return random.nextDouble();
    }

    /** The next token id for {@code logits} (one float per vocabulary entry). */
    public int sample(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("empty logits");
        }
        if (greedy()) {
            return argmax(logits);
        }
        float max = checkedMax(logits);
        if (topK == 0 && topP >= 1.0) {
            return drawFromAll(logits, max);
        }
        Candidates kept = candidates(logits, max);
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

    /** Plain softmax sampling: no order needed, one pass for the mass and one for the draw. */
    private int drawFromAll(float[] logits, float max) {
        double total = 0;
        for (float l : logits) {
            total += weight(l, max);
        }
        double draw = random.nextDouble() * total;
        double cumulative = 0;
        int last = 0;
        for (int id = 0; id < logits.length; id++) {
            double w = weight(logits[id], max);
            if (w > 0) {
                cumulative += w;
                last = id;
                if (draw < cumulative) {
                    return id;
                }
            }
        }
        return last;
    }

    private double weight(float logit, float max) {
        return Math.exp((logit - max) / temperature);
    }

    /** The tokens that survive temperature, top-k and top-p, most likely first; exposed to tests. */
    Candidates candidates(float[] logits) {
        return candidates(logits, checkedMax(logits));
    }

    private Candidates candidates(float[] logits, float max) {
        int n = logits.length;
        // top-p without top-k cuts the whole distribution: its mass decides whether a window holds the nucleus
        double totalMass = 0;
        if (topK == 0) {
            for (float l : logits) {
                totalMass += weight(l, max);
            }
        }
        if (scratch.length < n) {
            scratch = new long[n];
        }
        for (double window = FIRST_WINDOW; ; window *= 2) {
            boolean everything = window > LAST_WINDOW;
            double threshold = max - window * temperature;
            int count = 0;
            for (int id = 0; id < n; id++) {
                if (everything || logits[id] >= threshold) {
                    // (orderable logit bits << 32 | id) sorts by logit, then id, with a primitive sort
                    scratch[count++] = ((long) orderableBits(logits[id]) << 32) | id;
                }
            }
            if (!everything && topK > 0 && count < topK) {
                continue;   // the k best reach below the window
            }
            Arrays.sort(scratch, 0, count);
            int limit = topK > 0 ? Math.min(topK, count) : count;
            int[] ids = new int[limit];
            double[] weights = new double[limit];
            double windowMass = 0;
            for (int i = 0; i < limit; i++) {
                int id = (int) scratch[count - 1 - i];   // descending by logit
                ids[i] = id;
                weights[i] = weight(logits[id], max);
                windowMass += weights[i];
            }
            double cutMass = topK > 0 ? windowMass : totalMass;
            if (!everything && topK == 0 && windowMass < topP * cutMass) {
                continue;   // the nucleus reaches below the window
            }
            return nucleus(ids, weights, limit, cutMass);
        }
    }

    /** Keeps the smallest most-likely prefix whose mass reaches topP of {@code mass} (the crossing token included). */
    private Candidates nucleus(int[] ids, double[] weights, int count, double mass) {
        if (topP >= 1.0) {
            double kept = 0;
            for (int i = 0; i < count; i++) {
                kept += weights[i];
            }
            return new Candidates(ids, weights, count, kept);
        }
        double cumulative = 0;
        for (int i = 0; i < count; i++) {
            cumulative += weights[i];
            if (cumulative >= topP * mass) {
                return new Candidates(ids, weights, i + 1, cumulative);
            }
        }
        return new Candidates(ids, weights, count, cumulative);
    }

    /** Most likely first: ids[0..count), weights unnormalised, mass = their sum. */
    record Candidates(int[] ids, double[] weights, int count, double mass) { }

    /** Float bits as a signed int that orders like the float: negative floats get their magnitude bits flipped. */
    private static int orderableBits(float f) {
        int bits = Float.floatToRawIntBits(f);
        return bits < 0 ? bits ^ 0x7fffffff : bits;
    }

    private static float checkedMax(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            if (Float.isNaN(l)) {
                throw new IllegalStateException("logits contain NaN: the forward pass diverged");
            }
            max = Math.max(max, l);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            throw new IllegalStateException("every logit is -infinity: nothing can be sampled");
        }
        return max;
    }

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
