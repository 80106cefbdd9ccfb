package io.ultralong.runtime.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.IntStream;

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
    private final Set<Integer> addedTokenIds;
    private final List<String> addedTokenContents;

    private ModelTokenizer(HuggingFaceTokenizer tokenizer, Map<String, Integer> specialTokens,
            TokenizerConfig tokenizerConfig) {
        this.tokenizer = tokenizer;
        this.specialTokens = specialTokens;
        this.tokenizerConfig = tokenizerConfig;
        this.addedTokenIds = Set.copyOf(specialTokens.values());
        this.addedTokenContents = specialTokens.keySet().stream().filter(content -> !content.isEmpty()).toList();
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

    /**
     * Token ids of {@code text} as literal text, no special tokens added, never truncated. A string that
     * spells an added token ({@code <|eot_id|>}, {@code <|start_header_id|>}, ...) is text here, never
     * that token: records, questions and chat messages come from users, and a control token in them
     * would let a log line close the user turn and speak as the assistant (prompt injection).
     *
     * <p>The tokenizers library matches added tokens in the input before anything else and DJL 0.32
     * exposes no switch against it ({@code encode_special_tokens} is not reachable), so the text is cut
     * around each such string, and the string itself is encoded in two pieces that match nothing.
     * Text without such strings, almost all of it, costs one library call as before.
     */
    public int[] encode(String text) {
        int[] ids = encodeMatchingAddedTokens(text);
        return containsAddedToken(ids) ? encodeAroundAddedTokens(text) : ids;
    }

    private int[] encodeAroundAddedTokens(String text) {
        IntStream.Builder ids = IntStream.builder();
        int from = 0;
        while (from < text.length()) {
            int start = -1;
            String found = null;
            for (String content : addedTokenContents) {
                int at = text.indexOf(content, from);
                // The earliest occurrence, and the longest token there, as the library would match it.
                if (at >= 0 && (start < 0 || at < start || (at == start && content.length() > found.length()))) {
                    start = at;
                    found = content;
                }
            }
            int end = found == null ? text.length() : start;
            for (int id : encodeMatchingAddedTokens(text.substring(from, end))) {
                ids.add(id);
            }
            if (found == null) {
                break;
            }
            for (int id : encodeLiteralToken(found)) {
                ids.add(id);
            }
            from = start + found.length();
        }
        return ids.build().toArray();
    }

    /**
     * An added token's spelling as text: cut after its leading punctuation ({@code "<|"} + {@code
     * "eot_id|>"}), where a Llama 3 pre-tokenizer splits it anyway, so the ids are those of the same
     * characters in ordinary text. Each piece is encoded literally again in case it spells another token.
     */
    private int[] encodeLiteralToken(String content) {
        int cut = 0;
        while (cut < content.length() && !Character.isLetterOrDigit(content.charAt(cut))) {
            cut++;
        }
        if (cut == 0 || cut == content.length()) {
            cut = content.offsetByCodePoints(0, 1);
        }
        if (cut == content.length()) {
            return encodeMatchingAddedTokens(content);   // one character: nothing to split (no Llama token is one)
        }
        int[] head = encode(content.substring(0, cut));
        int[] tail = encode(content.substring(cut));
        int[] both = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, both, head.length, tail.length);
        return both;
    }

    private boolean containsAddedToken(int[] ids) {
        for (int id : ids) {
            if (addedTokenIds.contains(id)) {
                return true;
            }
        }
        return false;
    }

    /** What the library gives: added tokens spelled in the text become those tokens (a prompt the operator wrote). */
    private int[] encodeMatchingAddedTokens(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
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
     * {@code tokenizer(text)} gives them, added tokens spelled in the text included (the operator writes this
     * prompt; users' text goes through {@link #encode}). Chat prompts use the chat format, which places bos itself.
     */
    public int[] encodePrompt(String text) {
        int[] ids = encodeMatchingAddedTokens(text);
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
