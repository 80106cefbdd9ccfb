package io.ultralong.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Memory arithmetic with the real Llama-3.1-8B / UltraLong-1M sizes of DESIGN.md. */
class ModelInspectionTest {

    @Test
    void ultraLong8bFiguresOn80GiB(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), """
                {"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":4096,
                 "intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
                 "vocab_size":128256,"rms_norm_eps":1e-5,"rope_theta":500000.0,"max_position_embeddings":1048576,
                 "tie_word_embeddings":false,"torch_dtype":"bfloat16","bos_token_id":128000,
                 "eos_token_id":[128001,128008,128009],
                 "rope_scaling":{"rope_type":"yarn","factor":128,"original_max_position_embeddings":8192,
                                 "beta_fast":4,"beta_slow":1}}
                """);
        ModelInspection i = ModelInspection.of(ModelDirectory.resolve(dir).config(), 80.0);
        // 2 x 128256x4096 embeddings/head + 32 x 218,112,000 per layer + 4096 final norm
        assertThat(i.parameters()).isEqualTo(8_030_261_248L);
        assertThat(i.fp16WeightBytes()).isEqualTo(16_060_522_496L);
        assertThat(i.kvBytesPerTokenFp16()).isEqualTo(131_072L);
        assertThat(i.kvBytesPerTokenFp32()).isEqualTo(262_144L);
        assertThat(i.tokensFittingInGpuMem()).isEqualTo((80L * (1L << 30) - 16_060_522_496L) / 131_072L).isEqualTo(532_827L);
        assertThat(i.yarnCorrectionRangeOrNull()).containsExactly(28.0, 35.0);
        assertThat(i.attentionFactor()).isEqualTo(1.0 + 0.1 * Math.log(128));
        assertThat(i.config().eosTokenIds()).containsExactly(128001, 128008, 128009);
    }
}
