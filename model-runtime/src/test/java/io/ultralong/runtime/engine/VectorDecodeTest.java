package io.ultralong.runtime.engine;

import static io.ultralong.runtime.engine.LogitsAssert.relativeError;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import io.ultralong.runtime.generate.GenerationParams;
import io.ultralong.runtime.generate.TokenListener;
import io.ultralong.runtime.kv.KvBlockCodec;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.TensorDType;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Java decode kernels ({@code io.ultralong.runtime.cpu}) against the TorchScript path they stand in for, with
 * three threads, on two shapes: sizes that are no multiple of a vector (hidden 72, head_dim 20: every tail loop),
 * and head_dim 64 with hidden 512 (the wide loops: four rows per dot product, two queries per pass over the
 * values; projections big enough to be split among the threads). Attention is split among the threads, every KV
 * head's rows split and merged, once the cache is large enough (the two-slab case). Both have 3 query heads per KV head. The float64 reference tests run decode through the
 * kernels too (one thread); this holds the parallel and multi-run cases. "Same" is 1e-5 relative: only the order of
 * float32 sums differs.
 */
class VectorDecodeTest {

    private static final double SAME = 1e-5;
    private static final int BLOCK = 32;

    @TempDir
    static Path dir;
    static final Map<Integer, Pair> MODELS = new HashMap<>();

    /** The same model loaded twice: decode on the kernels, and through TorchScript. */
    record Pair(LlamaRuntime kernels, LlamaRuntime torch, int vocab) {

        void prefill(KvCache onKernels, KvCache onTorch, int[] tokens) {
            kernels.prefill(onKernels, tokens, PrefillListener.NONE);
            torch.prefill(onTorch, tokens, PrefillListener.NONE);
        }

        /** One token into each cache: the kernels' logits are the TorchScript step's. */
        void assertSameStep(KvCache onKernels, KvCache onTorch, int token, String what) {
            float[] expected = torch.prefill(onTorch, new int[] {token}, PrefillListener.NONE);
            assertThat(relativeError(kernels.prefill(onKernels, new int[] {token}, PrefillListener.NONE), expected))
                    .as(what).isLessThanOrEqualTo(SAME);
        }
    }

    /** By head_dim: 20 (hidden 72, 6 heads over 2 KV heads) or 64 (hidden 512, 6 heads over 2 KV heads). */
    static Pair model(int headDim) {
        return MODELS.computeIfAbsent(headDim, d -> {
            // head_dim 64: matrices big enough that most projections are split among the threads
            int hidden = d == 20 ? 72 : 512;
            int intermediate = d == 20 ? 200 : 1024;
            SyntheticModelSpec spec = new SyntheticModelSpec(hidden, intermediate, 2, 6, 2, 300, 1024, 32.0,
                    TensorDType.F32, 1, 7L + d, d, false);
            ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir.resolve("d" + d), spec));
            RuntimeOptions options = new RuntimeOptions("cpu", 4096, BLOCK, 64);
            return new Pair(DecodePaths.vectorKernels(model, options, 3), DecodePaths.torchScript(model, options),
                    spec.vocabSize());
        });
    }

    @AfterAll
    static void close() {
        MODELS.values().forEach(pair -> {
            pair.kernels().close();
            pair.torch().close();
        });
    }

    @ParameterizedTest(name = "head_dim {0}")
    @ValueSource(ints = {20, 64})
    void theKernelsAreInUse(int headDim) {
        assertThat(model(headDim).kernels().cpuDecodeThreads()).isEqualTo(3);
        assertThat(model(headDim).torch().cpuDecodeThreads()).isZero();
    }

    @ParameterizedTest(name = "head_dim {0}")
    @ValueSource(ints = {20, 64})
    void everyDecodeStepGivesTheTorchScriptLogits(int headDim) {
        Pair pair = model(headDim);
        int[] tokens = LogitsAssert.tokens(240, pair.vocab(), 3);
        try (KvCache a = pair.kernels().newCache(); KvCache b = pair.torch().newCache()) {
            pair.prefill(a, b, Arrays.copyOf(tokens, 200));
            for (int p = 200; p < tokens.length; p++) {
                pair.assertSameStep(a, b, tokens[p], "position " + p);
            }
            assertThat(a.length()).isEqualTo(240);
            // the kernels wrote the same keys and values: a block they filled exports as the TorchScript path's does
            assertThat(relativeError(floats(pair.kernels().exportBlock(a, 6)), floats(pair.torch().exportBlock(b, 6))))
                    .isLessThanOrEqualTo(SAME);
        }
    }

    @ParameterizedTest(name = "head_dim {0}")
    @ValueSource(ints = {20, 64})
    void aForkedAndTruncatedCacheIsReadWhereverItsBlocksLie(int headDim) {
        Pair pair = model(headDim);
        try (KvCache a = pair.kernels().newCache(); KvCache b = pair.torch().newCache()) {
            pair.prefill(a, b, LogitsAssert.tokens(130, pair.vocab(), 5));
            // the fork shares the first blocks and writes its own from row 70 on, elsewhere in the slab
            try (KvCache forkA = a.fork(); KvCache forkB = b.fork()) {
                forkA.truncate(70);
                forkB.truncate(70);
                int[] more = LogitsAssert.tokens(40, pair.vocab(), 9);
                for (int i = 0; i < more.length; i++) {
                    pair.assertSameStep(forkA, forkB, more[i], "fork, token " + i);
                }
                // and the original, whose last block the fork did not touch
                pair.assertSameStep(a, b, more[0], "original");
            }
        }
    }

    @Test
    void aContextOverTwoSlabsIsAttendedWhole() {
        Pair pair = model(64);
        try (KvCache a = pair.kernels().newCache(); KvCache b = pair.torch().newCache()) {
            // a slab holds 16,384 rows: this context's last blocks live in a second one
            pair.prefill(a, b, LogitsAssert.tokens(16_500, pair.vocab(), 13));
            for (int token : new int[] {1, 2, 3}) {
                pair.assertSameStep(a, b, token, "token " + token);
            }
        }
    }

    @ParameterizedTest(name = "head_dim {0}")
    @ValueSource(ints = {20, 64})
    void generationDrawsTheSameTokensAsTheDeviceSampler(int headDim) {
        Pair pair = model(headDim);
        int[] prompt = LogitsAssert.tokens(50, pair.vocab(), 21);
        for (GenerationParams params : new GenerationParams[] {GenerationParams.greedy(24, Set.of()),
                new GenerationParams(24, 0.8, 0.9, 40, 1234L, Set.of())}) {
            assertThat(generate(pair.kernels(), prompt, params)).as("%s", params)
                    .containsExactly(generate(pair.torch(), prompt, params)).hasSize(24);
        }
    }

    private static int[] generate(LlamaRuntime runtime, int[] prompt, GenerationParams params) {
        try (KvCache cache = runtime.newCache()) {
            float[] logits = runtime.prefill(cache, prompt, PrefillListener.NONE);
            return runtime.generate(cache, logits, params, TokenListener.NONE).tokens();
        }
    }

    /** An exported block's values (after its header, whose checksum differs with the last bit of any value). */
    private static float[] floats(byte[] block) {
        FloatBuffer values = ByteBuffer.wrap(block).position(KvBlockCodec.HEADER_BYTES).slice()
                .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] out = new float[values.remaining()];
        values.get(out);
        return out;
    }
}
