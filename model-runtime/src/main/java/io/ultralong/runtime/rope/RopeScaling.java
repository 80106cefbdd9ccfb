package io.ultralong.runtime.rope;

import com.fasterxml.jackson.databind.JsonNode;

/** HF rope_scaling; computes inv_freq in double (HF does float32; we keep double so 4M-position angles stay exact). */
public sealed interface RopeScaling permits DefaultRope, Llama3Rope, YarnRope {

    /** Length headDim/2. */
    double[] inverseFrequencies(int headDim, double ropeTheta);

    /** Multiplies cos and sin; 1.0 for default and llama3. */
    double attentionFactor();

    /** Reads HF's rope_scaling object; {@code rope_type} wins over the legacy {@code type} key. */
    static RopeScaling fromConfig(JsonNode ropeScalingOrNull, int maxPositionEmbeddings) {
        if (ropeScalingOrNull == null || ropeScalingOrNull.isNull() || ropeScalingOrNull.isMissingNode()) {
            return new DefaultRope();
        }
        JsonNode n = ropeScalingOrNull;
        String type = n.hasNonNull("rope_type") ? n.get("rope_type").asText() : n.path("type").asText("default");
        return switch (type) {
            case "default" -> new DefaultRope();
            case "llama3" -> new Llama3Rope(n.path("factor").asDouble(8.0), n.path("low_freq_factor").asDouble(1.0),
                    n.path("high_freq_factor").asDouble(4.0), n.path("original_max_position_embeddings").asInt(8192));
            case "yarn" -> YarnRope.fromJson(n, maxPositionEmbeddings);
            default -> throw new IllegalArgumentException("Unsupported rope_scaling type '" + type
                    + "' (supported: default, llama3, yarn)");
        };
    }

    /** Plain RoPE frequencies theta^(-2i/d). */
    static double[] baseInverseFrequencies(int headDim, double ropeTheta) {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
        }
        return inv;
    }
}
