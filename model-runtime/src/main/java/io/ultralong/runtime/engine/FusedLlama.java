package io.ultralong.runtime.engine;

import java.util.ArrayList;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import io.ultralong.runtime.djl.RawViews;
import io.ultralong.runtime.djl.TorchScriptModule;
import io.ultralong.runtime.kv.BlockKvCache;
import io.ultralong.runtime.kv.KvArena;
import io.ultralong.runtime.placement.KvPrecision;
import io.ultralong.runtime.model.LlamaConfig;

/**
 * The forward pass as one call into the project's TorchScript module {@code llama_model.torchscript}: HF's
 * LlamaForCausalLM with attention through PyTorch's flash kernels ({@code _scaled_dot_product_flash_attention} on
 * CUDA, its {@code _for_cpu} twin on the CPU). The cached prefix (no mask, read in place from the KV arena, one
 * piece per run of consecutive blocks) and the chunk itself (causal) are attended separately and merged exactly
 * through the log-sum-exps the kernels return. RoPE tables are computed on the device, the chunk's keys and values
 * are written into the arena in the same call, and the logits stay on the device until asked for; sampling runs
 * there too and returns only the token id.
 *
 * <p>Precision: the weights' dtype is the compute dtype. bf16 weights and KV are raw bytes in Java and bfloat16
 * views in TorchScript; a quantised arena (int8, fp8) is dequantised inside the attention
 * ({@code attend_quantised}) and quantised as it is written.
 *
 * <p>{@link LlamaForward} (DJL ops, {@link BlockwiseAttention}) computes the same maths and is its reference.
 */
final class FusedLlama implements AutoCloseable {

    private final LlamaConfig config;
    private final TorchScriptModule module;
    private final NDManager manager;
    /** The weights as one TorchScript list, built once: per call only the handle is passed. */
    private final IValue weightList;
    private final IValue invFreq;
    private final NDArray invFreqArray;

    /** Host-tier KV is streamed to the device in pieces of at most this many tokens (two on the device at once). */
    private final int hostPieceTokens;

    /** {@code bf16}: the weights are bf16 bytes (see {@link LlamaWeights}). */
    FusedLlama(LlamaConfig config, LlamaWeights weights, NDManager parent, int hostPieceTokens, boolean bf16) {
        this.config = config;
        this.hostPieceTokens = hostPieceTokens;
        this.manager = parent.newSubManager();
        this.manager.setName("fused-llama");
        this.module = TorchScriptModule.load(FusedLlama.class, "llama_model.torchscript", "LlamaModel", manager);
        List<PtNDArray> list = new ArrayList<>();
        list.add((PtNDArray) weights.embedTokens);
        for (LlamaWeights.Layer layer : weights.layers) {
            for (NDArray w : new NDArray[] {layer.inputNorm(), layer.qkv(), layer.o(), layer.postNorm(), layer.gateUp(),
                    layer.down()}) {
                list.add((PtNDArray) w);
            }
        }
        list.add((PtNDArray) weights.finalNorm);
        list.add((PtNDArray) weights.lmHead);
        if (bf16) {
            // bfloat16 views of the bytes, made once: per call only the handle is passed
            try (RawViews views = new RawViews(manager)) {
                this.weightList = views.views(list.toArray(NDArray[]::new), RawViews.BFLOAT16);
            }
        } else {
            this.weightList = IValue.listFrom(list.toArray(PtNDArray[]::new));
        }
        // inv_freq in float64 on the device, once: every chunk's cos/sin table is computed there from it
        this.invFreqArray = manager.create(config.inverseFrequencies());
        this.invFreq = IValue.from((PtNDArray) invFreqArray);
    }

    /**
     * Runs the chunk, writes its keys and values into the cache's blocks, and returns the float32 logits of its last
     * position ([vocab], on the device, owned by {@code scope}'s caller), or null when {@code wantLogits} is false.
     */
    NDArray forward(int[] tokens, BlockKvCache cache, boolean wantLogits, NDManager scope) {
        long start = cache.length();
        cache.reserve(tokens.length);
        long[] ids = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            ids[i] = tokens[i];
        }
        NDArray logits;
        try (NDArray idArray = scope.create(ids);
                IValue idValue = IValue.from((PtNDArray) idArray);
                IValue piece = IValue.from((long) hostPieceTokens);
                IValue factor = IValue.from(config.ropeScaling().attentionFactor());
                IValue position = IValue.from(start);
                IValue eps = IValue.from(config.rmsNormEps());
                IValue heads = IValue.from((long) config.numAttentionHeads());
                IValue kvHeads = IValue.from((long) config.numKeyValueHeads());
                IValue want = IValue.from(wantLogits)) {
            KvArena arena = cache.arena();
            logits = arena.withSlabs(slabs -> {
                // where the blocks live, read under the arena's lock (a slab of another shard may come or go)
                long[] segments;
                long[] shards;
                if (arena.sharded()) {
                    BlockKvCache.ShardedSegments sharded = cache.shardedSegments();
                    segments = sharded.segments();
                    shards = sharded.shards();
                } else {
                    segments = cache.segments();
                    shards = new long[0];
                }
                try (IValue segmentList = IValue.listFrom(segments);
                        IValue writeList = IValue.listFrom(cache.writes(tokens.length));
                        IValue shardList = IValue.listFrom(shards)) {
                    if (arena.layout().quantised()) {
                        try (IValue fp8 = IValue.from(arena.layout().precision() == KvPrecision.FP8);
                                IValue out = module.call("forward", idValue, weightList, slabs, segmentList, writeList,
                                        invFreq, factor, position, eps, heads, kvHeads, want, shardList, piece,
                                        arena.scaleList(), fp8)) {
                            return out.toTensor((PtNDManager) scope);
                        }
                    }
                    try (IValue out = module.call("forward", idValue, weightList, slabs, segmentList, writeList, invFreq,
                            factor, position, eps, heads, kvHeads, want, shardList, piece)) {
                        return out.toTensor((PtNDManager) scope);
                    }
                }
            });
        }
        cache.commit(tokens.length);
        if (!wantLogits) {
            logits.close();
            return null;
        }
        return logits;
    }

    /** The next token id from device logits; {@code uniform} in [0, 1) is the caller's seeded draw. */
    int sample(NDArray logits, double temperature, int topK, double topP, double uniform) {
        try (IValue l = IValue.from((PtNDArray) logits); IValue t = IValue.from(temperature);
                IValue k = IValue.from((long) topK); IValue p = IValue.from(topP); IValue u = IValue.from(uniform);
                IValue token = module.call("sample", l, t, k, p, u)) {
            return Math.toIntExact(token.toLong());
        }
    }

    @Override
    public void close() {
        weightList.close();
        invFreq.close();
        module.close();
        manager.close();
    }
}
