package io.ultralong.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

/** The comparison the runtime is held to: max |a - b| / max |b| over one position's logits. */
final class LogitsAssert {

    private LogitsAssert() {
    }

    static double relativeError(float[] actual, double[] expected) {
        assertThat(actual).hasSize(expected.length);
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        return maxDiff / maxRef;
    }

    static double relativeError(float[] actual, float[] expected) {
        double[] wide = new double[expected.length];
        for (int i = 0; i < wide.length; i++) {
            wide[i] = expected[i];
        }
        return relativeError(actual, wide);
    }

    /** Deterministic pseudo-random token ids in [0, vocab). */
    static int[] tokens(int count, int vocab, long seed) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return ids;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
