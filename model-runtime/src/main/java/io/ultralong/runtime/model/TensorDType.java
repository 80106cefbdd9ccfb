package io.ultralong.runtime.model;

/** The safetensors dtypes a Llama checkpoint may use here. */
public enum TensorDType {
    F32(4), F16(2), BF16(2);

    private final int bytes;

    TensorDType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** Parses a safetensors header dtype, with a clear error for the ones we cannot widen. */
    public static TensorDType fromSafetensors(String name) {
        return switch (name) {
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            default -> throw new IllegalArgumentException("Unsupported dtype '" + name + "' (supported: F32, F16, BF16)");
        };
    }
}
