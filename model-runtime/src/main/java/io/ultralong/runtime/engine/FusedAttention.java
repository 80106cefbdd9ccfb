package io.ultralong.runtime.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import io.ultralong.runtime.djl.TorchScriptModule;
import io.ultralong.runtime.kv.KvArena;

/**
 * Attention through PyTorch's flash-attention kernels ({@code _scaled_dot_product_flash_attention} on CUDA, its
 * {@code _for_cpu} twin on the CPU), called from the project's TorchScript module {@code fused_attention.torchscript}:
 * one native call per layer instead of ~18 DJL ops per KV block. The cached prefix (no mask, read in place from the
 * KV arena, one piece per run of consecutive blocks) and the chunk itself (causal) are attended separately and
 * merged exactly through the log-sum-exps the kernels return; the chunk's keys and values are written into the
 * arena in the same call. {@link BlockwiseAttention} computes the same maths in DJL ops and is its reference.
 */
final class FusedAttention implements AutoCloseable {

    private final TorchScriptModule module;

    FusedAttention(NDManager manager) {
        this.module = TorchScriptModule.load(FusedAttention.class, "fused_attention.torchscript", "FusedAttention", manager);
    }

    /**
     * @param q        [chunk, heads, headDim], RoPE applied
     * @param k        [chunk, kvHeads, headDim] the chunk's own keys, RoPE applied
     * @param v        [chunk, kvHeads, headDim]
     * @param segments the cached tokens: triples (slab, first row, end row) of {@code arena}
     * @param writes   where the chunk's keys and values go: quadruples (slab, row, first chunk token, count)
     * @return [chunk, heads*headDim] in q's dtype, on q's manager
     */
    NDArray attend(NDArray q, NDArray k, NDArray v, KvArena arena, int layer, long[] segments, long[] writes) {
        double scale = 1.0 / Math.sqrt(q.getShape().get(2));   // eager_attention_forward: head_dim ** -0.5
        try (IValue qi = IValue.from((PtNDArray) q); IValue ki = IValue.from((PtNDArray) k);
                IValue vi = IValue.from((PtNDArray) v); IValue l = IValue.from(layer);
                IValue s = IValue.listFrom(segments); IValue w = IValue.listFrom(writes); IValue sc = IValue.from(scale);
                IValue out = module.call("forward", qi, ki, vi, arena.slabList(), l, s, w, sc)) {
            return out.toTensor((PtNDManager) q.getManager());
        }
    }

    @Override
    public void close() {
        module.close();
    }
}
