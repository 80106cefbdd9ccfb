package io.ultralong.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

/** Statistics of seeded draws against the distributions the warpers should produce. */
class SamplerTest {

    private static final int DRAWS = 20_000;

    /** Logits whose softmax at temperature 1 is exactly {@code probabilities}. */
    private static float[] logitsOf(double... probabilities) {
        float[] logits = new float[probabilities.length];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) Math.log(probabilities[i]);
        }
        return logits;
    }

    private static float[] randomLogits(int vocab, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) (random.nextGaussian() * 2.0);
        }
        return logits;
    }

    private static double[] frequencies(Sampler sampler, float[] logits) {
        double[] counts = new double[logits.length];
        for (int i = 0; i < DRAWS; i++) {
            counts[sampler.sample(logits)]++;
        }
        for (int i = 0; i < counts.length; i++) {
            counts[i] /= DRAWS;
        }
        return counts;
    }

    private static double entropy(double[] p) {
        double h = 0;
        for (double x : p) {
            if (x > 0) {
                h -= x * Math.log(x);
            }
        }
        return h;
    }

    private static double[] softmax(float[] logits, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp((logits[i] - max) / temperature);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @Test
    void greedyTakesTheLargestLogitAndTheLowestIdOnATie() {
        Sampler greedy = new Sampler(GenerationParams.greedy(1, Set.of()));
        assertThat(greedy.sample(new float[] {0.1f, 3f, -2f, 2.9f})).isEqualTo(1);
        assertThat(greedy.sample(new float[] {1f, 5f, 5f, Float.NEGATIVE_INFINITY})).isEqualTo(1);
        assertThat(new Sampler(1.0, 1.0, 1, 7).sample(new float[] {0f, 0f, 9f})).as("top-k 1 is greedy").isEqualTo(2);
    }

    @Test
    void nanLogitsAreAnErrorNotASilentToken() {
        assertThatThrownBy(() -> new Sampler(0.0, 1.0, 0, 1).sample(new float[] {1f, Float.NaN}))
                .hasMessageContaining("NaN");
        assertThatThrownBy(() -> new Sampler(0.8, 1.0, 0, 1).sample(new float[] {1f, Float.NaN}))
                .hasMessageContaining("NaN");
    }

    @Test
    void temperatureOneReproducesTheSoftmax() {
        float[] logits = logitsOf(0.5, 0.25, 0.15, 0.1);
        double[] seen = frequencies(new Sampler(1.0, 1.0, 0, 11), logits);
        assertThat(seen[0]).isCloseTo(0.5, within(0.015));
        assertThat(seen[1]).isCloseTo(0.25, within(0.015));
        assertThat(seen[2]).isCloseTo(0.15, within(0.015));
        assertThat(seen[3]).isCloseTo(0.1, within(0.015));
    }

    @Test
    void topKNeverLeavesTheKBestAndKeepsTheirRelativeOdds() {
        float[] logits = randomLogits(512, 3);
        double[] exact = softmax(logits, 1.0);
        Integer[] byProbability = new Integer[512];
        for (int i = 0; i < 512; i++) {
            byProbability[i] = i;
        }
        java.util.Arrays.sort(byProbability, (a, b) -> Double.compare(exact[b], exact[a]));
        Set<Integer> best = Set.of(byProbability[0], byProbability[1], byProbability[2], byProbability[3], byProbability[4]);
        double bestMass = 0;
        for (int id : best) {
            bestMass += exact[id];
        }

        double[] seen = frequencies(new Sampler(1.0, 1.0, 5, 5), logits);
        double outside = 0;
        for (int id = 0; id < 512; id++) {
            if (!best.contains(id)) {
                outside += seen[id];
            }
        }
        assertThat(outside).as("mass drawn outside the 5 best").isZero();
        for (int id : best) {
            assertThat(seen[id]).as("token %d", id).isCloseTo(exact[id] / bestMass, within(0.015));
        }
    }

    @Test
    void topPKeepsTheSmallestMostLikelySetReachingP() {
        float[] logits = logitsOf(0.5, 0.3, 0.15, 0.05);
        Sampler.Candidates candidates = new Sampler(1.0, 0.7, 0, 1).candidates(logits);
        assertThat(candidates.count()).as("0.5 < 0.7 <= 0.8").isEqualTo(2);
        assertThat(new Sampler(1.0, 0.9, 0, 1).candidates(logits).count()).as("0.8 < 0.9 <= 0.95").isEqualTo(3);
        assertThat(new Sampler(1.0, 0.4, 0, 1).candidates(logits).count()).as("the top token alone").isEqualTo(1);

        double[] seen = frequencies(new Sampler(1.0, 0.7, 0, 9), logits);
        assertThat(seen[2] + seen[3]).as("mass beyond the nucleus").isZero();
        assertThat(seen[0]).isCloseTo(0.5 / 0.8, within(0.015));
        assertThat(seen[1]).isCloseTo(0.3 / 0.8, within(0.015));
    }

    @Test
    void warpersComposeInHfOrderTemperatureThenTopKThenTopP() {
        float[] logits = logitsOf(0.4, 0.3, 0.2, 0.1);
        // top-p alone: 0.4 < 0.5, so two tokens
        assertThat(new Sampler(1.0, 0.5, 0, 1).candidates(logits).count()).isEqualTo(2);
        // top-k 2 first renormalises to 0.57 / 0.43, and 0.57 alone reaches 0.5
        assertThat(new Sampler(1.0, 0.5, 2, 1).candidates(logits).count()).isEqualTo(1);
        // temperature first: at T=4 the distribution is flatter, so the 0.5 nucleus needs more tokens
        assertThat(new Sampler(4.0, 0.5, 0, 1).candidates(logits).count()).isEqualTo(2);
        assertThat(new Sampler(4.0, 0.75, 0, 1).candidates(logits).count()).isEqualTo(3);
        assertThat(new Sampler(1.0, 0.75, 0, 1).candidates(logits).count()).isEqualTo(3);
        assertThat(new Sampler(0.25, 0.7, 0, 1).candidates(logits).count()).as("sharpened: 0.4^4 holds 72%").isEqualTo(1);
    }

    /** Brute force: every id sorted by logit (the order of probability at any temperature), most likely first. */
    private static int[] sortedByLogit(float[] logits) {
        return IntStream.range(0, logits.length).boxed()
                .sorted((a, b) -> Float.compare(logits[b], logits[a])).mapToInt(Integer::intValue).toArray();
    }

    /** Brute force: cut the full order to k, then to the p nucleus of the renormalised rest. */
    private static int[] fullSortCandidates(float[] logits, int[] order, double temperature, double topP, int topK) {
        double[] p = softmax(logits, temperature);
        int limit = topK > 0 ? topK : order.length;
        double mass = 0;
        for (int i = 0; i < limit; i++) {
            mass += p[order[i]];
        }
        double cumulative = 0;
        for (int i = 0; i < limit; i++) {
            cumulative += p[order[i]];
            if (cumulative >= topP * mass) {
                return java.util.Arrays.copyOf(order, i + 1);
            }
        }
        return java.util.Arrays.copyOf(order, limit);
    }

    @Test
    void theWindowedSelectionEqualsAFullSortAtAFullVocabulary() {
        float[] peaked = randomLogits(128_256, 31);
        peaked[4242] = 25f;
        float[] gaussian = randomLogits(32_000, 32);
        // one clear favourite over 50,000 tokens e^-10 below it: the nucleus lies far outside the first window
        float[] longTail = new float[50_001];
        longTail[0] = 10f;
        for (int i = 1; i < longTail.length; i++) {
            longTail[i] = (float) (Math.sin(i) * 1e-3);
        }
        for (float[] logits : new float[][] {peaked, gaussian, longTail}) {
            int[] order = sortedByLogit(logits);
            for (double[] setting : new double[][] {{1.0, 0.9, 0}, {0.6, 0.95, 0}, {1.3, 0.5, 0}, {0.7, 1.0, 40},
                    {1.0, 0.8, 200}, {2.0, 0.99, 0}}) {
                double t = setting[0];
                double topP = setting[1];
                int topK = (int) setting[2];
                Sampler.Candidates kept = new Sampler(t, topP, topK, 1).candidates(logits);
                int[] expected = fullSortCandidates(logits, order, t, topP, topK);
                assertThat(java.util.Arrays.copyOf(kept.ids(), kept.count()))
                        .as("T=%s p=%s k=%s over %d ids", t, topP, topK, logits.length).containsExactlyInAnyOrder(expected);
            }
        }
        assertThat(new Sampler(1.0, 0.9, 0, 1).candidates(longTail).count()).as("reached into the tail").isGreaterThan(10_000);
    }

    @Test
    void higherTemperatureFlattensTheDistribution() {
        float[] logits = randomLogits(64, 21);
        double cold = entropy(frequencies(new Sampler(0.5, 1.0, 0, 1), logits));
        double warm = entropy(frequencies(new Sampler(1.0, 1.0, 0, 1), logits));
        double hot = entropy(frequencies(new Sampler(2.0, 1.0, 0, 1), logits));
        assertThat(cold).isLessThan(warm - 0.2);
        assertThat(warm).isLessThan(hot - 0.2);
        assertThat(hot).isLessThan(Math.log(64));
        // and each matches the entropy of softmax(logits / T) (plug-in estimate, small bias with 20K draws)
        assertThat(cold).isCloseTo(entropy(softmax(logits, 0.5)), within(0.05));
        assertThat(warm).isCloseTo(entropy(softmax(logits, 1.0)), within(0.05));
        assertThat(hot).isCloseTo(entropy(softmax(logits, 2.0)), within(0.05));
    }

    @Test
    void theSameSeedGivesTheSameSequenceAndAnotherSeedAnother() {
        float[] logits = randomLogits(128, 8);
        int[] first = new int[200];
        int[] again = new int[200];
        int[] other = new int[200];
        Sampler a = new Sampler(0.9, 0.95, 40, 1234);
        Sampler b = new Sampler(0.9, 0.95, 40, 1234);
        Sampler c = new Sampler(0.9, 0.95, 40, 1235);
        for (int i = 0; i < 200; i++) {
            first[i] = a.sample(logits);
            again[i] = b.sample(logits);
            other[i] = c.sample(logits);
        }
        assertThat(again).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
    }

    @Test
    void invalidParametersAreRejectedWithTheirName() {
        assertThatThrownBy(() -> new GenerationParams(0, 0, 1, 0, 0, Set.of())).hasMessageContaining("maxTokens");
        assertThatThrownBy(() -> new GenerationParams(1, -0.1, 1, 0, 0, Set.of())).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new GenerationParams(1, Double.NaN, 1, 0, 0, Set.of())).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new GenerationParams(1, 1, 0, 0, 0, Set.of())).hasMessageContaining("topP");
        assertThatThrownBy(() -> new GenerationParams(1, 1, 1.5, 0, 0, Set.of())).hasMessageContaining("topP");
        assertThatThrownBy(() -> new GenerationParams(1, 1, 1, -1, 0, Set.of())).hasMessageContaining("topK");
        assertThatThrownBy(() -> new GenerationParams(1, 1, 1, 0, 0, Set.of(-3))).hasMessageContaining("stop token");
    }
}
