package io.ultralong.runtime.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The parts of HF's {@code tokenizer_config.json} the runtime uses: which special tokens mean begin and end of
 * sequence, and whether the tokenizer prepends the begin token itself.
 *
 * <p>Instruct checkpoints often name an eos here that generation_config.json lacks (Llama 3 Instruct's
 * {@code <|eot_id|>}), so eos ids are the union of both files. Tokens may be written as a plain string or as
 * an AddedToken object ({@code {"content": "<|eot_id|>", ...}}).
 *
 * @param bosToken the begin-of-sequence token's text, if named
 * @param eosToken the end-of-sequence token's text, if named
 * @param addBosToken {@code add_bos_token}: whether a plain (non-chat) prompt starts with the bos token. Absent
 *     means true, as HF's Llama tokenizers do (Llama 3's fast tokenizer has no such key and adds BOS in its
 *     post-processor, which {@link ModelTokenizer} switches off so that the chat format can place it)
 */
public record TokenizerConfig(Optional<String> bosToken, Optional<String> eosToken, boolean addBosToken) {

    public static final TokenizerConfig ABSENT = new TokenizerConfig(Optional.empty(), Optional.empty(), true);

    /** Reads {@code tokenizer_config.json}; {@link #ABSENT} when the file does not exist. */
    public static TokenizerConfig read(Path file) {
        if (!Files.isRegularFile(file)) {
            return ABSENT;
        }
        try {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            return new TokenizerConfig(tokenText(root.get("bos_token")), tokenText(root.get("eos_token")),
                    root.path("add_bos_token").asBoolean(true));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot parse " + file, e);
        }
    }

    private static Optional<String> tokenText(JsonNode node) {
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        String text = node.isObject() ? node.path("content").asText("") : node.asText("");
        return text.isEmpty() ? Optional.empty() : Optional.of(text);
    }
}
