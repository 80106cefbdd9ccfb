package io.ultralong.evaluation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.ultralong.evaluation.haystack.ModelTokenCounter;
import io.ultralong.runtime.synthetic.ByteLevelBpeTokenizerWriter;

/** One generated Llama-3-style tokenizer (vocabulary 512) per test JVM, as the tiny test model has. */
public final class TestTokenizer {

    private static Path directory;
    private static ModelTokenCounter counter;

    private TestTokenizer() {
    }

    public static synchronized Path directory() {
        if (directory == null) {
            try {
                directory = Files.createTempDirectory("eval-tokenizer");
                ByteLevelBpeTokenizerWriter.write(directory, 512);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return directory;
    }

    /** Shared for the JVM's lifetime; its native tokenizer is released at exit. */
    public static synchronized ModelTokenCounter counter() {
        if (counter == null) {
            counter = ModelTokenCounter.load(directory());
        }
        return counter;
    }
}
