package io.ultralong.runtime.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** generation_config.json: eos ids (int or list) and sampling defaults. */
public record GenerationConfig(List<Integer> eosTokenIds, double temperature, double topP, int topK) {

    /** Reads the file, or falls back to the config's eos ids and greedy-friendly defaults when absent. */
    public static GenerationConfig read(Path file, List<Integer> fallbackEos) {
        if (!Files.isRegularFile(file)) {
            return new GenerationConfig(List.copyOf(fallbackEos), 1.0, 1.0, 0);
        }
        try {
            JsonNode n = new ObjectMapper().readTree(file.toFile());
            List<Integer> eos = n.has("eos_token_id") ? LlamaConfig.intOrList(n.get("eos_token_id")) : fallbackEos;
            return new GenerationConfig(List.copyOf(eos), n.path("temperature").asDouble(1.0),
                    n.path("top_p").asDouble(1.0), n.path("top_k").asInt(0));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        }
    }

    static List<Integer> copy(List<Integer> l) {
        return new ArrayList<>(l);
    }
}
