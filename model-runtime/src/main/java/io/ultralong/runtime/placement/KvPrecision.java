package io.ultralong.runtime.placement;

/**
 * How one cached key or value element is stored. The quantised forms keep one float32 scale per (layer, KV head,
 * block, K or V), so their cost per token is the element bytes plus that scale spread over the block's tokens.
 */
public enum KvPrecision {
    F32(4, false),
    F16(2, false),
    BF16(2, false),
    INT8(1, true),
    FP8(1, true);

    private final int bytesPerValue;
    private final boolean scaled;

    KvPrecision(int bytesPerValue, boolean scaled) {
        this.bytesPerValue = bytesPerValue;
        this.scaled = scaled;
    }

    /** Bytes of one stored key or value element. */
    public int bytesPerValue() {
        return bytesPerValue;
    }

    /** Whether elements are quantised with a scale per (block, layer, K or V, KV head). */
    public boolean scaled() {
        return scaled;
    }

    /** Bytes of keys and values of every layer for one token, scales included (rounded up). */
    public long bytesPerToken(int layers, int kvHeads, int headDim, int blockTokens) {
        long values = 2L * layers * kvHeads * headDim * bytesPerValue;
        if (!scaled) {
            return values;
        }
        long scaleBytesPerBlock = 2L * layers * kvHeads * Float.BYTES;
        return values + (scaleBytesPerBlock + blockTokens - 1) / blockTokens;
    }
}
