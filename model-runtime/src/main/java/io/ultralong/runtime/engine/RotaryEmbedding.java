package io.ultralong.runtime.engine;

import io.ultralong.runtime.model.LlamaConfig;

/**
 * HF {@code LlamaRotaryEmbedding} for one chunk of positions at a time: angle = position * inv_freq[i] in double
 * (a long position is exact in a double up to 2^53, so position 4,000,000 loses nothing, where HF's float32
 * product would be off by ~0.25 rad), cos and sin taken in double and multiplied by the attention factor
 * (YaRN mscale), then rounded to float once. No max-length table is built: a 4M-token context would need
 * 4M x headDim x 2 floats of it.
 */
public final class RotaryEmbedding {

    private final double[] inverseFrequencies;
    private final double attentionFactor;
    private final int headDim;

    public RotaryEmbedding(LlamaConfig config) {
        this(config.inverseFrequencies(), config.ropeScaling().attentionFactor(), config.headDim());
    }

    RotaryEmbedding(double[] inverseFrequencies, double attentionFactor, int headDim) {
        if (inverseFrequencies.length * 2 != headDim) {
            throw new IllegalArgumentException("inv_freq has " + inverseFrequencies.length + " entries for head_dim " + headDim);
        }
        this.inverseFrequencies = inverseFrequencies.clone();
        this.attentionFactor = attentionFactor;
        this.headDim = headDim;
    }

    public double angle(long position, int frequencyIndex) {
        return position * inverseFrequencies[frequencyIndex];
    }

    /**
     * cos and sin for positions start..start+count-1, each [count][headDim] flattened; like HF's
     * {@code emb = cat(freqs, freqs)}, column j and j + headDim/2 hold the same angle (rotate_half pairing).
     */
    public float[][] cosSin(long start, int count) {
        int half = headDim / 2;
        float[] cos = new float[count * headDim];
        float[] sin = new float[count * headDim];
        for (int t = 0; t < count; t++) {
            for (int i = 0; i < half; i++) {
                double a = angle(start + t, i);
                float c = (float) (Math.cos(a) * attentionFactor);
                float s = (float) (Math.sin(a) * attentionFactor);
                cos[t * headDim + i] = c;
                cos[t * headDim + i + half] = c;
                sin[t * headDim + i] = s;
                sin[t * headDim + i + half] = s;
            }
        }
        return new float[][] {cos, sin};
    }

    public double attentionFactor() {
        return attentionFactor;
    }
}
