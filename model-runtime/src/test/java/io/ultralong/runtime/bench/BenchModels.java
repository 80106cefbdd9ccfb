package io.ultralong.runtime.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ultralong.runtime.model.TensorDType;
import io.ultralong.runtime.synthetic.ByteLevelBpeTokenizerWriter;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;

/** The models the benchmarks run, written on first use into a directory that is then reused. */
enum BenchModels {

    /**
     * The layers of a ~100M Llama (hidden 768, 12 layers, 12 heads / 4 KV heads, intermediate 2048), YaRN factor 8
     * over 8192, f32: RuntimeBenchmark's model. Vocab 2048: the synthetic BPE writer learns merges in time that
     * grows steeply with the vocabulary; the layers carry the cost either way.
     */
    CPU_100M {
        @Override
        void write(Path dir) {
            SyntheticModelWriter.write(dir, new SyntheticModelSpec(768, 2048, 12, 12, 4, 2048, 8192, 8.0,
                    TensorDType.F32, 1, 7L));
        }
    },

    /**
     * UltraLong-8B's config.json (nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct: Llama-3.1-8B with YaRN factor
     * 128 over 8192, beta 4/1, rope_theta 500000, 1M positions), random bf16 weights, 16 GB, written on all cores
     * ({@link SyntheticModelWriter#writeWeightsStreaming}). The tokenizer is the synthetic 2048-id one: the benchmark
     * feeds token ids, and ids beyond it exist in the embedding and head as in any model.
     */
    ULTRALONG_8B {
        @Override
        void write(Path dir) throws IOException {
            SyntheticModelSpec spec = new SyntheticModelSpec(4096, 14336, 32, 32, 8, 128256, 8192, 128.0,
                    TensorDType.BF16, 1, 7L);
            Files.createDirectories(dir);
            ObjectMapper json = new ObjectMapper();
            ObjectNode c = json.createObjectNode();
            c.putArray("architectures").add("LlamaForCausalLM");
            c.put("attention_bias", false);
            c.put("attention_dropout", 0.0);
            c.put("bos_token_id", 128000);
            c.putArray("eos_token_id").add(128001).add(128008).add(128009);
            c.put("head_dim", 128);
            c.put("hidden_act", "silu");
            c.put("hidden_size", 4096);
            c.put("initializer_range", 0.02);
            c.put("intermediate_size", 14336);
            c.put("max_position_embeddings", 1048576);
            c.put("mlp_bias", false);
            c.put("model_type", "llama");
            c.put("num_attention_heads", 32);
            c.put("num_hidden_layers", 32);
            c.put("num_key_value_heads", 8);
            c.put("pretraining_tp", 1);
            c.put("rms_norm_eps", 1e-5);
            ObjectNode rope = c.putObject("rope_scaling");
            rope.put("beta_fast", 4);
            rope.put("beta_slow", 1);
            rope.put("factor", 128.0);
            rope.put("original_max_position_embeddings", 8192);
            rope.put("rope_type", "yarn");
            c.put("rope_theta", 500000.0);
            c.put("tie_word_embeddings", false);
            c.put("torch_dtype", "bfloat16");
            c.put("use_cache", true);
            c.put("vocab_size", 128256);
            json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json.partial").toFile(), c);
            ByteLevelBpeTokenizerWriter.write(dir, 2048);
            SyntheticModelWriter.writeWeightsStreaming(dir, spec);
            // config.json last: its presence marks a complete model directory
            Files.move(dir.resolve("config.json.partial"), dir.resolve("config.json"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    };

    abstract void write(Path dir) throws IOException;

    /** Writes the model into {@code dir} unless a config.json is already there; returns dir. */
    Path ensure(Path dir) {
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            long start = System.nanoTime();
            try {
                write(dir);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot write " + this + " into " + dir, e);
            }
            System.err.printf("wrote %s into %s in %.1f s%n", this, dir, (System.nanoTime() - start) / 1e9);
        }
        return dir;
    }

    static BenchModels parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "cpu-100m" -> CPU_100M;
            case "ultralong-8b" -> ULTRALONG_8B;
            default -> throw new IllegalArgumentException("Unknown model '" + name + "': cpu-100m or ultralong-8b");
        };
    }
}
