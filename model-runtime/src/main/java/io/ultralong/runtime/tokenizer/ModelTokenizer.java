package io.ultralong.runtime.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A model's own {@code tokenizer.json}, run by the HuggingFace tokenizers library through DJL.
 *
 * <p>DJL's defaults would silently cut every input to 512 tokens (a log line is the only sign), so
 * truncation and padding are switched off, and special tokens are never added implicitly: the chat
 * format places them itself.
 */
public final class ModelTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Integer> specialTokens;
    private final TokenizerConfig tokenizerConfig;

    private ModelTokenizer(HuggingFaceTokenizer tokenizer, Map<String, Integer> specialTokens,
            TokenizerConfig tokenizerConfig) {
        this.tokenizer = tokenizer;
        this.specialTokens = specialTokens;
        this.tokenizerConfig = tokenizerConfig;
    }

    /**
     * Loads {@code tokenizer.json} from a file, or from a model directory that holds one; the
     * {@code tokenizer_config.json} beside it is read when present.
     */
    public static ModelTokenizer load(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("No tokenizer.json at " + file);
        }
        try {
            HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
            Path configFile = file.resolveSibling("tokenizer_config.json");
            return new ModelTokenizer(tokenizer, readAddedTokens(file), TokenizerConfig.read(configFile));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read tokenizer " + file, e);
        }
    }

    private static Map<String, Integer> readAddedTokens(Path file) throws IOException {
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        Map<String, Integer> added = new HashMap<>();
        for (JsonNode token : root.path("added_tokens")) {
            added.put(token.path("content").asText(), token.path("id").asInt());
        }
        return Map.copyOf(added);
    }

    /** Token ids of {@code text}, no special tokens added, never truncated. */
    public int[] encode(String text) {
        Encoding encoding = tokenizer.encode(text, false, false);
        long[] ids = encoding.getIds();
        int[] result = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            result[i] = Math.toIntExact(ids[i]);
        }
        return result;
    }

    /** Text of {@code ids}; special tokens are kept when {@code skipSpecialTokens} is false. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            wide[i] = ids[i];
        }
        return tokenizer.decode(wide, skipSpecialTokens);
    }

    /** The id of an added (special) token such as {@code <|eot_id|>}, if the tokenizer has it. */
    public OptionalInt specialTokenId(String content) {
        Integer id = specialTokens.get(content);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The id of a special token that must exist; a clear error otherwise. */
    public int requireSpecialTokenId(String content) {
        return specialTokenId(content).orElseThrow(() ->
                new IllegalStateException("tokenizer.json has no special token " + content));
    }

    /** tokenizer_config.json beside tokenizer.json ({@link TokenizerConfig#ABSENT} without one). */
    public TokenizerConfig tokenizerConfig() {
        return tokenizerConfig;
    }

    /** The id of tokenizer_config.json's eos_token, when it names one this tokenizer has. */
    public OptionalInt eosTokenId() {
        return tokenizerConfig.eosToken().map(this::singleTokenId).orElse(OptionalInt.empty());
    }

    /** The id of tokenizer_config.json's bos_token, when it names one this tokenizer has. */
    public OptionalInt bosTokenId() {
        return tokenizerConfig.bosToken().map(this::singleTokenId).orElse(OptionalInt.empty());
    }

    /**
     * A plain prompt's ids: the bos token first when tokenizer_config.json asks for it (the default), as HF's
     * {@code tokenizer(text)} gives them. Chat prompts use the chat format instead, which places bos itself.
     */
    public int[] encodePrompt(String text) {
        int[] ids = encode(text);
        OptionalInt bos = bosTokenId();
        if (!tokenizerConfig.addBosToken() || bos.isEmpty()) {
            return ids;
        }
        int[] withBos = new int[ids.length + 1];
        withBos[0] = bos.getAsInt();
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    /** An added token's id, or the id of a text that the vocabulary holds as exactly one regular token. */
    private OptionalInt singleTokenId(String content) {
        OptionalInt special = specialTokenId(content);
        if (special.isPresent()) {
            return special;
        }
        int[] ids = encode(content);
        return ids.length == 1 ? OptionalInt.of(ids[0]) : OptionalInt.empty();
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
