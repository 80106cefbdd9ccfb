package io.ultralong.runtime.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.ultralong.runtime.kv.KvArena;

/**
 * Causal grouped-query attention of a chunk of new queries over the cached keys plus the chunk's own keys, as an
 * online softmax over KV blocks (running max m, running sum l, running weighted values acc), so the score matrix
 * is at most kvHeads x (groups*chunk) x block and never chunk x n.
 *
 * <p>GQA without repeat_kv: the query heads that share a KV head are folded into the row axis, q becomes
 * [kvHeads, groups*chunk, headDim] (row = g*chunk + t for query head kv*groups + g, HF's head order) and is
 * multiplied against [kvHeads, block, headDim] keys directly.
 *
 * <p>Scores and softmax statistics are float32 even when q, k and v are fp16 (on CUDA), as HF's eager attention
 * upcasts the softmax.
 */
final class BlockwiseAttention {

    private BlockwiseAttention() {
    }

    /**
     * @param q            [chunk, heads, headDim], RoPE applied
     * @param k            [chunk, kvHeads, headDim] the chunk's own keys, RoPE applied
     * @param v            [chunk, kvHeads, headDim]
     * @param arena      where the cached keys and values live
     * @param layer      which layer's keys and values to read
     * @param segments   the cached tokens, all at positions before the chunk: triples (slab, first row, end row)
     * @param stepTokens how many cached tokens one online-softmax step covers (at most)
     * @return [chunk, heads*headDim] in q's dtype
     */
    static NDArray attend(NDArray q, NDArray k, NDArray v, KvArena arena, int layer, long[] segments, int stepTokens) {
        Shape qs = q.getShape();
        int chunk = (int) qs.get(0);
        int heads = (int) qs.get(1);
        int headDim = (int) qs.get(2);
        int kvHeads = (int) k.getShape().get(1);
        int groups = heads / kvHeads;
        DataType dtype = q.getDataType();
        NDManager manager = q.getManager();
        // eager_attention_forward: scaling = head_dim ** -0.5, applied to q once instead of to every score block
        NDArray folded = q.reshape(chunk, kvHeads, groups, headDim).transpose(1, 2, 0, 3)
                .reshape(kvHeads, (long) groups * chunk, headDim).mul(1.0 / Math.sqrt(headDim));

        // the chunk's own keys first: every row has its diagonal unmasked, so the running max starts finite
        NDArray scores = scores(folded, k).reshape(kvHeads, groups, chunk, chunk)
                .add(causalMask(manager, chunk)).reshape(kvHeads, (long) groups * chunk, chunk);
        NDArray m = scores.max(new int[] {-1}, true);
        NDArray p = scores.sub(m).exp();
        NDArray l = p.sum(new int[] {-1}, true);
        NDArray acc = weightedValues(p, v, dtype);

        for (int piece = 0; piece < segments.length; piece += 3) {
            for (long first = segments[piece + 1]; first < segments[piece + 2]; first += stepTokens) {
                long last = Math.min(segments[piece + 2], first + stepTokens);
                NDArray[] next;
                try (NDScope step = new NDScope()) {
                    step.suppressNotUsedWarning();
                    // views of the arena; host-memory KV comes to q's device one step at a time (a no-op when it lives there)
                    NDArray blockKeys = arena.rows((int) segments[piece], layer, 0, first, last).toDevice(q.getDevice(), false);
                    NDArray blockValues = arena.rows((int) segments[piece], layer, 1, first, last).toDevice(q.getDevice(), false);
                    NDArray s = scores(folded, blockKeys);
                    NDArray mNew = m.maximum(s.max(new int[] {-1}, true));
                    NDArray correction = m.sub(mNew).exp();
                    NDArray pBlock = s.sub(mNew).exp();
                    NDArray lNew = l.mul(correction).add(pBlock.sum(new int[] {-1}, true));
                    NDArray accNew = acc.mul(correction).add(weightedValues(pBlock, blockValues, dtype));
                    next = new NDArray[] {mNew, lNew, accNew};
                    NDScope.unregister(next);
                }
                // the step scope is closed: hand the carried state to the enclosing scope, drop the old state now
                m.close();
                l.close();
                acc.close();
                for (NDArray carried : next) {
                    NDScope.register(carried);
                }
                m = next[0];
                l = next[1];
                acc = next[2];
            }
        }
        NDArray out = acc.div(l).toType(dtype, false);
        // [kvHeads, groups*chunk, headDim] -> [chunk, kvHeads, groups, headDim] -> [chunk, heads*headDim]
        return out.reshape(kvHeads, groups, chunk, headDim).transpose(2, 0, 1, 3).reshape(chunk, (long) heads * headDim);
    }

    /** q [kvHeads, rows, headDim] x keys [block, kvHeads, headDim] -> float32 scores [kvHeads, rows, block]. */
    private static NDArray scores(NDArray foldedQ, NDArray keys) {
        return foldedQ.matMul(keys.transpose(1, 2, 0)).toType(DataType.FLOAT32, false);
    }

    /** p [kvHeads, rows, block] (float32) x values [block, kvHeads, headDim] -> float32 [kvHeads, rows, headDim]. */
    private static NDArray weightedValues(NDArray p, NDArray values, DataType dtype) {
        return p.toType(dtype, false).matMul(values.transpose(1, 0, 2)).toType(DataType.FLOAT32, false);
    }

    /** [chunk, chunk]: 0 where key j <= query t, -inf above the diagonal (HF's causal mask within the chunk). */
    private static NDArray causalMask(NDManager manager, int chunk) {
        float[] mask = new float[chunk * chunk];
        for (int t = 0; t < chunk; t++) {
            for (int j = t + 1; j < chunk; j++) {
                mask[t * chunk + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return manager.create(mask, new Shape(chunk, chunk));
    }
}
