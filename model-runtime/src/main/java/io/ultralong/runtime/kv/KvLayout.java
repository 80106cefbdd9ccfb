package io.ultralong.runtime.kv;

import ai.djl.ndarray.types.DataType;
import io.ultralong.runtime.placement.KvPrecision;

/**
 * The shape every block of a cache shares: what must agree for blocks to be interchangeable.
 *
 * @param dataType  the dtype attention computes in, and the one keys and values are produced in: float32, float16
 *                  or bfloat16
 * @param precision how the arena stores them: in {@code dataType} itself (F32, F16, BF16), or quantised (INT8, FP8
 *                  e4m3) with one float32 scale per block, layer, K or V, and KV head
 */
public record KvLayout(int layers, int kvHeads, int headDim, int blockTokens, DataType dataType, KvPrecision precision) {

    public KvLayout {
        if (dataType != DataType.FLOAT32 && dataType != DataType.FLOAT16 && dataType != DataType.BFLOAT16) {
            throw new IllegalArgumentException("KV dtype must be float32, float16 or bfloat16, not " + dataType);
        }
        if (!precision.scaled() && precision != native_(dataType)) {
            throw new IllegalArgumentException("KV stored as " + precision + " but computed in " + dataType
                    + ": unquantised KV is stored in the compute dtype");
        }
    }

    /** KV stored in the compute dtype. */
    public KvLayout(int layers, int kvHeads, int headDim, int blockTokens, DataType dataType) {
        this(layers, kvHeads, headDim, blockTokens, dataType, native_(dataType));
    }

    private static KvPrecision native_(DataType dataType) {
        if (dataType == DataType.FLOAT16) {
            return KvPrecision.F16;
        }
        return dataType == DataType.BFLOAT16 ? KvPrecision.BF16 : KvPrecision.F32;
    }

    /**
     * "f32", "f16", "bf16", "int8" or "fp8": what the arena holds (the names of the docs and of
     * {@code LlamaRuntime.kvDtype}).
     */
    public String dtypeName() {
        return precision.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Whether blocks are quantised with scales (INT8, FP8). */
    public boolean quantised() {
        return precision.scaled();
    }

    /**
     * The dtype of exported blocks ({@link KvBlockCodec}, whose tags are f32 and f16 only): float16 when computing
     * in float16, float32 otherwise. bfloat16 widens to float32 exactly; quantised blocks export dequantised.
     */
    public DataType exportType() {
        return dataType == DataType.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    /** Bytes of one stored key or value element. */
    public int bytesPerValue() {
        return precision.bytesPerValue();
    }

    /** Keys and values of every layer for one token as the arena stores them, scales included (rounded up). */
    public long bytesPerToken() {
        return precision.bytesPerToken(layers, kvHeads, headDim, blockTokens);
    }
}
