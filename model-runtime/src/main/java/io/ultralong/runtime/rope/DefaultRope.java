package io.ultralong.runtime.rope;

/** Unscaled RoPE (HF {@code _compute_default_rope_parameters}). */
public record DefaultRope() implements RopeScaling {
    @Override
    public double[] inverseFrequencies(int headDim, double ropeTheta) {
        return RopeScaling.baseInverseFrequencies(headDim, ropeTheta);
    }

    @Override
    public double attentionFactor() {
        return 1.0;
    }
}
