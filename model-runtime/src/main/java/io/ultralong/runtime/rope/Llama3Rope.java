package io.ultralong.runtime.rope;

/** Llama 3.1 frequency scaling, as HF {@code _compute_llama3_parameters}. */
public record Llama3Rope(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings)
        implements RopeScaling {
    @Override
    public double[] inverseFrequencies(int headDim, double ropeTheta) {
        double[] inv = RopeScaling.baseInverseFrequencies(headDim, ropeTheta);
        double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
        double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen) {
                inv[i] = inv[i] / factor;   // long wavelengths: fully interpolated
            } else if (wavelen >= highFreqWavelen) {
                // medium band: smooth blend between interpolated and original
                double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
            }
        }
        return inv;
    }

    @Override
    public double attentionFactor() {
        return 1.0;
    }
}
