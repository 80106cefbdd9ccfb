package io.ultralong.runtime.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.generate.ChatFormat;
import io.ultralong.runtime.generate.GenerationParams;
import io.ultralong.runtime.generate.GenerationResult;
import io.ultralong.runtime.generate.StopTokens;
import io.ultralong.runtime.generate.TokenListener;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Streams a completion of a prompt to stdout; timings and the finish reason go to stderr. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Streams the completion of --prompt to stdout (greedy unless --temperature is above 0).")
final class GenerateCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(GenerateCommand.class);

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "model directory or HF hub cache directory")
    Path model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the prompt (the user message with --chat)")
    String prompt;

    @Option(names = "--chat", description = "wrap the prompt in the Llama 3.1 chat format (user turn, then the assistant header)")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "system message for --chat")
    String system;

    @Option(names = "--max-tokens", defaultValue = "256", description = "most tokens to generate (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1", description = "nucleus mass in (0, 1] (default: ${DEFAULT-VALUE})")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", description = "keep the K most likely tokens, 0 = off (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--seed", defaultValue = "0", description = "random seed for sampling (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    RuntimeOptionsMixin runtimeOptions;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        ModelDirectory directory = ModelDirectory.resolve(model);
        if (system != null && !chat) {
            throw new IllegalArgumentException("--system needs --chat");
        }
        // check the sampling options before minutes of loading, not after; stop ids come with the tokenizer
        new GenerationParams(maxTokens, temperature, topP, topK, seed, java.util.Set.of());
        try (LlamaRuntime runtime = LlamaRuntime.load(directory, runtimeOptions.toOptions());
                KvCache cache = runtime.newCache()) {
            ModelTokenizer tokenizer = runtime.tokenizer();
            GenerationParams params = new GenerationParams(maxTokens, temperature, topP, topK, seed,
                    StopTokens.of(directory, tokenizer));
            int[] promptIds = chat ? new ChatFormat(tokenizer).dialog(messages()) : tokenizer.encodePrompt(prompt);

            long start = System.nanoTime();
            float[] logits = runtime.prefill(cache, promptIds, LogitsCommand.progressLog(promptIds.length));
            long prefilled = System.nanoTime();
            PrintWriter out = spec.commandLine().getOut();
            // checkError flushes, so each piece shows at once; a closed stdout (e.g. piped into head) cancels
            // generation instead of decoding into the void
            TokenListener streamToStdout = (id, text) -> {
                out.print(text);
                return !out.checkError();
            };
            GenerationResult result = runtime.generate(cache, logits, params, streamToStdout);
            long done = System.nanoTime();
            out.println();
            out.flush();
            LOG.info("finish={} prompt={} tokens ({} tok/s prefill) completion={} tokens ({} tok/s decode) on {}",
                    result.finishReason(), promptIds.length, perSecond(promptIds.length, prefilled - start),
                    result.tokens().length, perSecond(result.tokens().length, done - prefilled), runtime.device());
        }
        return 0;
    }

    private List<ChatFormat.Message> messages() {
        List<ChatFormat.Message> messages = new ArrayList<>();
        if (system != null) {
            messages.add(new ChatFormat.Message("system", system));
        }
        messages.add(new ChatFormat.Message("user", prompt));
        return messages;
    }

    private static String perSecond(long count, long nanos) {
        return String.format("%.1f", count / Math.max(nanos / 1e9, 1e-9));
    }
}
