package io.ultralong.evaluation.haystack;

import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

import io.ultralong.runtime.tokenizer.ModelTokenizer;

/**
 * Counts record tokens with the served model's own {@code tokenizer.json}. Owns the tokenizer's
 * native handle and closes it.
 *
 * <p>The ingest template is {@code [{ts}] {source}: {text}\n} with absent parts left out; the
 * harness sends text-only records, so a record becomes {@code text + "\n"}. Filler sentences repeat
 * across a long haystack, so counts are memoised: a 1M-token haystack tokenizes each distinct
 * sentence once.
 */
public final class ModelTokenCounter implements TokenCounter, AutoCloseable {

    private final ModelTokenizer tokenizer;
    private final ConcurrentHashMap<String, Integer> counts = new ConcurrentHashMap<>();

    private ModelTokenCounter(ModelTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Loads {@code tokenizer.json} from a file or a model directory. */
    public static ModelTokenCounter load(Path tokenizerPath) {
        return new ModelTokenCounter(ModelTokenizer.load(tokenizerPath));
    }

    /** The text the platform tokenizes for a text-only record. */
    public static String templated(String text) {
        return text + "\n";
    }

    @Override
    public int recordTokens(String text) {
        return counts.computeIfAbsent(text, t -> tokenizer.encode(templated(t)).length);
    }

    /** Tokens of a free text (a question), without the record template. */
    public int textTokens(String text) {
        return tokenizer.encode(text).length;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
