package io.ultralong.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.ultralong.runtime.synthetic.ByteLevelBpeTokenizerWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;

/** A Llama-3-style byte-level BPE tokenizer.json (vocabulary 512) written once per test JVM. */
public final class TestTokenizer {

    private static Path directory;

    private TestTokenizer() {
    }

    /** The directory holding the generated tokenizer.json. */
    public static synchronized Path directory() {
        if (directory == null) {
            try {
                Path dir = Files.createTempDirectory("ul-ingest-tokenizer-");
                ByteLevelBpeTokenizerWriter.write(dir, 512);
                directory = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return directory;
    }

    public static ModelTokenizer load() {
        return ModelTokenizer.load(directory());
    }
}
