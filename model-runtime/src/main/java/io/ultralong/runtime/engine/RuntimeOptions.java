package io.ultralong.runtime.engine;

/**
 * How a {@link LlamaRuntime} runs a model.
 *
 * @param device               "cpu", "gpu" (= cuda:0), "cuda:N", or "auto" (the first GPU if DJL sees one, else the CPU)
 * @param prefillChunkTokens   tokens per forward pass during prefill; activations and attention scores scale with it
 * @param kvBlockTokens        tokens per KV cache block: the unit of fork sharing, export and import
 * @param attentionBlockTokens KV width of one step of the online-softmax attention loop; with the chunk it bounds
 *                             the score matrix (heads x chunk x block) so memory never grows with n^2
 */
public record RuntimeOptions(String device, int prefillChunkTokens, int kvBlockTokens, int attentionBlockTokens) {

    public RuntimeOptions {
        if (device == null || device.isBlank()) {
            throw new IllegalArgumentException("device must be cpu, gpu, cuda:N or auto");
        }
        if (prefillChunkTokens < 1 || kvBlockTokens < 1 || attentionBlockTokens < 1) {
            throw new IllegalArgumentException("prefillChunkTokens, kvBlockTokens and attentionBlockTokens must be >= 1: "
                    + prefillChunkTokens + ", " + kvBlockTokens + ", " + attentionBlockTokens);
        }
    }

    public static RuntimeOptions defaults() {
        return new RuntimeOptions("auto", 512, 256, 1024);
    }

    public RuntimeOptions withDevice(String newDevice) {
        return new RuntimeOptions(newDevice, prefillChunkTokens, kvBlockTokens, attentionBlockTokens);
    }

    public RuntimeOptions withPrefillChunkTokens(int tokens) {
        return new RuntimeOptions(device, tokens, kvBlockTokens, attentionBlockTokens);
    }

    public RuntimeOptions withKvBlockTokens(int tokens) {
        return new RuntimeOptions(device, prefillChunkTokens, tokens, attentionBlockTokens);
    }

    public RuntimeOptions withAttentionBlockTokens(int tokens) {
        return new RuntimeOptions(device, prefillChunkTokens, kvBlockTokens, tokens);
    }
}
