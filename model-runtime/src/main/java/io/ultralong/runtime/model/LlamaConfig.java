package io.ultralong.runtime.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.runtime.rope.RopeScaling;

/** The Llama fields of an HF config.json. */
public record LlamaConfig(String architecture, int hiddenSize, int intermediateSize, int numHiddenLayers,
        int numAttentionHeads, int numKeyValueHeads, int headDim, int vocabSize, double rmsNormEps,
        double ropeTheta, int maxPositionEmbeddings, boolean tieWordEmbeddings, String torchDtype,
        RopeScaling ropeScaling, int bosTokenId, List<Integer> eosTokenIds) {

    public static LlamaConfig read(Path configJson) {
        if (!Files.isRegularFile(configJson)) {
            throw new IllegalArgumentException("Missing config.json: " + configJson);
        }
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(configJson.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot parse " + configJson, e);
        }
        String arch = n.path("architectures").path(0).asText(n.path("model_type").asText(""));
        if (!arch.equals("LlamaForCausalLM") && !n.path("model_type").asText("").equals("llama")) {
            throw new IllegalArgumentException("Unsupported architecture '" + arch + "' in " + configJson
                    + " (only LlamaForCausalLM / model_type llama)");
        }
        int hidden = require(n, "hidden_size", configJson);
        int heads = require(n, "num_attention_heads", configJson);
        int maxPos = n.path("max_position_embeddings").asInt(2048);
        return new LlamaConfig(arch, hidden, require(n, "intermediate_size", configJson),
                require(n, "num_hidden_layers", configJson), heads,
                n.path("num_key_value_heads").asInt(heads),
                n.hasNonNull("head_dim") ? n.get("head_dim").asInt() : hidden / heads,
                require(n, "vocab_size", configJson), n.path("rms_norm_eps").asDouble(1e-6),
                n.path("rope_theta").asDouble(10000.0), maxPos, n.path("tie_word_embeddings").asBoolean(false),
                n.path("torch_dtype").asText("float32"), RopeScaling.fromConfig(n.get("rope_scaling"), maxPos),
                n.path("bos_token_id").asInt(-1),
                n.hasNonNull("eos_token_id") ? intOrList(n.get("eos_token_id")) : List.of());
    }

    private static int require(JsonNode n, String key, Path file) {
        if (!n.hasNonNull(key)) {
            throw new IllegalArgumentException("config.json lacks '" + key + "': " + file);
        }
        return n.get(key).asInt();
    }

    static List<Integer> intOrList(JsonNode n) {
        List<Integer> ids = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(x -> ids.add(x.asInt()));
        } else if (!n.isNull()) {
            ids.add(n.asInt());
        }
        return List.copyOf(ids);
    }

    /** layers * kvHeads * headDim * 2 (K and V) * bytes. */
    public long kvBytesPerToken(int bytesPerValue) {
        return (long) numHiddenLayers * numKeyValueHeads * headDim * 2L * bytesPerValue;
    }

    public double[] inverseFrequencies() {
        return ropeScaling.inverseFrequencies(headDim, ropeTheta);
    }
}
