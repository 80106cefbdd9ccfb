package io.ultralong.runtime.kv;

import ai.djl.ndarray.types.DataType;

/** The shape every block of a cache shares: what must agree for blocks to be interchangeable. */
public record KvLayout(int layers, int kvHeads, int headDim, int blockTokens, DataType dataType) {

    public KvLayout {
        if (dataType != DataType.FLOAT32 && dataType != DataType.FLOAT16) {
            throw new IllegalArgumentException("KV dtype must be float32 or float16, not " + dataType);
        }
    }

    /** "f32" or "f16": the names used in the block byte layout, the fingerprint and the docs. */
    public String dtypeName() {
        return dataType == DataType.FLOAT32 ? "f32" : "f16";
    }

    public int bytesPerValue() {
        return dataType == DataType.FLOAT32 ? 4 : 2;
    }

    /** Keys and values of every layer for one token. */
    public long bytesPerToken() {
        return 2L * layers * kvHeads * headDim * bytesPerValue();
    }
}
