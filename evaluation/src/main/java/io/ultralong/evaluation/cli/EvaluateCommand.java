package io.ultralong.evaluation.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.evaluation.client.PlatformClient;
import io.ultralong.evaluation.haystack.FillerCorpus;
import io.ultralong.evaluation.haystack.HaystackBuilder;
import io.ultralong.evaluation.haystack.ModelTokenCounter;
import io.ultralong.evaluation.report.ReportWriter;
import io.ultralong.evaluation.report.TerminalTable;
import io.ultralong.evaluation.run.AccuracyGrid;
import io.ultralong.evaluation.run.EvaluationResults;
import io.ultralong.evaluation.run.EvaluationRunner;
import io.ultralong.evaluation.run.Progress;
import io.ultralong.evaluation.task.MultiKeyNiahTask;
import io.ultralong.evaluation.task.MultiValueNiahTask;
import io.ultralong.evaluation.task.PasskeyTask;
import io.ultralong.evaluation.task.SyntheticTask;
import io.ultralong.evaluation.task.VariableTrackingTask;
import io.ultralong.runtime.model.ModelResolver;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code java -jar evaluation.jar passkey|ruler ...}: long-context evaluation of a running platform.
 * Progress goes to stderr, the table to stdout, the files to {@code --out}.
 */
@Command(name = "evaluation", mixinStandardHelpOptions = true,
        description = "Long-context evaluation of a running UltraLong Stream platform through its REST API.",
        subcommands = {EvaluateCommand.Passkey.class, EvaluateCommand.Ruler.class})
public final class EvaluateCommand {

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        return new CommandLine(new EvaluateCommand()).setExecutionExceptionHandler((error, commandLine, parsed) -> {
            // An unreachable or refusing platform is an expected outcome: one line, not a stack trace.
            if (error instanceof PlatformClient.PlatformException) {
                commandLine.getErr().println("evaluation failed: " + error.getMessage());
                return 2;
            }
            throw error;
        });
    }

    /** What every subcommand needs: where the platform is, how to count tokens, where to write. */
    static final class Common {
        @Option(names = "--url", defaultValue = "http://localhost:8080", description = "Platform base URL (default: ${DEFAULT-VALUE}).")
        URI url;

        @Option(names = "--api-key", defaultValue = "${env:UL_API_KEY}",
                description = "Bearer API key (default: $UL_API_KEY; none when the platform runs without auth).")
        String apiKey;

        @Option(names = "--tokenizer", required = true,
                description = "The served model's tokenizer.json, its model directory, HF hub cache folder (models--org--name) or hub id"
                        + " org/name (config.json there gives the default maximum length).")
        Path tokenizer;

        @Option(names = "--lengths", split = ",",
                description = "Haystack lengths in tokens, e.g. 8k,16k,128k,1m (K = 1024). Default: 8K doubling up to the model's maximum.")
        List<String> lengths;

        @Option(names = "--max-length", description = "The model's context limit in tokens; default: max_position_embeddings of config.json beside the tokenizer.")
        String maxLength;

        @Option(names = "--reserve", defaultValue = "256",
                description = "Tokens kept free below the maximum for the prompt template, question and answer (default: ${DEFAULT-VALUE}).")
        long reserve;

        @Option(names = "--out", defaultValue = "evaluation-results", description = "Directory for results.json, heatmap.png, report.html (default: ${DEFAULT-VALUE}).")
        Path out;

        @Option(names = "--max-tokens", defaultValue = "32", description = "Answer budget per question (default: ${DEFAULT-VALUE}).")
        int maxTokens;

        @Option(names = "--seed", defaultValue = "42", description = "Seed of filler order and needles (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--batch-records", defaultValue = "1000", description = "Records per append request (default: ${DEFAULT-VALUE}).")
        int batchRecords;

        @Option(names = "--query-timeout", defaultValue = "PT30M",
                description = "Client-side limit of one query, ISO-8601 (default: ${DEFAULT-VALUE}); raise the gateway's ul.query.timeout to match.")
        Duration queryTimeout;

        @Option(names = "--session-prefix", description = "Session id prefix (default: eval-<random>).")
        String sessionPrefix;

        @Option(names = "--keep-sessions", description = "Leave the sessions on the platform instead of deleting them.")
        boolean keepSessions;

        @Option(names = "--progress-interval-ms", defaultValue = "1000", hidden = true)
        long progressIntervalMillis;

        List<Long> resolveLengths() throws IOException {
            Long max = maxLength != null ? Long.valueOf(LengthList.parseLength(maxLength)) : configMaxLength();
            List<Long> chosen = new ArrayList<>();
            if (lengths != null && !lengths.isEmpty()) {
                lengths.forEach(text -> chosen.add(LengthList.parseLength(text)));
            } else if (max != null) {
                chosen.addAll(LengthList.doublingUpTo(max));
            } else {
                throw new CommandLine.ParameterException(new CommandLine(this),
                        "Give --lengths, or --max-length, or a model directory with config.json as --tokenizer.");
            }
            if (max == null) {
                return chosen;
            }
            // A haystack as long as the model's window would leave no room for the question.
            long limit = max - reserve;
            return chosen.stream().map(length -> Math.min(length, limit)).distinct().toList();
        }

        /** A tokenizer.json as given; a model directory, hub cache folder or hub id resolved as the platform resolves it. */
        Path tokenizerSource() {
            return Files.isRegularFile(tokenizer) ? tokenizer
                    : ModelResolver.fromEnvironment().resolve(tokenizer.toString()).directory();
        }

        private Long configMaxLength() throws IOException {
            Path source = tokenizerSource();
            Path config = (Files.isDirectory(source) ? source : source.toAbsolutePath().getParent()).resolve("config.json");
            if (!Files.isRegularFile(config)) {
                return null;
            }
            JsonNode maxPositions = new ObjectMapper().readTree(config.toFile()).get("max_position_embeddings");
            return maxPositions != null && maxPositions.isNumber() ? maxPositions.asLong() : null;
        }

        int run(String command, String title, List<SyntheticTask> tasks, boolean byDepth) throws IOException {
            List<Long> resolved = resolveLengths();
            String prefix = sessionPrefix != null ? sessionPrefix
                    : "eval-" + Long.toString(new Random().nextLong() & Long.MAX_VALUE, 36).substring(0, 6);
            PrintStream stderr = System.err;
            EvaluationResults results;
            try (ModelTokenCounter counter = ModelTokenCounter.load(tokenizerSource())) {
                PlatformClient client = new PlatformClient(url, apiKey, queryTimeout);
                EvaluationRunner runner = new EvaluationRunner(client, new HaystackBuilder(FillerCorpus.bundled(), counter),
                        new Progress(stderr, progressIntervalMillis),
                        new EvaluationRunner.Settings(maxTokens, batchRecords, 4L << 20, keepSessions, prefix, seed));
                results = runner.run(command, url.toString(), tasks, resolved);
            }
            AccuracyGrid grid = byDepth ? results.depthGrid() : results.taskGrid();
            System.out.print(TerminalTable.render(title, grid, results.kvReuseByLength()));
            System.out.printf("overall accuracy %s%% over %d questions; KV reuse %s%%; model %s%s%n",
                    percent(results.accuracy()), results.probes().size(), percent(results.kvReuse()), results.model(),
                    results.demoModel() ? " (demo model: accuracy is meaningless)" : "");
            ReportWriter.write(out, title, results, grid);
            System.out.println("wrote " + out.resolve(ReportWriter.JSON) + ", " + out.resolve(ReportWriter.PNG)
                    + ", " + out.resolve(ReportWriter.HTML));
            return 0;
        }

        private static String percent(double value) {
            return String.format(Locale.ROOT, "%.1f", value * 100);
        }
    }

    @Command(name = "passkey", mixinStandardHelpOptions = true,
            description = "Passkey needle-in-a-haystack over lengths x depths, as in the UltraLong paper.")
    static final class Passkey implements Callable<Integer> {
        @Mixin
        Common common;

        @Option(names = "--depths", split = ",", defaultValue = "0,10,20,30,40,50,60,70,80,90,100",
                description = "Needle depths in percent (default: ${DEFAULT-VALUE}).")
        List<String> depths;

        @Option(names = "--layout", defaultValue = "LABELLED",
                description = "LABELLED: one session per length, one labelled needle per depth, KV reused across depths; "
                        + "SINGLE: the paper's one needle per haystack, a session per (length, depth). Default: ${DEFAULT-VALUE}.")
        PasskeyTask.Layout layout;

        @Override
        public Integer call() throws IOException {
            return common.run("passkey", "Passkey retrieval",
                    List.of(new PasskeyTask(LengthList.parseDepths(depths), layout)), true);
        }
    }

    @Command(name = "ruler", mixinStandardHelpOptions = true,
            description = "RULER-style synthetic tasks: multi-key NIAH, multi-value NIAH, variable tracking.")
    static final class Ruler implements Callable<Integer> {
        @Mixin
        Common common;

        @Option(names = "--tasks", split = ",", defaultValue = "multikey,multivalue,vartrack",
                description = "Tasks to run (default: ${DEFAULT-VALUE}).")
        List<String> tasks;

        @Option(names = "--keys", defaultValue = "8", description = "Multi-key: needles per haystack, each asked (default: ${DEFAULT-VALUE}).")
        int keys;

        @Option(names = "--value-keys", defaultValue = "2", description = "Multi-value: keys per haystack (default: ${DEFAULT-VALUE}).")
        int valueKeys;

        @Option(names = "--values", defaultValue = "4", description = "Multi-value: values per key (default: ${DEFAULT-VALUE}).")
        int values;

        @Option(names = "--chains", defaultValue = "4", description = "Variable tracking: chains per haystack (default: ${DEFAULT-VALUE}).")
        int chains;

        @Option(names = "--hops", defaultValue = "4", description = "Variable tracking: hops per chain (default: ${DEFAULT-VALUE}).")
        int hops;

        @Override
        public Integer call() throws IOException {
            List<SyntheticTask> chosen = new ArrayList<>();
            for (String task : tasks) {
                switch (task.strip()) {
                    case "multikey" -> chosen.add(new MultiKeyNiahTask(keys));
                    case "multivalue" -> chosen.add(new MultiValueNiahTask(valueKeys, values));
                    case "vartrack" -> chosen.add(new VariableTrackingTask(chains, hops));
                    default -> throw new CommandLine.ParameterException(new CommandLine(this),
                            "Unknown task " + task + "; choose from multikey, multivalue, vartrack.");
                }
            }
            return common.run("ruler", "RULER-style tasks", chosen, false);
        }
    }
}
