package io.ultralong.runtime.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Prefills a token list and prints the last position's logits: the check other implementations compare with. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Prints the last position's logits (float32, one per vocabulary id) as one JSON array on stdout.")
final class LogitsCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(LogitsCommand.class);

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "model directory or HF hub cache directory")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    TokenSource tokens;

    static final class TokenSource {
        @Option(names = "--tokens", paramLabel = "IDS", description = "comma-separated token ids, e.g. 1,2,3")
        String inline;

        @Option(names = "--tokens-file", paramLabel = "FILE", description = "file of token ids separated by commas or whitespace")
        Path file;

        int[] read() {
            if (inline != null) {
                return TokenIds.parse(inline, "--tokens");
            }
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("--tokens-file does not exist: " + file);
            }
            try {
                return TokenIds.parse(Files.readString(file), file.toString());
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read " + file, e);
            }
        }
    }

    @Mixin
    RuntimeOptionsMixin runtimeOptions;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        ModelDirectory directory = ModelDirectory.resolve(model);
        int[] ids = tokens.read();
        TokenIds.checkInVocabulary(ids, directory.config().vocabSize());
        try (LlamaRuntime runtime = LlamaRuntime.load(directory, runtimeOptions.toOptions());
                KvCache cache = runtime.newCache()) {
            long start = System.nanoTime();
            float[] logits = runtime.prefill(cache, ids, progressLog(ids.length));
            LOG.info("Prefilled {} on {} in {} ms", TokenIds.preview(ids), runtime.device(), (System.nanoTime() - start) / 1_000_000);
            PrintWriter out = spec.commandLine().getOut();
            out.println(jsonArray(logits));
            out.flush();
        }
        return 0;
    }

    static PrefillListener progressLog(int total) {
        return total <= 4096 ? PrefillListener.NONE
                : (done, all) -> LOG.info("prefill {}/{} tokens", done, all);
    }

    /** Float.toString is the shortest text that reads back to the same float, and valid JSON for finite values. */
    static String jsonArray(float[] values) {
        StringBuilder json = new StringBuilder(values.length * 12 + 2).append('[');
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new IllegalStateException("logit " + i + " is " + values[i] + ": not representable in JSON");
            }
            if (i > 0) {
                json.append(',');
            }
            json.append(values[i]);
        }
        return json.append(']').toString();
    }
}
