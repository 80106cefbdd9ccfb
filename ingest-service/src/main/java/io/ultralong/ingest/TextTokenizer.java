package io.ultralong.ingest;

/** Text to the model's token ids, no special tokens added and never truncated (the model's own tokenizer.json). */
@FunctionalInterface
public interface TextTokenizer {
    int[] encode(String text);
}
