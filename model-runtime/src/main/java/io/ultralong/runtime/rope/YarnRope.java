package io.ultralong.runtime.rope;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * YaRN, as HF {@code _compute_yarn_parameters}. original_max_position_embeddings comes from rope_scaling
 * (older HF read max_position_embeddings here, which is wrong for UltraLong: see DESIGN.md).
 */
public record YarnRope(double factor, int originalMaxPositionEmbeddings, double betaFast, double betaSlow,
        Double attentionFactorOrNull, Double mscale, Double mscaleAllDim, boolean truncate) implements RopeScaling {

    static YarnRope fromJson(JsonNode n, int maxPositionEmbeddings) {
        double factor = n.path("factor").asDouble(1.0);
        int original = n.hasNonNull("original_max_position_embeddings")
                ? n.get("original_max_position_embeddings").asInt() : maxPositionEmbeddings;
        return new YarnRope(factor, original, n.path("beta_fast").asDouble(32), n.path("beta_slow").asDouble(1),
                n.hasNonNull("attention_factor") ? n.get("attention_factor").asDouble() : null,
                n.hasNonNull("mscale") ? n.get("mscale").asDouble() : null,
                n.hasNonNull("mscale_all_dim") ? n.get("mscale_all_dim").asDouble() : null,
                n.path("truncate").asBoolean(true));
    }

    static double getMscale(double scale, double m) {
        return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
    }

    @Override
    public double attentionFactor() {
        if (attentionFactorOrNull != null) {
            return attentionFactorOrNull;
        }
        if (mscale != null && mscaleAllDim != null) {
            return getMscale(factor, mscale) / getMscale(factor, mscaleAllDim);
        }
        return getMscale(factor, 1.0);
    }

    private static double correctionDim(double numRotations, int dim, double base, int maxPos) {
        return (dim * Math.log(maxPos / (numRotations * 2 * Math.PI))) / (2 * Math.log(base));
    }

    /** [low, high] correction range in rotary dims. */
    public double[] correctionRange(int headDim, double ropeTheta) {
        double low = correctionDim(betaFast, headDim, ropeTheta, originalMaxPositionEmbeddings);
        double high = correctionDim(betaSlow, headDim, ropeTheta, originalMaxPositionEmbeddings);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        return new double[] {Math.max(low, 0), Math.min(high, headDim - 1)};
    }

    @Override
    public double[] inverseFrequencies(int headDim, double ropeTheta) {
        double[] extrapolation = RopeScaling.baseInverseFrequencies(headDim, ropeTheta);
        double[] range = correctionRange(headDim, ropeTheta);
        double low = range[0];
        double high = range[1] == low ? high(range[1]) : range[1];
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
            double extrapolationFactor = 1 - ramp;
            double interpolation = extrapolation[i] / factor;
            inv[i] = interpolation * (1 - extrapolationFactor) + extrapolation[i] * extrapolationFactor;
        }
        return inv;
    }

    private static double high(double h) {
        return h + 0.001;   // HF: prevent singularity
    }
}
