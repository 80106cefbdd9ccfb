package io.ultralong.runtime.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.runtime.model.LlamaConfig;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.SafetensorsCheckpoint;
import io.ultralong.runtime.synthetic.ByteLevelBpeTokenizerWriter;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GGUF written from a synthetic HF model, read back byte by byte: llama.cpp's metadata keys with the model's
 * values, every tensor's name, shape and data, and the q/k row order that makes llama.cpp's adjacent-pair RoPE give
 * HF's attention scores. (That llama.cpp itself loads the file and matches the runtime's logits is checked by
 * {@code scripts/bench-llamacpp.sh}, which installs llama.cpp; the test suite stays offline.)
 */
class GgufWriterTest {

    @TempDir
    static Path dir;

    static SyntheticModelSpec spec = SyntheticModelSpec.tiny();
    static LlamaConfig config;
    static GgufFile gguf;

    @BeforeAll
    static void convert() {
        Path model = SyntheticModelWriter.write(dir.resolve("hf"), spec);
        config = ModelDirectory.resolve(model).config();
        gguf = GgufFile.read(GgufWriter.convert(model, dir.resolve("model.gguf")));
    }

    @Test
    void metadataCarriesTheLlamaHyperparametersAndYarnScaling() {
        assertThat(gguf.version).isEqualTo(3);
        assertThat(gguf.metadata)
                .containsEntry("general.architecture", "llama")
                .containsEntry("general.file_type", 0L)
                .containsEntry("llama.context_length", (long) spec.maxPositions())
                .containsEntry("llama.embedding_length", 64L)
                .containsEntry("llama.block_count", 2L)
                .containsEntry("llama.feed_forward_length", 176L)
                .containsEntry("llama.attention.head_count", 4L)
                .containsEntry("llama.attention.head_count_kv", 2L)
                .containsEntry("llama.rope.dimension_count", 16L)
                .containsEntry("llama.rope.freq_base", 10000.0)
                .containsEntry("llama.rope.scaling.type", "yarn")
                .containsEntry("llama.rope.scaling.factor", 32.0)
                .containsEntry("llama.rope.scaling.original_context_length", 128L)
                .containsEntry("llama.rope.scaling.yarn_beta_fast", 4.0)
                .containsEntry("llama.rope.scaling.yarn_beta_slow", 1.0);
        assertThat((Double) gguf.metadata.get("llama.attention.layer_norm_rms_epsilon")).isCloseTo(1e-5, within(1e-12));
        assertThat(spec.maxPositions()).isEqualTo(4096);
    }

    @Test
    void tokenizerHoldsTheVocabularyMergesAndControlTokensById() throws Exception {
        JsonNode tokenizer = new ObjectMapper().readTree(dir.resolve("hf/tokenizer.json").toFile());
        List<?> tokens = (List<?>) gguf.metadata.get("tokenizer.ggml.tokens");
        List<?> types = (List<?>) gguf.metadata.get("tokenizer.ggml.token_type");
        List<?> merges = (List<?>) gguf.metadata.get("tokenizer.ggml.merges");
        assertThat(gguf.metadata).containsEntry("tokenizer.ggml.model", "gpt2")
                .containsEntry("tokenizer.ggml.pre", "llama-bpe")
                .containsEntry("tokenizer.ggml.bos_token_id", (long) config.bosTokenId())
                .containsEntry("tokenizer.ggml.eos_token_id", (long) config.eosTokenIds().get(0));
        assertThat(tokens).hasSize(512);
        assertThat(types).hasSize(512);
        int firstSpecial = 512 - ByteLevelBpeTokenizerWriter.SPECIAL_TOKENS.size();
        assertThat(tokens.subList(firstSpecial, 512)).isEqualTo(ByteLevelBpeTokenizerWriter.SPECIAL_TOKENS);
        assertThat(types.subList(firstSpecial, 512)).allMatch(t -> t.equals(3L));
        assertThat(types.subList(0, firstSpecial)).allMatch(t -> t.equals(1L));
        // ids as tokenizer.json assigns them: a merged token and a GPT-2 byte character ("Ġ" is the space byte)
        tokenizer.path("model").path("vocab").fields().forEachRemaining(e ->
                assertThat(tokens.get(e.getValue().asInt())).isEqualTo(e.getKey()));
        assertThat(tokens.get(32)).isEqualTo("Ġ");
        assertThat(merges).hasSize(firstSpecial - 256);
        assertThat(merges.get(0)).isEqualTo(tokenizer.path("model").path("merges").get(0).asText());
    }

    @Test
    void everyTensorHasLlamaCppNameShapeAndAlignedData() {
        assertThat(gguf.tensors).hasSize(3 + 9 * spec.layers());
        assertThat(gguf.tensors.get("token_embd.weight").dims()).containsExactly(64, 512);
        assertThat(gguf.tensors.get("output.weight").dims()).containsExactly(64, 512);
        assertThat(gguf.tensors.get("output_norm.weight").dims()).containsExactly(64);
        assertThat(gguf.tensors.get("blk.1.attn_q.weight").dims()).containsExactly(64, 64);
        assertThat(gguf.tensors.get("blk.1.attn_k.weight").dims()).containsExactly(64, 32);
        assertThat(gguf.tensors.get("blk.1.attn_v.weight").dims()).containsExactly(64, 32);
        assertThat(gguf.tensors.get("blk.1.ffn_gate.weight").dims()).containsExactly(64, 176);
        assertThat(gguf.tensors.get("blk.1.ffn_down.weight").dims()).containsExactly(176, 64);
        assertThat(gguf.tensors.values()).allMatch(t -> t.type() == 0 && t.offset() % 32 == 0);
        long lastEnd = gguf.tensors.values().stream()
                .mapToLong(t -> t.offset() + 4L * java.util.Arrays.stream(t.dims()).reduce(1, (a, b) -> a * b))
                .max().orElseThrow();
        assertThat(gguf.fileSize()).isEqualTo(gguf.dataStart + GgufWriter.align(lastEnd));

        try (SafetensorsCheckpoint hf = SafetensorsCheckpoint.open(dir.resolve("hf"))) {
            assertThat(gguf.floats("token_embd.weight")).containsExactly(hf.readAsFloatArray("model.embed_tokens.weight"));
            assertThat(gguf.floats("blk.1.attn_v.weight")).containsExactly(hf.readAsFloatArray("model.layers.1.self_attn.v_proj.weight"));
            assertThat(gguf.floats("blk.0.ffn_down.weight")).containsExactly(hf.readAsFloatArray("model.layers.0.mlp.down_proj.weight"));
            assertThat(gguf.floats("output.weight")).containsExactly(hf.readAsFloatArray("lm_head.weight"));
            // q and k: the same rows, re-ordered within each head
            float[] q = gguf.floats("blk.0.attn_q.weight");
            float[] hfQ = hf.readAsFloatArray("model.layers.0.self_attn.q_proj.weight");
            assertThat(q).isNotEqualTo(hfQ);
            assertThat(sorted(q)).isEqualTo(sorted(hfQ));
        }
    }

    /**
     * The point of the permutation: q.k after llama.cpp's rotation of adjacent pairs (2i, 2i+1) on the GGUF rows equals
     * q.k after HF's rotate_half on the HF rows, for every query head against its KV head, at positions beyond the
     * original context where YaRN's frequencies apply. Without the permutation the scores differ.
     */
    @Test
    void llamaCppRopeOnPermutedWeightsGivesHfAttentionScores() {
        int hd = config.headDim();
        double[] inv = config.ropeScaling().inverseFrequencies(hd, config.ropeTheta());
        float[] x = new float[config.hiddenSize()];
        float[] y = new float[config.hiddenSize()];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
            y[i] = (float) random.nextGaussian();
        }
        try (SafetensorsCheckpoint hf = SafetensorsCheckpoint.open(dir.resolve("hf"))) {
            float[] hfQ = hf.readAsFloatArray("model.layers.1.self_attn.q_proj.weight");
            float[] hfK = hf.readAsFloatArray("model.layers.1.self_attn.k_proj.weight");
            float[] ggQ = gguf.floats("blk.1.attn_q.weight");
            float[] ggK = gguf.floats("blk.1.attn_k.weight");
            int group = config.numAttentionHeads() / config.numKeyValueHeads();
            int queryPosition = 3000;
            int keyPosition = 1234;
            double worst = 0;
            double unpermutedWorst = 0;
            for (int head = 0; head < config.numAttentionHeads(); head++) {
                int kvHead = head / group;
                double expected = dot(rotateHalf(project(hfQ, x, head, hd), inv, queryPosition),
                        rotateHalf(project(hfK, y, kvHead, hd), inv, keyPosition));
                double actual = dot(rotateAdjacent(project(ggQ, x, head, hd), inv, queryPosition),
                        rotateAdjacent(project(ggK, y, kvHead, hd), inv, keyPosition));
                double unpermuted = dot(rotateAdjacent(project(hfQ, x, head, hd), inv, queryPosition),
                        rotateAdjacent(project(hfK, y, kvHead, hd), inv, keyPosition));
                worst = Math.max(worst, Math.abs(actual - expected) / Math.max(1, Math.abs(expected)));
                unpermutedWorst = Math.max(unpermutedWorst, Math.abs(unpermuted - expected) / Math.max(1, Math.abs(expected)));
            }
            assertThat(worst).isLessThan(1e-9);
            assertThat(unpermutedWorst).isGreaterThan(1e-2);
        }
    }

    private static double[] project(float[] weight, float[] x, int head, int hd) {
        double[] out = new double[hd];
        for (int r = 0; r < hd; r++) {
            int row = head * hd + r;
            for (int c = 0; c < x.length; c++) {
                out[r] += (double) weight[row * x.length + c] * x[c];
            }
        }
        return out;
    }

    /** HF apply_rotary_pos_emb: element i pairs with i + hd/2. */
    private static double[] rotateHalf(double[] v, double[] inv, int position) {
        int half = v.length / 2;
        double[] out = new double[v.length];
        for (int i = 0; i < half; i++) {
            double cos = Math.cos(position * inv[i]);
            double sin = Math.sin(position * inv[i]);
            out[i] = v[i] * cos - v[i + half] * sin;
            out[i + half] = v[i + half] * cos + v[i] * sin;
        }
        return out;
    }

    /** ggml rope in normal mode (LLAMA_ROPE_TYPE_NORM, the llama architecture's): element 2i pairs with 2i + 1. */
    private static double[] rotateAdjacent(double[] v, double[] inv, int position) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length / 2; i++) {
            double cos = Math.cos(position * inv[i]);
            double sin = Math.sin(position * inv[i]);
            out[2 * i] = v[2 * i] * cos - v[2 * i + 1] * sin;
            out[2 * i + 1] = v[2 * i] * sin + v[2 * i + 1] * cos;
        }
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static float[] sorted(float[] v) {
        float[] copy = v.clone();
        java.util.Arrays.sort(copy);
        return copy;
    }
}
