package io.ultralong.runtime.engine;

import java.util.List;
import java.util.Locale;

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
 * @param placement            KV over several devices and the host tier ({@link KvPlacement}); its first device, when
 *                             it lists any, is the compute device
 * @param precision            the dtype weights and activations compute in: {@code auto} (on CUDA bf16 when the
 *                             checkpoint is bf16, else f16; f32 on the CPU), {@code f32}, {@code f16} or {@code bf16}
 *                             (bf16 needs the fused attention)
 * @param kvPrecision          how the KV cache is stored: {@code auto} (in the compute dtype), or quantised with a
 *                             scale per block, layer, K/V and KV head: {@code int8}, {@code fp8} (e4m3); quantised
 *                             KV needs the fused attention
 */
public record RuntimeOptions(String device, int prefillChunkTokens, int kvBlockTokens, int attentionBlockTokens,
                             boolean kvOnHost, boolean fusedAttention, KvPlacement placement, String precision,
                             String kvPrecision) {

    /** The values {@link #precision} accepts. */
    public static final List<String> PRECISIONS = List.of("auto", "f32", "f16", "bf16");
    /** The values {@link #kvPrecision} accepts. */
    public static final List<String> KV_PRECISIONS = List.of("auto", "int8", "fp8");

    public RuntimeOptions {
        if (device == null || device.isBlank()) {
            throw new IllegalArgumentException("device must be cpu, gpu, cuda:N or auto");
        }
        if (prefillChunkTokens < 1 || kvBlockTokens < 1 || attentionBlockTokens < 1) {
            throw new IllegalArgumentException("prefillChunkTokens, kvBlockTokens and attentionBlockTokens must be >= 1: "
                    + prefillChunkTokens + ", " + kvBlockTokens + ", " + attentionBlockTokens);
        }
        if (placement == null) {
            throw new IllegalArgumentException("placement must not be null (KvPlacement.SINGLE: one device)");
        }
        if (kvOnHost && !placement.equals(KvPlacement.SINGLE.withHostPieceTokens(placement.hostPieceTokens()))) {
            throw new IllegalArgumentException("kvOnHost keeps all KV in host memory: it cannot be combined with KV over "
                    + "several devices or a host tier (use hostKvBytes for the oldest blocks only)");
        }
        if (!placement.devices().isEmpty() && !placement.devices().get(0).equals(device)) {
            throw new IllegalArgumentException("The compute device " + device + " must be the first of the KV devices "
                    + placement.devices() + " (withDevices sets both)");
        }
        precision = precision == null ? "auto" : precision.trim().toLowerCase(Locale.ROOT);
        kvPrecision = kvPrecision == null ? "auto" : kvPrecision.trim().toLowerCase(Locale.ROOT);
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

    /** KV on one device, precision and KV precision automatic. */
    public RuntimeOptions(String device, int prefillChunkTokens, int kvBlockTokens, int attentionBlockTokens,
            boolean kvOnHost, boolean fusedAttention) {
        this(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost, fusedAttention, KvPlacement.SINGLE,
                "auto", "auto");
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
        return new RuntimeOptions(newDevice, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost, fusedAttention,
                placement.withDevices(List.of()), precision, kvPrecision);
    }

    public RuntimeOptions withPrefillChunkTokens(int tokens) {
        return new RuntimeOptions(device, tokens, kvBlockTokens, attentionBlockTokens, kvOnHost, fusedAttention, placement,
                precision, kvPrecision);
    }

    public RuntimeOptions withKvBlockTokens(int tokens) {
        return new RuntimeOptions(device, prefillChunkTokens, tokens, attentionBlockTokens, kvOnHost, fusedAttention, placement,
                precision, kvPrecision);
    }

    public RuntimeOptions withAttentionBlockTokens(int tokens) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, tokens, kvOnHost, fusedAttention, placement,
                precision, kvPrecision);
    }

    public RuntimeOptions withKvOnHost(boolean onHost) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, onHost, fusedAttention,
                placement, precision, kvPrecision);
    }

    public RuntimeOptions withFusedAttention(boolean fused) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost, fused, placement,
                precision, kvPrecision);
    }

    public RuntimeOptions withPrecision(String dtype) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost,
                fusedAttention, placement, dtype, kvPrecision);
    }

    public RuntimeOptions withKvPrecision(String storage) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost,
                fusedAttention, placement, precision, storage);
    }

    /**
     * KV spread over these devices in order (the first computes); {@code cpu,cpu,...} makes distinct shards of one
     * device. An empty list: KV on {@link #device()} alone.
     */
    public RuntimeOptions withDevices(List<String> devices) {
        return new RuntimeOptions(devices.isEmpty() ? device : devices.get(0), prefillChunkTokens, kvBlockTokens,
                attentionBlockTokens, kvOnHost, fusedAttention, placement.withDevices(devices), precision, kvPrecision);
    }

    public RuntimeOptions withPlacement(KvPlacement newPlacement) {
        return new RuntimeOptions(newPlacement.devices().isEmpty() ? device : newPlacement.devices().get(0),
                prefillChunkTokens, kvBlockTokens, attentionBlockTokens, kvOnHost, fusedAttention, newPlacement,
                precision, kvPrecision);
    }

    /** The devices KV lives on, in fill order: the placement's list, or the compute device alone. */
    public List<String> kvDevices() {
        return placement.devices().isEmpty() ? List.of(device) : placement.devices();
    }
}
