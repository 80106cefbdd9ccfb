package io.ultralong.runtime.cpu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The arithmetic of a CPU decode step on the JDK's Vector API (AVX-512 or AVX2, whichever the CPU has). The only
 * class that names {@code jdk.incubator.vector}: it is loaded only when that module is in the JVM ({@link
 * VectorDecoder#available()}), and its methods take plain arrays and buffers, so nothing else needs the module.
 *
 * <p>Matrices and KV rows are libtorch's float32 tensors, read in place through direct buffers (little-endian, byte
 * offsets). Sums run in float32 like the TorchScript path's, in a different order: results agree within float32
 * rounding, not bit for bit.
 */
final class VectorKernels {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Lanes of the upper half of a vector and the shuffle that swaps the halves; the same for quarters. */
    private static final VectorMask<Float> UPPER = VectorMask.fromLong(S, (1L << L) - (1L << (L / 2)));
    private static final VectorShuffle<Float> HALVES = VectorShuffle.fromOp(S, i -> i ^ (L / 2));
    private static final VectorMask<Float> ODD_QUARTERS = VectorMask.fromLong(S, oddQuarters());
    private static final VectorShuffle<Float> QUARTERS = VectorShuffle.fromOp(S, i -> i ^ (L / 4));
    /** Butterfly steps that sum each quarter's lanes into its first lane. */
    private static final VectorShuffle<Float>[] QUARTER_FOLDS = quarterFolds();

    private static long oddQuarters() {
        long bits = 0;
        for (int i = 0; i < L; i++) {
            if ((i & (L / 4)) != 0) {
                bits |= 1L << i;
            }
        }
        return bits;
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] quarterFolds() {
        VectorShuffle<Float>[] folds = new VectorShuffle[Math.max(0, Integer.numberOfTrailingZeros(L) - 2)];
        for (int k = 0; k < folds.length; k++) {
            int distance = L / 8 >> k;
            folds[k] = VectorShuffle.fromOp(S, i -> i ^ distance);
        }
        return folds;
    }

    /**
     * Two vectors of partial sums into one: lanes outside {@code mask} hold x's lanes i + (i ^ d), lanes inside y's,
     * where {@code swap} is i -> i ^ d and {@code mask} the lanes with bit d set.
     */
    private static FloatVector fold(FloatVector x, FloatVector y, VectorMask<Float> mask, VectorShuffle<Float> swap) {
        return x.blend(y, mask).add(y.blend(x, mask).rearrange(swap));
    }

    private VectorKernels() {
    }

    /**
     * Runs every kernel on small data until the JIT has compiled them (a few hundred milliseconds of one thread):
     * Vector API code is far slower before that, which made a fresh JVM's first 16-token answer on the demo model
     * take 650 ms instead of 25-30.
     */
    static void warmUp(int headDim, int groups) {
        int rows = 64;
        ByteBuffer matrix = ByteBuffer.allocateDirect(rows * rows * 4).order(LE);
        ByteBuffer slab = ByteBuffer.allocateDirect(2 * rows * headDim * 4).order(LE);
        for (int i = 0; i < rows * rows; i++) {
            matrix.putFloat(4 * i, (i % 7) * 0.01f);
        }
        for (int i = 0; i < 2 * rows * headDim; i++) {
            slab.putFloat(4 * i, (i % 5) * 0.01f);
        }
        float[] x = new float[2 * rows];
        float[] y = new float[2 * rows];
        float[] q = new float[groups * headDim];
        float[][] state = new float[groups][2 + headDim];
        float[] scores = new float[groups * rows];
        VectorDecoder.Runs runs = new VectorDecoder.Runs(new ByteBuffer[] {slab}, new int[] {rows}, new int[] {0},
                new int[] {rows});
        for (int round = 0; round < 3_000; round++) {
            matVec(matrix, rows, x, y, 0, rows);
            scale(x, sumOfSquares(x, rows), x, y, rows);
            add(x, y, rows);
            siluTimes(x, rows, y);
            attendHead(q, 0, groups, headDim, 1, runs, 0, 0.125f, state, scores, rows);
        }
    }

    /**
     * {@code y[r] = W[r] . x} for rows [from, to) of a row-major [rows, n] matrix (HF's [out, in] Linear weight): one
     * sequential stream per row, four accumulators to hide the FMA latency. This is memory bound, and reads at twice
     * the rate of the MKL GEMV inside libtorch on the AMD CPUs where MKL takes its generic path.
     */
    static void matVec(ByteBuffer w, int n, float[] x, float[] y, int from, int to) {
        int wide = n - n % (4 * L);
        int narrow = n - n % L;
        for (int r = from; r < to; r++) {
            int row = r * n * 4;
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            int i = 0;
            for (; i < wide; i += 4 * L) {
                a0 = FloatVector.fromByteBuffer(S, w, row + 4 * i, LE).fma(FloatVector.fromArray(S, x, i), a0);
                a1 = FloatVector.fromByteBuffer(S, w, row + 4 * (i + L), LE).fma(FloatVector.fromArray(S, x, i + L), a1);
                a2 = FloatVector.fromByteBuffer(S, w, row + 4 * (i + 2 * L), LE)
                        .fma(FloatVector.fromArray(S, x, i + 2 * L), a2);
                a3 = FloatVector.fromByteBuffer(S, w, row + 4 * (i + 3 * L), LE)
                        .fma(FloatVector.fromArray(S, x, i + 3 * L), a3);
            }
            for (; i < narrow; i += L) {
                a0 = FloatVector.fromByteBuffer(S, w, row + 4 * i, LE).fma(FloatVector.fromArray(S, x, i), a0);
            }
            float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) {
                sum += w.getFloat(row + 4 * i) * x[i];
            }
            y[r] = sum;
        }
    }

    /** Sum of squares of {@code x[0, n)}. */
    static float sumOfSquares(float[] x, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i < n - n % L; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            acc = v.fma(v, acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += x[i] * x[i];
        }
        return sum;
    }

    /** {@code out[i] = weight[i] * (x[i] * r)}: LlamaRMSNorm once its reciprocal root {@code r} is known. */
    static void scale(float[] x, float r, float[] weight, float[] out, int n) {
        int i = 0;
        for (; i < n - n % L; i += L) {
            FloatVector.fromArray(S, x, i).mul(r).mul(FloatVector.fromArray(S, weight, i)).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = weight[i] * (x[i] * r);
        }
    }

    /** {@code x[i] += y[i]}: a residual connection. */
    static void add(float[] x, float[] y, int n) {
        int i = 0;
        for (; i < n - n % L; i += L) {
            FloatVector.fromArray(S, x, i).add(FloatVector.fromArray(S, y, i)).intoArray(x, i);
        }
        for (; i < n; i++) {
            x[i] += y[i];
        }
    }

    /**
     * LlamaMLP's {@code act_fn(gate) * up} over {@code gateUp = [gate | up]} (each {@code n} long) into {@code out}:
     * SiLU(g) = g / (1 + e^-g).
     */
    static void siluTimes(float[] gateUp, int n, float[] out) {
        int i = 0;
        for (; i < n - n % L; i += L) {
            FloatVector g = FloatVector.fromArray(S, gateUp, i);
            FloatVector silu = g.div(g.neg().lanewise(VectorOperators.EXP).add(1f));
            silu.mul(FloatVector.fromArray(S, gateUp, n + i)).intoArray(out, i);
        }
        for (; i < n; i++) {
            float g = gateUp[i];
            out[i] = g / (1f + (float) Math.exp(-g)) * gateUp[n + i];
        }
    }

    /**
     * Attention of one KV head's query group over the keys and values of some runs of rows, one online-softmax state
     * per query: the flash-decoding split, to be merged with the other splits' states. Block by block: the block's
     * scores for every query, their exponentials, then the values weighted by them; the block's rows stay in L2
     * between the passes, so memory is read once.
     *
     * @param q       the query rows, {@code groups} of {@code headDim} from {@code qOffset} (RoPE applied)
     * @param runs    the rows to attend
     * @param head    the KV head
     * @param scale   softmax scale (head_dim^-0.5)
     * @param state   per query: [max, sum of exponentials, headDim output accumulators] (filled here)
     * @param scores  scratch, at least {@code groups * block} long
     * @param block   rows attended between two rescalings
     */
    static void attendHead(float[] q, int qOffset, int groups, int headDim, int kvHeads, VectorDecoder.Runs runs,
            int head, float scale, float[][] state, float[] scores, int block) {
        for (int g = 0; g < groups; g++) {
            Arrays.fill(state[g], 0f);
            state[g][0] = Float.NEGATIVE_INFINITY;
        }
        for (int run = 0; run < runs.slabs().length; run++) {
            ByteBuffer slab = runs.slabs()[run];
            int keys = 4 * head * runs.rows()[run] * headDim;
            int values = 4 * (kvHeads + head) * runs.rows()[run] * headDim;
            for (int start = runs.from()[run]; start < runs.to()[run]; start += block) {
                int count = Math.min(block, runs.to()[run] - start);
                int first = 4 * start * headDim;
                for (int g = 0; g < groups; g++) {
                    dots(slab, keys + first, count, headDim, q, qOffset + g * headDim, scale, scores, g * block);
                    softmaxBlock(state[g], scores, g * block, count);
                }
                // two queries per pass over the block's values: each value row loaded once for both
                int g = 0;
                for (; g + 1 < groups; g += 2) {
                    weightedSums(slab, values + first, count, headDim, scores, g * block, state[g], (g + 1) * block,
                            state[g + 1]);
                }
                if (g < groups) {
                    weightedSum(slab, values + first, count, headDim, scores, g * block, state[g]);
                }
            }
        }
    }

    /**
     * {@code out[at + t] = scale * (K[t] . q)} for {@code count} rows of {@code headDim} from byte {@code rows}. Four
     * rows at a time: their partial-sum vectors are folded into one (blends, lane swaps and adds) before the lanes
     * are summed, so the horizontal sums, the costly part (13 of 72 ms at 32K, measured), are shared by four rows.
     */
    private static void dots(ByteBuffer slab, int rows, int count, int headDim, float[] q, int qi, float scale,
            float[] out, int at) {
        int narrow = headDim - headDim % L;
        int stride = 4 * headDim;
        int t = 0;
        if (narrow == headDim && L >= 4) {
            for (; t + 3 < count; t += 4) {
                int a = rows + t * stride;
                FloatVector sa = FloatVector.zero(S);
                FloatVector sb = sa;
                FloatVector sc = sa;
                FloatVector sd = sa;
                for (int i = 0; i < headDim; i += L) {
                    FloatVector qv = FloatVector.fromArray(S, q, qi + i);
                    sa = FloatVector.fromByteBuffer(S, slab, a + 4 * i, LE).fma(qv, sa);
                    sb = FloatVector.fromByteBuffer(S, slab, a + stride + 4 * i, LE).fma(qv, sb);
                    sc = FloatVector.fromByteBuffer(S, slab, a + 2 * stride + 4 * i, LE).fma(qv, sc);
                    sd = FloatVector.fromByteBuffer(S, slab, a + 3 * stride + 4 * i, LE).fma(qv, sd);
                }
                // halves: a | b and c | d; then quarters: a, c, b, d; then each quarter summed into its first lane
                FloatVector folded = fold(fold(sa, sb, UPPER, HALVES), fold(sc, sd, UPPER, HALVES), ODD_QUARTERS,
                        QUARTERS);
                for (VectorShuffle<Float> swap : QUARTER_FOLDS) {
                    folded = folded.add(folded.rearrange(swap));
                }
                out[at + t] = scale * folded.lane(0);
                out[at + t + 1] = scale * folded.lane(L / 2);
                out[at + t + 2] = scale * folded.lane(L / 4);
                out[at + t + 3] = scale * folded.lane(3 * L / 4);
            }
        }
        for (; t < count; t++) {
            int row = rows + t * stride;
            FloatVector acc = FloatVector.zero(S);
            int i = 0;
            for (; i < narrow; i += L) {
                acc = FloatVector.fromByteBuffer(S, slab, row + 4 * i, LE).fma(FloatVector.fromArray(S, q, qi + i), acc);
            }
            float dot = acc.reduceLanes(VectorOperators.ADD);
            for (; i < headDim; i++) {
                dot += slab.getFloat(row + 4 * i) * q[qi + i];
            }
            out[at + t] = scale * dot;
        }
    }

    /** {@link #weightedSum} for two queries at once ({@code p} at {@code atA} and {@code atB}), sharing the loads. */
    private static void weightedSums(ByteBuffer slab, int rows, int count, int headDim, float[] p, int atA,
            float[] stateA, int atB, float[] stateB) {
        int stride = 4 * headDim;
        int wide = headDim - headDim % (4 * L);
        for (int i = 0; i < wide; i += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(S, stateA, 2 + i);
            FloatVector a1 = FloatVector.fromArray(S, stateA, 2 + i + L);
            FloatVector a2 = FloatVector.fromArray(S, stateA, 2 + i + 2 * L);
            FloatVector a3 = FloatVector.fromArray(S, stateA, 2 + i + 3 * L);
            FloatVector b0 = FloatVector.fromArray(S, stateB, 2 + i);
            FloatVector b1 = FloatVector.fromArray(S, stateB, 2 + i + L);
            FloatVector b2 = FloatVector.fromArray(S, stateB, 2 + i + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, stateB, 2 + i + 3 * L);
            int column = rows + 4 * i;
            for (int t = 0; t < count; t++) {
                FloatVector wa = FloatVector.broadcast(S, p[atA + t]);
                FloatVector wb = FloatVector.broadcast(S, p[atB + t]);
                int row = column + t * stride;
                FloatVector v0 = FloatVector.fromByteBuffer(S, slab, row, LE);
                FloatVector v1 = FloatVector.fromByteBuffer(S, slab, row + 4 * L, LE);
                FloatVector v2 = FloatVector.fromByteBuffer(S, slab, row + 8 * L, LE);
                FloatVector v3 = FloatVector.fromByteBuffer(S, slab, row + 12 * L, LE);
                a0 = v0.fma(wa, a0);
                a1 = v1.fma(wa, a1);
                a2 = v2.fma(wa, a2);
                a3 = v3.fma(wa, a3);
                b0 = v0.fma(wb, b0);
                b1 = v1.fma(wb, b1);
                b2 = v2.fma(wb, b2);
                b3 = v3.fma(wb, b3);
            }
            a0.intoArray(stateA, 2 + i);
            a1.intoArray(stateA, 2 + i + L);
            a2.intoArray(stateA, 2 + i + 2 * L);
            a3.intoArray(stateA, 2 + i + 3 * L);
            b0.intoArray(stateB, 2 + i);
            b1.intoArray(stateB, 2 + i + L);
            b2.intoArray(stateB, 2 + i + 2 * L);
            b3.intoArray(stateB, 2 + i + 3 * L);
        }
        weightedSumFrom(wide, slab, rows, count, headDim, p, atA, stateA);
        weightedSumFrom(wide, slab, rows, count, headDim, p, atB, stateB);
    }

    /**
     * {@code state[2..] += sum_t p[at + t] * V[t]} over {@code count} rows from byte {@code rows}: four vectors of
     * the output at a time held in registers across the rows (an accumulator in memory would be stored and reloaded
     * every row).
     */
    private static void weightedSum(ByteBuffer slab, int rows, int count, int headDim, float[] p, int at,
            float[] state) {
        int stride = 4 * headDim;
        int wide = headDim - headDim % (4 * L);
        for (int i = 0; i < wide; i += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(S, state, 2 + i);
            FloatVector a1 = FloatVector.fromArray(S, state, 2 + i + L);
            FloatVector a2 = FloatVector.fromArray(S, state, 2 + i + 2 * L);
            FloatVector a3 = FloatVector.fromArray(S, state, 2 + i + 3 * L);
            int column = rows + 4 * i;
            for (int t = 0; t < count; t++) {
                FloatVector w = FloatVector.broadcast(S, p[at + t]);
                int row = column + t * stride;
                a0 = FloatVector.fromByteBuffer(S, slab, row, LE).fma(w, a0);
                a1 = FloatVector.fromByteBuffer(S, slab, row + 4 * L, LE).fma(w, a1);
                a2 = FloatVector.fromByteBuffer(S, slab, row + 8 * L, LE).fma(w, a2);
                a3 = FloatVector.fromByteBuffer(S, slab, row + 12 * L, LE).fma(w, a3);
            }
            a0.intoArray(state, 2 + i);
            a1.intoArray(state, 2 + i + L);
            a2.intoArray(state, 2 + i + 2 * L);
            a3.intoArray(state, 2 + i + 3 * L);
        }
        weightedSumFrom(wide, slab, rows, count, headDim, p, at, state);
    }

    /** {@link #weightedSum} over the output columns from {@code first} on: one vector, then one lane at a time. */
    private static void weightedSumFrom(int first, ByteBuffer slab, int rows, int count, int headDim, float[] p, int at,
            float[] state) {
        int stride = 4 * headDim;
        int narrow = headDim - headDim % L;
        int i = first;
        for (; i < narrow; i += L) {
            FloatVector a = FloatVector.fromArray(S, state, 2 + i);
            for (int t = 0; t < count; t++) {
                a = FloatVector.fromByteBuffer(S, slab, rows + 4 * i + t * stride, LE)
                        .fma(FloatVector.broadcast(S, p[at + t]), a);
            }
            a.intoArray(state, 2 + i);
        }
        for (; i < headDim; i++) {
            float a = state[2 + i];
            for (int t = 0; t < count; t++) {
                a += p[at + t] * slab.getFloat(rows + 4 * i + t * stride);
            }
            state[2 + i] = a;
        }
    }

    /**
     * One query's online-softmax step over {@code count} new scores at {@code from}: the running max and sum are
     * updated, the output accumulators rescaled to the new max, and the scores replaced by their unnormalised
     * probabilities exp(score - max).
     */
    private static void softmaxBlock(float[] state, float[] scores, int from, int count) {
        FloatVector top = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < count - count % L; i += L) {
            top = top.max(FloatVector.fromArray(S, scores, from + i));
        }
        float max = top.reduceLanes(VectorOperators.MAX);
        for (; i < count; i++) {
            max = Math.max(max, scores[from + i]);
        }
        float previous = state[0];
        float newMax = Math.max(previous, max);
        FloatVector sum = FloatVector.zero(S);
        i = 0;
        for (; i < count - count % L; i += L) {
            FloatVector p = FloatVector.fromArray(S, scores, from + i).sub(newMax).lanewise(VectorOperators.EXP);
            p.intoArray(scores, from + i);
            sum = sum.add(p);
        }
        float total = sum.reduceLanes(VectorOperators.ADD);
        for (; i < count; i++) {
            float p = (float) Math.exp(scores[from + i] - newMax);
            scores[from + i] = p;
            total += p;
        }
        if (newMax > previous) {
            float rescale = previous == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp(previous - newMax);
            state[1] *= rescale;
            int n = state.length;
            int j = 2;
            for (; j < 2 + (n - 2) - (n - 2) % L; j += L) {
                FloatVector.fromArray(S, state, j).mul(rescale).intoArray(state, j);
            }
            for (; j < n; j++) {
                state[j] *= rescale;
            }
            state[0] = newMax;
        }
        state[1] += total;
    }
}
