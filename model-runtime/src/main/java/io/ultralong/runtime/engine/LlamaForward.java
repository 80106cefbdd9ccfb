package io.ultralong.runtime.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import io.ultralong.runtime.kv.BlockKvCache;
import io.ultralong.runtime.kv.KvArena;
import io.ultralong.runtime.model.LlamaConfig;

/**
 * The reference forward pass, op by op in DJL with {@link BlockwiseAttention}: what {@link FusedLlama} is tested
 * against, and the fallback when fused attention is off. One forward pass of HF {@code LlamaForCausalLM} over a
 * chunk of tokens at positions cache.length().., reading the cached keys and values and writing the chunk's own
 * into the cache's blocks. Each step below carries the name of the HF modeling_llama piece it mirrors. Every
 * intermediate array lives in an NDScope (one per chunk, one per layer, one per attention step) so nothing
 * outlives the call.
 */
final class LlamaForward {

    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final RotaryEmbedding rope;
    private final NDManager manager;
    private final DataType dtype;
    private final int attentionStepTokens;

    LlamaForward(LlamaConfig config, LlamaWeights weights, NDManager manager, DataType dtype, RuntimeOptions options) {
        this.config = config;
        this.weights = weights;
        this.rope = new RotaryEmbedding(config);
        this.manager = manager;
        this.dtype = dtype;
        this.attentionStepTokens = options.attentionBlockTokens();
    }

    /**
     * Runs the chunk, writes its keys and values into the cache's blocks in place, and returns the float32 logits
     * of the chunk's last position, or null when {@code wantLogits} is false (earlier chunks of a long prefill skip the LM head).
     */
    float[] forward(int[] tokens, BlockKvCache cache, boolean wantLogits) {
        int chunk = tokens.length;
        int layers = config.numHiddenLayers();
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads();
        int headDim = config.headDim();
        int inter = config.intermediateSize();
        long start = cache.length();
        // room for the chunk first (a shared partial last block is copied now), then where the past lives
        long[] writes = cache.reserve(chunk);
        long[] segments = cache.segments();
        KvArena arena = cache.arena();
        float[] logits = null;
        try (NDScope chunkScope = new NDScope()) {
            chunkScope.suppressNotUsedWarning();
            long[] ids = new long[chunk];
            for (int i = 0; i < chunk; i++) {
                ids[i] = tokens[i];
            }
            // LlamaModel.embed_tokens
            NDArray idArray = manager.create(ids);
            NDArray hidden = idArray.getNDArrayInternal()
                    .embedding(idArray, weights.embedTokens, SparseFormat.DENSE).singletonOrThrow();
            // LlamaRotaryEmbedding.forward for this chunk's positions only; [chunk, 1, headDim] broadcasts over heads
            float[][] cosSin = rope.cosSin(start, chunk);
            NDArray cos = manager.create(cosSin[0], new Shape(chunk, 1, headDim)).toType(dtype, false);
            NDArray sin = manager.create(cosSin[1], new Shape(chunk, 1, headDim)).toType(dtype, false);

            for (int layer = 0; layer < layers; layer++) {
                LlamaWeights.Layer w = weights.layers[layer];
                NDArray kept;
                try (NDScope layerScope = new NDScope()) {
                    layerScope.suppressNotUsedWarning();
                    // LlamaDecoderLayer: input_layernorm
                    NDArray x = rmsNorm(hidden, w.inputNorm());
                    // LlamaAttention: q_proj, k_proj, v_proj (one fused matmul), view(hidden_shape)
                    NDArray qkv = x.matMul(w.qkv());
                    long qWidth = (long) heads * headDim;
                    long kvWidth = (long) kvHeads * headDim;
                    NDArray q = qkv.get(new NDIndex(":, 0:{}", qWidth)).reshape(chunk, heads, headDim);
                    NDArray k = qkv.get(new NDIndex(":, {}:{}", qWidth, qWidth + kvWidth)).reshape(chunk, kvHeads, headDim);
                    NDArray v = qkv.get(new NDIndex(":, {}:", qWidth + kvWidth)).reshape(chunk, kvHeads, headDim);
                    // apply_rotary_pos_emb
                    q = applyRotary(q, cos, sin, headDim);
                    k = applyRotary(k, cos, sin, headDim);
                    // eager_attention_forward (blockwise, online softmax), then o_proj; k and v go into the cache's blocks
                    NDArray attn = BlockwiseAttention.attend(q, k, v, arena, layer, segments, attentionStepTokens);
                    arena.write(layer, k, v, writes);
                    // residual
                    NDArray h = hidden.add(attn.matMul(w.o()));
                    // post_attention_layernorm, LlamaMLP: down_proj(act_fn(gate_proj(x)) * up_proj(x)), residual
                    NDArray y = rmsNorm(h, w.postNorm());
                    NDArray gateUp = y.matMul(w.gateUp());
                    NDArray gate = gateUp.get(new NDIndex(":, 0:{}", inter));
                    NDArray up = gateUp.get(new NDIndex(":, {}:", inter));
                    NDArray act = gate.mul(gate.getNDArrayInternal().sigmoid()).mul(up);   // SiLU(gate) * up
                    NDArray next = h.add(act.matMul(w.down()));
                    kept = next;
                    NDScope.unregister(kept);
                }
                NDScope.register(kept);   // now owned by the chunk scope
                hidden.close();
                hidden = kept;
            }
            if (wantLogits) {
                // LlamaModel.norm, LlamaForCausalLM.lm_head: only the last position is ever needed
                NDArray last = hidden.get(new NDIndex("{}:", chunk - 1));
                logits = rmsNorm(last, weights.finalNorm).matMul(weights.lmHead)
                        .toType(DataType.FLOAT32, false).toFloatArray();
            }
        }
        cache.commit(chunk);
        return logits;
    }

    /** LlamaRMSNorm: in float32, weight * (x / sqrt(mean(x^2) + eps)).to(input dtype). */
    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray x32 = x.toType(DataType.FLOAT32, false);
        NDArray variance = x32.square().mean(new int[] {-1}, true);
        return x32.div(variance.add(config.rmsNormEps()).sqrt()).toType(dtype, false).mul(weight);
    }

    /** q * cos + rotate_half(q) * sin, rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2]): dim j pairs with j + d/2. */
    private static NDArray applyRotary(NDArray x, NDArray cos, NDArray sin, int headDim) {
        int half = headDim / 2;
        NDArray x1 = x.get(new NDIndex("..., 0:{}", half));
        NDArray x2 = x.get(new NDIndex("..., {}:", half));
        NDArray rotated = x2.neg().concat(x1, -1);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
