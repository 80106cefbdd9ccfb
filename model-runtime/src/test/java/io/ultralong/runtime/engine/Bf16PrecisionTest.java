package io.ultralong.runtime.engine;

import static io.ultralong.runtime.engine.LogitsAssert.relativeError;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.TensorDType;
import io.ultralong.runtime.reference.ReferenceLlama;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Computing in the checkpoint's own bf16 (weights and KV held as raw bytes, viewed as bfloat16 inside TorchScript)
 * against the float64 reference of the same bf16 weights, on the CPU.
 */
class Bf16PrecisionTest {

    private static final int TOKENS = 330;
    /**
     * bf16 keeps 8 significant bits: every matmul input, activation and cached key/value is rounded to a relative
     * 2^-9, and the tiny random model (large activations, no training to keep them tame) amplifies that. Measured
     * here over 330 positions: worst 6.8e-2, mean 2.2e-2 of the largest logit, against 1.3e-2 and 2.9e-3 when the
     * same model computes in f16 (three more mantissa bits, 8x smaller: rounding, not a bug). The bound per position,
     * and one on the mean that a systematic error would break.
     */
    static final double BF16_TOLERANCE = 0.1;
    static final double BF16_MEAN_TOLERANCE = 0.035;
    private static final int[] SLICES = {1, 7, 64, 3, 100, 1, 1, 40, 13, 1, 99};

    @TempDir
    static Path dir;
    static ModelDirectory model;
    static int[] tokens;
    static double[][] expected;

    @BeforeAll
    static void writeModel() {
        SyntheticModelSpec spec = SyntheticModelSpec.tiny().withDtype(TensorDType.BF16);
        model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, spec));
        tokens = LogitsAssert.tokens(TOKENS, spec.vocabSize(), 7);
        expected = ReferenceLlama.load(model).logits(tokens);
    }

    @Test
    void bf16ComputeMatchesFloat64ReferenceWithinBf16Tolerance() {
        try (LlamaRuntime runtime = LlamaRuntime.load(model, new RuntimeOptions("cpu", 48, 16, 32).withPrecision("bf16"));
                KvCache cache = runtime.newCache()) {
            assertThat(runtime.computeDtype()).isEqualTo("bf16");
            assertThat(runtime.kvDtype()).isEqualTo("bf16");
            // two bytes per parameter: the checkpoint's bytes, never a float32 copy
            assertThat(runtime.weightBytes()).isEqualTo(2 * parameters(runtime));
            assertThat(runtime.kvBytesPerToken()).isEqualTo(2L * 2 * 2 * 16 * 2);
            int position = 0;
            double worst = 0;
            int agree = 0;
            for (int slice : SLICES) {
                float[] logits = runtime.prefill(cache, Arrays.copyOfRange(tokens, position, position + slice),
                        PrefillListener.NONE);
                position += slice;
                double error = relativeError(logits, expected[position - 1]);
                assertThat(error).as("position %d", position - 1).isLessThanOrEqualTo(BF16_TOLERANCE);
                worst = Math.max(worst, error);
            }
            double sum = 0;
            // then one token at a time: each step reads every cached bf16 key and value
            try (KvCache decoding = runtime.newCache()) {
                int prefix = 200;
                runtime.prefill(decoding, Arrays.copyOf(tokens, prefix), PrefillListener.NONE);
                for (int p = prefix; p < TOKENS; p++) {
                    float[] logits = runtime.prefill(decoding, new int[] {tokens[p]}, PrefillListener.NONE);
                    double error = relativeError(logits, expected[p]);
                    assertThat(error).as("position %d", p).isLessThanOrEqualTo(BF16_TOLERANCE);
                    worst = Math.max(worst, error);
                    sum += error;
                    agree += argmax(logits) == argmax(expected[p]) ? 1 : 0;
                }
                System.out.printf("bf16 compute: worst relative error %.3g, mean %.3g, top-1 agreement %d/%d%n", worst,
                        sum / (TOKENS - prefix), agree, TOKENS - prefix);
                assertThat(sum / (TOKENS - prefix)).isLessThanOrEqualTo(BF16_MEAN_TOLERANCE);
            }
        }
    }

    /**
     * Tied embeddings: lm_head is the transposed view of the embedding's bytes, whose bytes run along its first axis;
     * an explicit head_dim. Also an f32 checkpoint rounded to bf16 on the device.
     */
    @Test
    void tiedEmbeddingsAndF32CheckpointsComputeInBf16() {
        for (SyntheticModelSpec spec : new SyntheticModelSpec[] {
                SyntheticModelSpec.tiny().withTiedEmbeddings(24).withDtype(TensorDType.BF16), SyntheticModelSpec.tiny()}) {
            ModelDirectory tied = ModelDirectory.resolve(SyntheticModelWriter.write(
                    dir.resolve(spec.tieWordEmbeddings() + "-" + spec.dtype()), spec));
            int[] ids = LogitsAssert.tokens(120, spec.vocabSize(), 9);
            double[][] reference = roundedToBf16(tied, spec).logits(ids);
            try (LlamaRuntime runtime = LlamaRuntime.load(tied, new RuntimeOptions("cpu", 48, 16, 32).withPrecision("bf16"));
                    KvCache cache = runtime.newCache()) {
                assertThat(runtime.weightBytes()).isEqualTo(2 * parameters(runtime));
                double sum = 0;
                for (int p = 0; p < ids.length; p++) {
                    double error = relativeError(runtime.prefill(cache, new int[] {ids[p]}, PrefillListener.NONE), reference[p]);
                    assertThat(error).as("%s position %d", spec, p).isLessThanOrEqualTo(BF16_TOLERANCE);
                    sum += error;
                }
                assertThat(sum / ids.length).as("%s mean", spec).isLessThanOrEqualTo(BF16_MEAN_TOLERANCE);
            }
        }
    }

    /**
     * The float64 reference of the weights the runtime computes with: a bf16 checkpoint's own, an f32 checkpoint
     * rounded to bf16 (round to nearest even, as PyTorch's cast) and written as a bf16 checkpoint.
     */
    private static ReferenceLlama roundedToBf16(ModelDirectory model, SyntheticModelSpec spec) {
        if (spec.dtype() == TensorDType.BF16) {
            return ReferenceLlama.load(model);
        }
        return ReferenceLlama.load(ModelDirectory.resolve(SyntheticModelWriter.write(dir.resolve("rounded"),
                spec.withDtype(TensorDType.BF16))));
    }

    /** The default on the CPU stays f32 for a bf16 checkpoint (exact widening), as the reference tests expect. */
    @Test
    void cpuDefaultsToF32AndFingerprintsTellPrecisionsApart() {
        RuntimeOptions options = new RuntimeOptions("cpu", 48, 16, 32);
        try (LlamaRuntime f32 = LlamaRuntime.load(model, options);
                LlamaRuntime bf16 = LlamaRuntime.load(model, options.withPrecision("bf16"))) {
            assertThat(f32.computeDtype()).isEqualTo("f32");
            assertThat(f32.kvDtype()).isEqualTo("f32");
            assertThat(f32.weightBytes()).isEqualTo(4 * parameters(f32));
            assertThat(bf16.fingerprint()).isNotEqualTo(f32.fingerprint());
        }
    }

    /**
     * Export keeps the stored format: a bf16 arena's block leaves as f32 (tag 1, exact widening) and comes back
     * bit for bit, so a cache rebuilt from exported blocks continues with the same logits.
     */
    @Test
    void bf16BlocksExportAsF32AndImportUnchanged() {
        try (LlamaRuntime runtime = LlamaRuntime.load(model, new RuntimeOptions("cpu", 48, 16, 32).withPrecision("bf16"));
                KvCache original = runtime.newCache(); KvCache restored = runtime.newCache()) {
            runtime.prefill(original, Arrays.copyOf(tokens, 64), PrefillListener.NONE);
            for (int b = 0; b < original.fullBlocks(); b++) {
                byte[] block = runtime.exportBlock(original, b);
                assertThat(ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).getInt(8)).as("dtype tag f32").isEqualTo(1);
                assertThat(block.length).isEqualTo(32 + 16 * runtime.kvBytesPerToken() * 2);
                runtime.importBlock(restored, block);
                assertThat(runtime.exportBlock(restored, b)).isEqualTo(block);
            }
            int[] next = Arrays.copyOfRange(tokens, 64, 70);
            assertThat(runtime.prefill(restored, next, PrefillListener.NONE))
                    .containsExactly(runtime.prefill(original, next, PrefillListener.NONE));
        }
    }

    private static long parameters(LlamaRuntime runtime) {
        var c = runtime.config();
        long perLayer = 2L * c.hiddenSize() + (long) c.hiddenSize() * c.headDim()
                * (c.numAttentionHeads() + 2L * c.numKeyValueHeads()) + (long) c.numAttentionHeads() * c.headDim() * c.hiddenSize()
                + 3L * c.hiddenSize() * c.intermediateSize();
        long embeddings = (c.tieWordEmbeddings() ? 1L : 2L) * c.vocabSize() * c.hiddenSize();
        return embeddings + c.hiddenSize() + c.numHiddenLayers() * perLayer;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
