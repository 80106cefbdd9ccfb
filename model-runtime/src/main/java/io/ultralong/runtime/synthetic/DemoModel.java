package io.ultralong.runtime.synthetic;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.ultralong.runtime.model.TensorDType;

/**
 * The built-in demo model: a small Llama with random weights, generated deterministically, in the
 * real HF layout with YaRN scaling to 128K positions, so the whole pipeline can be tried anywhere.
 * Its answers are meaningless, and every place that shows an answer says so. Ingest and workers
 * without a configured model both write it, identically, so that they tokenize alike.
 */
public final class DemoModel {

    public static final String ID = "ultralong-demo-random-weights";
    public static final String WARNING = "No model configured: running the built-in DEMO model with RANDOM weights."
            + " Answers are meaningless. Set --model DIR (or UL_MODEL_DIR) to an UltraLong-8B directory.";

    /** hidden 128, 2 layers, 4 heads / 2 KV heads, byte-level vocab 512, YaRN x32 over 4,096 -> 131,072 positions. */
    public static final SyntheticModelSpec SPEC = new SyntheticModelSpec(128, 344, 2, 4, 2, 512, 4096, 32.0, TensorDType.F32, 1, 20261125L);

    private DemoModel() {
    }

    /** Writes the demo model into {@code dir} unless it is there already; returns {@code dir}. */
    public static Path ensure(Path dir) {
        try {
            if (Files.isRegularFile(dir.resolve("config.json")) && Files.isRegularFile(dir.resolve("tokenizer.json"))) {
                return dir;
            }
            Path staging = Files.createTempDirectory(dir.getParent() == null ? Path.of(".") : createParent(dir), "demo-model");
            SyntheticModelWriter.write(staging, SPEC);
            // A rename makes a half-written model impossible to pick up after a crash.
            Files.move(staging, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the demo model to " + dir, e);
        }
    }

    private static Path createParent(Path dir) throws IOException {
        return Files.createDirectories(dir.getParent());
    }
}
