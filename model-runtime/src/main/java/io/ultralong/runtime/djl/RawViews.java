package io.ultralong.runtime.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;

/**
 * Tensors of dtypes DJL cannot hold (bfloat16, float8: creating or even reading the dtype of such an array aborts
 * the JVM) kept in Java as their raw bytes and reinterpreted inside TorchScript ({@code raw_views.torchscript}):
 * the views alias the bytes, so a kernel writing into them writes into the arrays Java owns. A list of views is a
 * TorchScript value that Java only ever passes back into TorchScript, never converts to an NDArray.
 */
public final class RawViews implements AutoCloseable {

    /** PyTorch ScalarType numbers. */
    public static final long UINT8 = 0;
    public static final long INT8 = 1;
    public static final long FLOAT16 = 5;
    public static final long FLOAT32 = 6;
    public static final long BFLOAT16 = 15;
    public static final long FLOAT8_E4M3FN = 24;

    private final TorchScriptModule module;

    public RawViews(NDManager manager) {
        this.module = TorchScriptModule.load(RawViews.class, "raw_views.torchscript", "RawViews", manager);
    }

    /**
     * The arrays as one TorchScript list of {@code dtype} views (arrays already of that dtype pass as they are). The
     * caller owns (closes) the list; the arrays must outlive it.
     */
    public IValue views(NDArray[] arrays, long dtype) {
        try (IValue list = IValue.listFrom(java.util.Arrays.stream(arrays).map(PtNDArray.class::cast)
                .toArray(PtNDArray[]::new)); IValue type = IValue.from(dtype)) {
            return module.call("views", list, type);
        }
    }

    /** {@code x} rounded to {@code dtype}, as its raw bytes (uint8, last axis times the element size). */
    public NDArray toBits(NDArray x, long dtype, NDManager owner) {
        try (IValue in = IValue.from((PtNDArray) x); IValue type = IValue.from(dtype);
                IValue out = module.call("to_bits", in, type)) {
            return out.toTensor((PtNDManager) owner);
        }
    }

    @Override
    public void close() {
        module.close();
    }
}
