package io.ultralong.runtime.cpu;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToIntFunction;

/**
 * One decode step of HF's LlamaForCausalLM on the CPU, in Java on the JDK's Vector API, reading libtorch's own
 * weight and KV arena memory in place (no copies): what a token costs is then the memory it reads. The TorchScript
 * path runs the same step through libtorch's MKL GEMVs and its flash kernel, which on this project's CPUs read at
 * half to a third of the memory's speed (BENCHMARKS.md); prefill (matrix-matrix work) stays there.
 *
 * <p>Used for float32 weights and an unquantised float32 KV arena on one CPU device, when the JVM runs with {@code
 * --add-modules jdk.incubator.vector}. The maths is LlamaForCausalLM's as in {@code llama_model.torchscript}: the
 * same RoPE tables (angles in float64, the attention factor applied before rounding to float32), grouped-query
 * attention over the cached rows plus the token's own, written into the arena first.
 *
 * <p>Parallel over the output rows of each projection and over KV heads (splitting a head's rows when there are
 * fewer heads than threads), on {@code threads} threads, the caller's included.
 */
public final class VectorDecoder implements AutoCloseable {

    private static final AtomicBoolean WARMED_UP = new AtomicBoolean();

    /** Rows attended between two online-softmax rescalings: 128 KiB of scores for 64 queries, in L2. */
    private static final int ATTENTION_BLOCK = 512;

    /** Whether the JVM has the Vector API module: the launcher must pass {@code --add-modules jdk.incubator.vector}. */
    public static boolean available() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    /**
     * The model's float32 tensors as direct buffers over libtorch's memory: matrices row-major [out, in] (HF's
     * Linear layout), q|k|v and gate|up stacked along out; norms copied to arrays.
     */
    public record Weights(ByteBuffer embedTokens, List<Layer> layers, float[] finalNorm, ByteBuffer lmHead) { }

    /** One decoder layer's weights. */
    public record Layer(float[] inputNorm, ByteBuffer qkv, ByteBuffer o, float[] postNorm, ByteBuffer gateUp,
                        ByteBuffer down) { }

    /** The model's shape, from config.json. */
    public record Shape(int hidden, int intermediate, int heads, int kvHeads, int headDim, int vocab, double rmsNormEps,
                        double[] inverseFrequencies, double attentionFactor) { }

    private final Shape shape;
    private final Weights weights;
    private final Workers workers;
    private final int groups;
    // the step's activations, reused: one step at a time (step is synchronized)
    private final float[] x;
    private final float[] normed;
    private final float[] qkv;
    private final float[] attention;
    private final float[] projected;
    private final float[] gateUp;
    private final float[] activated;
    private final float[] logits;
    private final float[] cos;
    private final float[] sin;
    /** Per work unit (KV head x split): per query of the group, [max, sum, headDim accumulators]. */
    private final float[][][] states;
    private final float[][] scores;
    private final int splits;

    public VectorDecoder(Shape shape, Weights weights, int threads) {
        if (!available()) {
            throw new IllegalStateException("The JVM lacks jdk.incubator.vector (--add-modules jdk.incubator.vector)");
        }
        this.shape = shape;
        this.weights = weights;
        this.workers = new Workers(threads, "ul-cpu-decode");
        this.groups = shape.heads() / shape.kvHeads();
        int qWidth = shape.heads() * shape.headDim();
        int kvWidth = shape.kvHeads() * shape.headDim();
        this.x = new float[shape.hidden()];
        this.normed = new float[shape.hidden()];
        this.qkv = new float[qWidth + 2 * kvWidth];
        this.attention = new float[qWidth];
        this.projected = new float[shape.hidden()];
        this.gateUp = new float[2 * shape.intermediate()];
        this.activated = new float[shape.intermediate()];
        this.logits = new float[shape.vocab()];
        this.cos = new float[shape.headDim()];
        this.sin = new float[shape.headDim()];
        // at least two units per thread, so that a head's rows split when heads are few
        this.splits = Math.max(1, (2 * workers.parts() + shape.kvHeads() - 1) / shape.kvHeads());
        int units = shape.kvHeads() * splits;
        this.states = new float[units][groups][2 + shape.headDim()];
        this.scores = new float[workers.parts()][groups * ATTENTION_BLOCK];
        // compiled before the first request needs them, beside the rest of the start-up; compiled code serves every
        // runtime of the JVM, so once per JVM
        if (WARMED_UP.compareAndSet(false, true)) {
            Thread warmUp = new Thread(() -> VectorKernels.warmUp(shape.headDim(), groups), "ul-cpu-decode-warm-up");
            warmUp.setDaemon(true);
            warmUp.start();
        }
    }

    /** Threads a step runs on, the caller's included. */
    public int threads() {
        return workers.parts();
    }

    /**
     * Feeds {@code token} at {@code position}: writes its keys and values where {@code writes} says (one quadruple:
     * slab, row, 0, 1), attends the cached rows in {@code segments} (triples: slab, first row, end row) plus its own,
     * and returns the logits of the next token (a fresh array).
     *
     * @param slabs per slab, per layer: that layer's [2, kvHeads, rows, headDim] float32 memory; valid only for the
     *              duration of the call (the arena's read lock)
     */
    public synchronized float[] step(int token, long position, long[] segments, long[] writes, List<ByteBuffer[]> slabs) {
        int hidden = shape.hidden();
        int headDim = shape.headDim();
        int qWidth = shape.heads() * headDim;
        int kvWidth = shape.kvHeads() * headDim;
        embed(token);
        rope(position);
        long[] runs = withOwnRow(segments, writes);
        int writeSlab = (int) writes[0];
        int writeRow = (int) writes[1];
        for (int l = 0; l < weights.layers().size(); l++) {
            Layer layer = weights.layers().get(l);
            // input_layernorm, q|k|v, RoPE on q and k
            rmsNorm(x, layer.inputNorm(), normed);
            matVec(layer.qkv(), hidden, normed, qkv);
            for (int h = 0; h < shape.heads() + shape.kvHeads(); h++) {
                rotate(qkv, h * headDim);
            }
            // the token's key and value into the arena, then attention over the cache and itself
            ByteBuffer[] layerSlabs = new ByteBuffer[slabs.size()];
            for (int s = 0; s < layerSlabs.length; s++) {
                layerSlabs[s] = slabs.get(s)[l];
            }
            store(layerSlabs[writeSlab], writeRow, qWidth, kvWidth);
            attend(layerSlabs, runs);
            // o_proj, residual; post_attention_layernorm, gate|up, SiLU(gate) * up, down_proj, residual
            matVec(layer.o(), qWidth, attention, projected);
            VectorKernels.add(x, projected, hidden);
            rmsNorm(x, layer.postNorm(), normed);
            matVec(layer.gateUp(), hidden, normed, gateUp);
            VectorKernels.siluTimes(gateUp, shape.intermediate(), activated);
            matVec(layer.down(), shape.intermediate(), activated, projected);
            VectorKernels.add(x, projected, hidden);
        }
        rmsNorm(x, weights.finalNorm(), normed);
        matVec(weights.lmHead(), hidden, normed, logits);
        return logits.clone();
    }

    private void embed(int token) {
        ByteBuffer table = weights.embedTokens();
        int row = token * shape.hidden() * 4;
        for (int i = 0; i < x.length; i++) {
            x[i] = table.getFloat(row + 4 * i);
        }
    }

    /** LlamaRotaryEmbedding at one position, as the TorchScript rope(): float64 angles, times the attention factor. */
    private void rope(long position) {
        double[] inverse = shape.inverseFrequencies();
        int half = shape.headDim() / 2;
        for (int i = 0; i < half; i++) {
            double angle = position * inverse[i];
            cos[i] = cos[i + half] = (float) (Math.cos(angle) * shape.attentionFactor());
            sin[i] = sin[i + half] = (float) (Math.sin(angle) * shape.attentionFactor());
        }
    }

    /** apply_rotary_pos_emb on one head at {@code from}: x * cos + rotate_half(x) * sin. */
    private void rotate(float[] v, int from) {
        int half = shape.headDim() / 2;
        for (int i = 0; i < half; i++) {
            float a = v[from + i];
            float b = v[from + half + i];
            v[from + i] = a * cos[i] - b * sin[i];
            v[from + half + i] = b * cos[i + half] + a * sin[i + half];
        }
    }

    /** LlamaRMSNorm in float32: weight * (x * rsqrt(mean(x^2) + eps)). */
    private void rmsNorm(float[] in, float[] weight, float[] out) {
        float variance = VectorKernels.sumOfSquares(in, in.length) / in.length;
        float r = (float) (1.0 / Math.sqrt((float) (variance + shape.rmsNormEps())));
        VectorKernels.scale(in, r, weight, out, in.length);
    }

    /** {@code y = W x} over all of W's rows, split among the threads. */
    private void matVec(ByteBuffer w, int n, float[] in, float[] out) {
        int rows = out.length;
        int parts = workers.parts();
        workers.run((long) rows * n, part -> VectorKernels.matVec(w, n, in, out, (int) ((long) rows * part / parts),
                (int) ((long) rows * (part + 1) / parts)));
    }

    /** The token's keys and values ([kvHeads, headDim] each, after q in qkv) into row {@code row} of the slab. */
    private void store(ByteBuffer slab, int row, int qWidth, int kvWidth) {
        int headDim = shape.headDim();
        int rows = rowsOf(slab);
        for (int kv = 0; kv < 2; kv++) {
            for (int h = 0; h < shape.kvHeads(); h++) {
                int to = 4 * (((kv * shape.kvHeads() + h) * rows + row) * headDim);
                int from = qWidth + kv * kvWidth + h * headDim;
                for (int i = 0; i < headDim; i++) {
                    slab.putFloat(to + 4 * i, qkv[from + i]);
                }
            }
        }
    }

    /** Rows of a layer's [2, kvHeads, rows, headDim] float32 slab memory. */
    private int rowsOf(ByteBuffer slab) {
        return slab.capacity() / (2 * shape.kvHeads() * shape.headDim() * 4);
    }

    /**
     * Grouped-query attention of every query head over the runs (slab, first row, end row): each KV head's rows
     * split in {@code splits} parts, every part an online-softmax state per query, the parts then merged exactly.
     */
    private void attend(ByteBuffer[] layerSlabs, long[] runs) {
        int headDim = shape.headDim();
        long total = 0;
        for (int r = 0; r < runs.length; r += 3) {
            total += runs[r + 2] - runs[r + 1];
        }
        long rowsPerSplit = (total + splits - 1) / splits;
        float scale = (float) Math.pow(headDim, -0.5);
        int units = states.length;
        int parts = workers.parts();
        workers.run(2 * total * shape.kvHeads() * headDim, part -> {
            for (int unit = part; unit < units; unit += parts) {
                int head = unit / splits;
                int split = unit % splits;
                Runs mine = Runs.slice(runs, layerSlabs, split * rowsPerSplit, (split + 1) * rowsPerSplit, this::rowsOf);
                VectorKernels.attendHead(qkv, head * groups * headDim, groups, headDim, shape.kvHeads(), mine, head,
                        scale, states[unit], scores[part], ATTENTION_BLOCK);
            }
        });
        // merge each query's splits: out = sum(acc_s e^(m_s - M)) / sum(l_s e^(m_s - M))
        for (int head = 0; head < shape.kvHeads(); head++) {
            for (int g = 0; g < groups; g++) {
                float top = Float.NEGATIVE_INFINITY;
                for (int s = 0; s < splits; s++) {
                    top = Math.max(top, states[head * splits + s][g][0]);
                }
                int out = (head * groups + g) * headDim;
                Arrays.fill(attention, out, out + headDim, 0f);
                float sum = 0;
                for (int s = 0; s < splits; s++) {
                    float[] state = states[head * splits + s][g];
                    if (state[1] == 0f) {
                        continue;   // an empty split
                    }
                    float weight = (float) Math.exp(state[0] - top);
                    sum += state[1] * weight;
                    for (int i = 0; i < headDim; i++) {
                        attention[out + i] += state[2 + i] * weight;
                    }
                }
                for (int i = 0; i < headDim; i++) {
                    attention[out + i] /= sum;
                }
            }
        }
    }

    /** The cached runs followed by the written row, the row extending the last run when it continues it. */
    private static long[] withOwnRow(long[] segments, long[] writes) {
        int n = segments.length;
        if (n > 0 && segments[n - 3] == writes[0] && segments[n - 1] == writes[1]) {
            long[] runs = segments.clone();
            runs[n - 1]++;
            return runs;
        }
        long[] runs = Arrays.copyOf(segments, n + 3);
        runs[n] = writes[0];
        runs[n + 1] = writes[1];
        runs[n + 2] = writes[1] + 1;
        return runs;
    }

    /**
     * Runs of KV rows as the kernel reads them: per run, the layer's [2, kvHeads, rows, headDim] slab memory, its
     * rows (the K/V stride) and the rows attended, [from, to).
     */
    record Runs(ByteBuffer[] slabs, int[] rows, int[] from, int[] to) {

        /** Logical rows [from, to) of the runs' concatenation (triples: slab, first row, end row). */
        static Runs slice(long[] runs, ByteBuffer[] layerSlabs, long from, long to,
                ToIntFunction<ByteBuffer> rowsOf) {
            int count = 0;
            long at = 0;
            for (int r = 0; r < runs.length; r += 3) {
                long length = runs[r + 2] - runs[r + 1];
                if (at < to && at + length > from) {
                    count++;
                }
                at += length;
            }
            Runs slice = new Runs(new ByteBuffer[count], new int[count], new int[count], new int[count]);
            int i = 0;
            at = 0;
            for (int r = 0; r < runs.length; r += 3) {
                long length = runs[r + 2] - runs[r + 1];
                if (at < to && at + length > from) {
                    ByteBuffer slab = layerSlabs[(int) runs[r]];
                    slice.slabs[i] = slab;
                    slice.rows[i] = rowsOf.applyAsInt(slab);
                    slice.from[i] = (int) (runs[r + 1] + Math.max(0, from - at));
                    slice.to[i] = (int) (runs[r + 1] + Math.min(length, to - at));
                    i++;
                }
                at += length;
            }
            return slice;
        }
    }

    @Override
    public void close() {
        workers.close();
    }
}
