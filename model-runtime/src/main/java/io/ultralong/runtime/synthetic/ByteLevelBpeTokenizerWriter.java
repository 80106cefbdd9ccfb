package io.ultralong.runtime.synthetic;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Writes a small byte-level BPE {@code tokenizer.json} in the layout of Llama 3's: the same
 * pre-tokenizer split pattern, GPT-2 byte-to-unicode alphabet, BPE merges, and the Llama 3.1 special
 * tokens placed after the regular vocabulary. Merges are learned deterministically from a built-in
 * corpus, so the same vocabulary size always gives the same file. Every byte string is encodable.
 */
public final class ByteLevelBpeTokenizerWriter {

    /** Llama 3's pre-tokenizer split pattern, as in its tokenizer.json. */
    public static final String LLAMA3_SPLIT_PATTERN =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** The Llama 3.1 special tokens, in id order, first one right after the regular vocabulary. */
    public static final List<String> SPECIAL_TOKENS = List.of(
            "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
            "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
            "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>");

    private static final String CORPUS = """
            The quick brown fox jumps over the lazy dog. A session holds the whole history of a stream:
            logs, transcripts and documents, in the order they arrived. The model reads every token of
            the context and answers the question. Errors and warnings in the application log are
            reported with their time stamps; the service restarted after the database connection was
            lost. What happened before the outage? The user asked for the passkey hidden in the text.
            [2026-01-01T00:00:00Z] worker-1: request completed in 12 ms with status 200 OK
            [2026-01-01T00:00:01Z] worker-2: ERROR timeout while reading partition 7 of the topic
            Das Modell liest den ganzen Kontext. Le modèle lit tout le contexte. 模型读取全部上下文。
            """;

    private ByteLevelBpeTokenizerWriter() {
    }

    /**
     * Writes {@code tokenizer.json} into {@code dir} with {@code vocabSize} ids in all: 256 byte
     * tokens, learned merges, then {@link #SPECIAL_TOKENS}.
     */
    public static void write(Path dir, int vocabSize) throws IOException {
        int merges = vocabSize - 256 - SPECIAL_TOKENS.size();
        if (merges < 0) {
            throw new IllegalArgumentException("vocabSize must be at least " + (256 + SPECIAL_TOKENS.size()));
        }
        Map<Integer, Character> byteToChar = byteToUnicode();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(byteToChar.get(b)), b);
        }
        List<String> mergeRules = learnMerges(byteToChar, vocab, merges);

        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
            ObjectNode token = added.addObject();
            token.put("id", 256 + merges + i);
            token.put("content", SPECIAL_TOKENS.get(i));
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", LLAMA3_SPLIT_PATTERN);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        ObjectNode byteLevel = steps.addObject();
        byteLevel.put("type", "ByteLevel");
        byteLevel.put("add_prefix_space", false);
        byteLevel.put("trim_offsets", true);
        byteLevel.put("use_regex", false);
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", true);
        decoder.put("trim_offsets", true);
        decoder.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", true);
        ObjectNode vocabNode = model.putObject("vocab");
        vocab.forEach(vocabNode::put);
        ArrayNode mergesNode = model.putArray("merges");
        mergeRules.forEach(mergesNode::add);
        json.writeValue(dir.resolve("tokenizer.json").toFile(), root);
    }

    /** Plain BPE training: repeatedly merge the most frequent adjacent pair (ties by first seen). */
    private static List<String> learnMerges(Map<Integer, Character> byteToChar, Map<String, Integer> vocab, int count) {
        Matcher matcher = Pattern.compile(LLAMA3_SPLIT_PATTERN).matcher(CORPUS);
        List<List<String>> words = new ArrayList<>();
        while (matcher.find()) {
            List<String> symbols = new ArrayList<>();
            for (byte b : matcher.group().getBytes(StandardCharsets.UTF_8)) {
                symbols.add(String.valueOf(byteToChar.get(b & 0xff)));
            }
            words.add(symbols);
        }
        List<String> merges = new ArrayList<>();
        while (merges.size() < count) {
            Map<String, Integer> pairCounts = new LinkedHashMap<>();
            for (List<String> word : words) {
                for (int i = 0; i + 1 < word.size(); i++) {
                    pairCounts.merge(word.get(i) + " " + word.get(i + 1), 1, Integer::sum);
                }
            }
            String best = null;
            int bestCount = 0;
            for (Map.Entry<String, Integer> e : pairCounts.entrySet()) {
                if (e.getValue() > bestCount && !vocab.containsKey(e.getKey().replace(" ", ""))) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best == null) {
                // Corpus exhausted: pad with merges of byte pairs so the vocabulary size is exact.
                best = fillerMerge(vocab, byteToChar, merges.size());
            }
            String[] parts = best.split(" ");
            String merged = parts[0] + parts[1];
            merges.add(best);
            vocab.put(merged, vocab.size());
            for (List<String> word : words) {
                for (int i = 0; i + 1 < word.size(); i++) {
                    if (word.get(i).equals(parts[0]) && word.get(i + 1).equals(parts[1])) {
                        word.set(i, merged);
                        word.remove(i + 1);
                    }
                }
            }
        }
        return merges;
    }

    private static String fillerMerge(Map<String, Integer> vocab, Map<Integer, Character> byteToChar, int seed) {
        for (int i = seed; ; i++) {
            String a = String.valueOf(byteToChar.get('a' + i % 26));
            String b = String.valueOf(byteToChar.get('a' + (i / 26) % 26));
            String c = String.valueOf(byteToChar.get('0' + (i / 676) % 10));
            String pair = i < 676 ? a + " " + b : a + b + " " + c;
            if (!vocab.containsKey(pair.replace(" ", "")) && vocab.containsKey(pair.split(" ")[0])) {
                return pair;
            }
        }
    }

    /** GPT-2's reversible byte -> printable unicode character table used by ByteLevel. */
    static Map<Integer, Character> byteToUnicode() {
        Map<Integer, Character> table = new HashMap<>();
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table.put(b, (char) (printable ? b : next++));
        }
        return table;
    }
}
