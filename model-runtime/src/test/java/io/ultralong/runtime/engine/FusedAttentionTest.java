package io.ultralong.runtime.engine;

import static io.ultralong.runtime.engine.LogitsAssert.relativeError;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;

import io.ultralong.runtime.kv.BlockKvCache;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fused path (PyTorch's flash kernels, pieces merged through their log-sum-exps) against its reference, the
 * blockwise online softmax in DJL ops, on the same calls: chunks, single-token decode steps, GQA (4 query heads on
 * 2 KV heads) and caches whose blocks are scattered over the arena, so attention reads several segments. Only the
 * order of floating-point sums differs: 1e-5 relative.
 */
class FusedAttentionTest {

    private static final double SAME = 1e-5;
    private static final int BLOCK = 8;

    @TempDir
    static Path dir;
    static LlamaRuntime fused;
    static LlamaRuntime blockwise;
    static int vocab;

    @BeforeAll
    static void load() {
        SyntheticModelSpec spec = SyntheticModelSpec.tiny();
        vocab = spec.vocabSize();
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, spec));
        RuntimeOptions options = new RuntimeOptions("cpu", 24, BLOCK, 16);
        fused = LlamaRuntime.load(model, options);
        blockwise = LlamaRuntime.load(model, options.withFusedAttention(false));
    }

    @AfterAll
    static void close() {
        fused.close();
        blockwise.close();
    }

    @Test
    void fusedAttentionMatchesBlockwiseOverScatteredBlocks() {
        int[] a = LogitsAssert.tokens(70, vocab, 5);
        int[] b = LogitsAssert.tokens(70, vocab, 6);
        try (BlockKvCache fa = (BlockKvCache) fused.newCache(); BlockKvCache fb = (BlockKvCache) fused.newCache();
                KvCache ra = blockwise.newCache(); KvCache rb = blockwise.newCache()) {
            // two sequences growing in turns take alternate blocks of the arena
            for (int offset = 0; offset < a.length; offset += 10) {
                int[] sliceA = Arrays.copyOfRange(a, offset, offset + 10);
                int[] sliceB = Arrays.copyOfRange(b, offset, offset + 10);
                assertSame(fused.prefill(fa, sliceA, PrefillListener.NONE), blockwise.prefill(ra, sliceA, PrefillListener.NONE));
                assertSame(fused.prefill(fb, sliceB, PrefillListener.NONE), blockwise.prefill(rb, sliceB, PrefillListener.NONE));
            }
            assertThat(fa.segments().length / 3).as("segments of a scattered cache").isGreaterThan(3);
            for (int step = 0; step < 12; step++) {
                int[] token = {(step * 37) % vocab};
                assertSame(fused.prefill(fa, token, PrefillListener.NONE), blockwise.prefill(ra, token, PrefillListener.NONE));
            }
            try (KvCache forkF = fa.fork(); KvCache forkR = ra.fork()) {
                int[] question = LogitsAssert.tokens(30, vocab, 7);
                assertSame(fused.prefill(forkF, question, PrefillListener.NONE),
                        blockwise.prefill(forkR, question, PrefillListener.NONE));
            }
        }
    }

    private static void assertSame(float[] fusedLogits, float[] blockwiseLogits) {
        assertThat(relativeError(fusedLogits, blockwiseLogits)).isLessThanOrEqualTo(SAME);
    }
}
