package io.ultralong.protocol.query;

/**
 * How to pick tokens. {@code temperature == 0} is greedy decoding; {@code topK == 0} and
 * {@code topP == 1} switch those filters off; a null seed draws one.
 */
public record SamplingParams(int maxTokens, double temperature, double topP, int topK, Long seed) {

    public static final SamplingParams GREEDY = new SamplingParams(256, 0.0, 1.0, 0, null);

    public SamplingParams {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, was " + maxTokens);
        }
        if (temperature < 0 || Double.isNaN(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, was " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], was " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0, was " + topK);
        }
    }
}
