package io.ultralong.runtime.engine;

import io.ultralong.runtime.model.ModelDirectory;

/**
 * Runtimes whose one-token steps take a chosen path: the Java Vector API kernels (on wherever they apply, as the test
 * JVMs run with the module) or the TorchScript step they stand in for.
 */
final class DecodePaths {

    private DecodePaths() {
    }

    /** One-token steps through TorchScript (the Java kernels turned off). */
    static LlamaRuntime torchScript(ModelDirectory model, RuntimeOptions options) {
        return load(model, options, "false", null);
    }

    /** One-token steps on the Java kernels with {@code threads} threads. */
    static LlamaRuntime vectorKernels(ModelDirectory model, RuntimeOptions options, int threads) {
        return load(model, options, "true", Integer.toString(threads));
    }

    // the properties are read once, at load
    private static LlamaRuntime load(ModelDirectory model, RuntimeOptions options, String enabled, String threads) {
        System.setProperty(LlamaRuntime.VECTOR_DECODE_PROPERTY, enabled);
        if (threads != null) {
            System.setProperty(LlamaRuntime.VECTOR_DECODE_THREADS_PROPERTY, threads);
        }
        try {
            return LlamaRuntime.load(model, options);
        } finally {
            System.clearProperty(LlamaRuntime.VECTOR_DECODE_PROPERTY);
            System.clearProperty(LlamaRuntime.VECTOR_DECODE_THREADS_PROPERTY);
        }
    }
}
