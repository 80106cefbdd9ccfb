package io.ultralong.runtime.engine;

/**
 * How a {@link LlamaRuntime} runs a model.
 *
 * @param device               "cpu", "gpu" (= cuda:0), "cuda:N", or "auto" (the first GPU if DJL sees one, else the CPU)
 * @param prefillChunkTokens   tokens per forward pass during prefill; activations and attention scores scale with it
 * @param kvBlockTokens        tokens per KV cache block: the unit of fork sharing, export and import
 * @param attentionBlockTokens KV width of one step of the online-softmax attention loop; with the chunk it bounds
 *                             the score matrix (heads x chunk x block) so memory never grows with n^2
 * @param kvOnHost             keep KV blocks in host memory and copy each attention step's blocks to the GPU:
 *                             contexts beyond GPU memory (an 8B model's KV is 128 KiB per token in fp16: 1M
 *                             tokens are 128 GiB) at the price of a host-to-device copy of the whole KV per
 *                             forward pass; no effect on the CPU, where host and device are one
 * @param fusedAttention       attention through PyTorch's flash-attention kernels in a TorchScript module (the
 *                             default); false runs the blockwise online softmax in DJL ops, the reference the
 *                             fused path is tested against and a fallback
 * @param precision            the dtype weights and activations compute in: {@code auto} (on CUDA bf16 when the
 *                             checkpoint is bf16, else f16; f32 on the CPU), {@code f32}, {@code f16} or {@code bf16}
 *                             (bf16 needs the fused attention)
 * @param kvPrecision          how the KV cache is stored: {@code auto} (in the compute dtype), or quantised with a
 *                             scale per block, layer, K/V and KV head: {@code int8}, {@code fp8} (e4m3); quantised
 *                             KV needs the fused attention
 */
public record RuntimeOptions(String device, int prefillChunkTokens, int kvBlockTokens, int attentionBlockTokens,
                             boolean kvOnHost, boolean fusedAttention, String precision, String kvPrecision) {

    /** The values {@link #precision} accepts. */
    public static final java.util.List<String> PRECISIONS = java.util.List.of("auto", "f32", "f16", "bf16");
    /** The values {@link #kvPrecision} accepts. */
    public static final java.util.List<String> KV_PRECISIONS = java.util.List.of("auto", "int8", "fp8");

    public RuntimeOptions {
        if (device == null || device.isBlank()) {
            throw new IllegalArgumentException("device must be cpu, gpu, cuda:N or auto");
        }
        if (prefillChunkTokens < 1 || kvBlockTokens < 1 || attentionBlockTokens < 1) {
            throw new IllegalArgumentException("prefillChunkTokens, kvBlockTokens and attentionBlockTokens must be >= 1: "
                    + prefillChunkTokens + ", " + kvBlockTokens + ", " + attentionBlockTokens);
        }
        precision = precision == null ? "auto" : precision.trim().toLowerCase(java.util.Locale.ROOT);
        kvPrecision = kvPrecision == null ? "auto" : kvPrecision.trim().toLowerCase(java.util.Locale.ROOT);
        if (!PRECISIONS.contains(precision)) {
            throw new IllegalArgumentException("precision must be one of " + PRECISIONS + ", not '" + precision + "'");
        }
        if (!KV_PRECISIONS.contains(kvPrecision)) {
            throw new IllegalArgumentException("KV precision must be one of " + KV_PRECISIONS + ", not '" + kvPrecision + "'");
        }
        if (!fusedAttention && (precision.equals("bf16") || !kvPrecision.equals("auto"))) {
            throw new IllegalArgumentException("precision " + precision + " with KV " + kvPrecision
                    + " needs the fused attention: the blockwise attention runs f32/f16 only");
        }
    }

    /** Precision and KV precision automatic. */
    public RuntimeOptions(String device, int prefillChunkTokens, int kvBlockTokens, int attentionBlockTokens,
            boolean kvOnHost, boolean fusedAttention) {
        this(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost, fusedAttention, "auto", "auto");
    }

    /** Fused attention. */
    public RuntimeOptions(String device, int prefillChunkTokens, int kvBlockTokens, int attentionBlockTokens,
            boolean kvOnHost) {
        this(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost, true);
    }

    /** KV on the compute device, fused attention. */
    public RuntimeOptions(String device, int prefillChunkTokens, int kvBlockTokens, int attentionBlockTokens) {
        this(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, false, true);
    }

    public static RuntimeOptions defaults() {
        return new RuntimeOptions("auto", 512, 256, 1024);
    }

    public RuntimeOptions withDevice(String newDevice) {
        return new RuntimeOptions(newDevice, prefillChunkTokens, kvBlockTokens, attentionBlockTokens,
                kvOnHost, fusedAttention, precision, kvPrecision);
    }

    public RuntimeOptions withPrefillChunkTokens(int tokens) {
        return new RuntimeOptions(device, tokens, kvBlockTokens, attentionBlockTokens,
                kvOnHost, fusedAttention, precision, kvPrecision);
    }

    public RuntimeOptions withKvBlockTokens(int tokens) {
        return new RuntimeOptions(device, prefillChunkTokens, tokens, attentionBlockTokens,
                kvOnHost, fusedAttention, precision, kvPrecision);
    }

    public RuntimeOptions withAttentionBlockTokens(int tokens) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, tokens,
                kvOnHost, fusedAttention, precision, kvPrecision);
    }

    public RuntimeOptions withKvOnHost(boolean onHost) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, onHost, fusedAttention,
                precision, kvPrecision);
    }

    public RuntimeOptions withFusedAttention(boolean fused) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost, fused, precision,
                kvPrecision);
    }

    public RuntimeOptions withPrecision(String dtype) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost,
                fusedAttention, dtype, kvPrecision);
    }

    public RuntimeOptions withKvPrecision(String storage) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost,
                fusedAttention, precision, storage);
    }
}
