package io.ultralong.runtime.model;

import io.ultralong.runtime.rope.YarnRope;

/**
 * What {@code inspect} prints: the parsed config, rope parameters and memory figures. Parameter count is
 * computed from the config's expected tensor shapes, so no weights need to be present for the arithmetic.
 */
public record ModelInspection(LlamaConfig config, double[] inverseFrequencies, double attentionFactor,
        double[] yarnCorrectionRangeOrNull, long parameters, long fp16WeightBytes, long kvBytesPerTokenFp16,
        long kvBytesPerTokenFp32, Double gpuMemGib, Long tokensFittingInGpuMem) {

    /** gpuMemGibOrNull: GPU memory; tokens that fit = (G GiB - fp16 weights) / fp16 KV bytes per token. */
    public static ModelInspection of(LlamaConfig c, Double gpuMemGibOrNull) {
        long params = 0;
        for (long[] shape : ModelDirectory.expectedTensors(c).values()) {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            params += n;
        }
        long weightBytes = params * 2;
        long kv16 = c.kvBytesPerToken(2);
        Long fit = null;
        if (gpuMemGibOrNull != null) {
            long free = (long) (gpuMemGibOrNull * (1L << 30)) - weightBytes;
            fit = Math.max(0, free / kv16);
        }
        double[] range = c.ropeScaling() instanceof YarnRope y ? y.correctionRange(c.headDim(), c.ropeTheta()) : null;
        return new ModelInspection(c, c.inverseFrequencies(), c.ropeScaling().attentionFactor(), range, params,
                weightBytes, kv16, c.kvBytesPerToken(4), gpuMemGibOrNull, fit);
    }
}
