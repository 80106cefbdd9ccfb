package io.ultralong.runtime.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code inspect} JSON for a synthetic model and for the real UltraLong-1M config (config.json alone). */
class InspectCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void syntheticModelShowsItsConfigRopeMemoryAndCheckpoint() throws Exception {
        SyntheticModelWriter.write(dir, SyntheticModelSpec.tiny());
        CliRun run = CliRun.of("inspect", "--model", dir.toString(), "--gpu-mem-gib", "0.001");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        JsonNode json = JSON.readTree(run.stdout());

        assertThat(json.at("/config/hidden_size").asInt()).isEqualTo(64);
        assertThat(json.at("/config/num_key_value_heads").asInt()).isEqualTo(2);
        assertThat(json.at("/config/head_dim").asInt()).isEqualTo(16);
        assertThat(json.at("/generation/eos_token_id").toString()).isEqualTo("[503,511]");
        assertThat(json.at("/generation/tokenizer_eos_token").asText()).isEqualTo("<|eot_id|>");
        assertThat(json.at("/rope/type").asText()).isEqualTo("yarn");
        assertThat(json.at("/rope/factor").asDouble()).isEqualTo(32.0);
        assertThat(json.at("/rope/beta_fast").asDouble()).isEqualTo(4.0);
        assertThat(json.at("/rope/attention_factor").asDouble()).isCloseTo(0.1 * Math.log(32) + 1, within(1e-12));
        double[] expected = ModelDirectory.resolve(dir).config().inverseFrequencies();
        assertThat(json.at("/rope/inv_freq")).hasSize(8);
        for (int i = 0; i < expected.length; i++) {
            assertThat(json.at("/rope/inv_freq/" + i).asDouble()).isEqualTo(expected[i]);
        }
        // embed + lm_head 2 x 512 x 64, per layer 2 norms + q,o 64x64 + k,v 32x64 + 3 MLP 176x64, final norm
        long parameters = 2L * 512 * 64 + 2 * (2 * 64 + 2 * 64 * 64 + 2 * 32 * 64 + 3 * 176 * 64) + 64;
        assertThat(json.at("/memory/parameters").asLong()).isEqualTo(parameters);
        assertThat(json.at("/memory/weight_bytes_fp16").asLong()).isEqualTo(parameters * 2);
        assertThat(json.at("/memory/kv_bytes_per_token_fp16").asLong()).isEqualTo(2L * 2 * 16 * 2 * 2);
        assertThat(json.at("/memory/kv_bytes_per_token_fp32").asLong()).isEqualTo(2L * 2 * 16 * 2 * 4);
        long gpuBytes = (long) (0.001 * (1L << 30));
        assertThat(json.at("/memory/tokens_fitting_in_gpu_mem").asLong()).isEqualTo((gpuBytes - parameters * 2) / 256);
        assertThat(json.at("/checkpoint/dtypes").toString()).isEqualTo("[\"F32\"]");
        assertThat(json.at("/checkpoint/tensor_bytes").asLong()).isEqualTo(parameters * 4);
        assertThat(json.at("/checkpoint/files").asInt()).isEqualTo(1);
    }

    @Test
    void ultraLong1mConfigAloneGivesTheDesignReferenceFigures() throws Exception {
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
                 "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
                 "num_key_value_heads": 8, "vocab_size": 128256, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                 "max_position_embeddings": 1048576, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
                 "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
                 "rope_scaling": {"rope_type": "yarn", "factor": 128.0, "original_max_position_embeddings": 8192,
                                  "beta_fast": 4, "beta_slow": 1}}
                """);
        CliRun run = CliRun.of("inspect", "--model", dir.toString(), "--gpu-mem-gib", "80");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        JsonNode json = JSON.readTree(run.stdout());

        assertThat(json.at("/rope/attention_factor").asDouble()).isCloseTo(1.4852030263919618, within(1e-15));
        assertThat(json.at("/rope/yarn_correction_range/0").asDouble()).isEqualTo(28.0);
        assertThat(json.at("/rope/yarn_correction_range/1").asDouble()).isEqualTo(35.0);
        assertThat(json.at("/rope/inv_freq/0").asDouble()).isEqualTo(1.0);
        assertThat(json.at("/rope/inv_freq/28").asDouble()).isCloseTo(0.0032114461, within(0.0032114461 * 1e-6));
        assertThat(json.at("/rope/inv_freq/63").asDouble()).isCloseTo(1.9180787e-08, within(1.9180787e-08 * 1e-6));
        assertThat(json.at("/memory/parameters").asLong()).isEqualTo(8_030_261_248L);
        assertThat(json.at("/memory/kv_bytes_per_token_fp16").asLong()).isEqualTo(128 * 1024);
        // DESIGN.md: after 16 GB of weights an 80 GB H100 holds ~0.5M tokens of fp16 KV
        assertThat(json.at("/memory/tokens_fitting_in_gpu_mem").asLong())
                .isEqualTo((80L * (1L << 30) - 2 * 8_030_261_248L) / (128 * 1024));
        assertThat(json.at("/config/eos_token_id").toString()).isEqualTo("[128001,128008,128009]");
        assertThat(json.get("checkpoint").isNull()).isTrue();
    }
}
