package io.ultralong.runtime.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.runtime.generate.ChatFormat;
import io.ultralong.runtime.generate.StopTokens;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.reference.ReferenceLlama;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code logits} and {@code generate} run in-process on a tiny synthetic model, checked against the float64 reference. */
class RunModelCommandsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static ModelDirectory model;
    static ReferenceLlama reference;

    @BeforeAll
    static void writeModel() {
        model = ModelDirectory.resolve(SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny()));
        reference = ReferenceLlama.load(model);
    }

    /** max |a - b| / max |b| over the vocabulary. */
    private static double relativeError(JsonNode actual, double[] expected) {
        assertThat(actual.isArray()).isTrue();
        assertThat(actual).hasSize(expected.length);
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual.get(i).asDouble() - expected[i]));
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        return maxDiff / maxRef;
    }

    @Test
    void logitsOfAnInlineListAreOneJsonArrayMatchingTheReference() throws Exception {
        int[] tokens = {502, 1, 2, 3, 260, 301};
        CliRun run = CliRun.of("logits", "--model", model.root().toString(), "--device", "cpu",
                "--tokens", "502,1,2,3,260,301");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        assertThat(run.stdout().lines().count()).as("one line on stdout").isEqualTo(1);
        assertThat(relativeError(JSON.readTree(run.stdout()), reference.logits(tokens)[tokens.length - 1])).isLessThan(1e-4);
    }

    /** --precision reaches the runtime: bf16 compute is off f32 by bf16 rounding, within its tolerance (0.1). */
    @Test
    void logitsInBf16WithInt8KvStayWithinBf16ToleranceOfTheReference() throws Exception {
        int[] tokens = {502, 1, 2, 3, 260, 301};
        CliRun run = CliRun.of("logits", "--model", model.root().toString(), "--device", "cpu",
                "--tokens", "502,1,2,3,260,301", "--precision", "bf16", "--kv-precision", "int8");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        assertThat(relativeError(JSON.readTree(run.stdout()), reference.logits(tokens)[tokens.length - 1]))
                .isBetween(1e-4, 0.1);
    }

    @Test
    void logitsOfALongTokensFileInChunksMatchTheReferenceBeyondTheOriginalContext() throws Exception {
        SplittableRandom random = new SplittableRandom(17);
        int[] tokens = IntStream.generate(() -> random.nextInt(512)).limit(300).toArray();
        // commas, spaces and newlines mixed, as scripts write them
        String text = IntStream.range(0, tokens.length)
                .mapToObj(i -> tokens[i] + (i % 10 == 9 ? "\n" : i % 2 == 0 ? ", " : " "))
                .collect(Collectors.joining());
        Path file = Files.writeString(dir.resolve("tokens.txt"), text);
        CliRun run = CliRun.of("logits", "--model", model.root().toString(), "--device", "cpu", "--chunk", "64",
                "--tokens-file", file.toString());
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        assertThat(relativeError(JSON.readTree(run.stdout()), reference.logits(tokens)[tokens.length - 1])).isLessThan(1e-4);
        // the same with the KV cache kept in host memory
        CliRun onHost = CliRun.of("logits", "--model", model.root().toString(), "--device", "cpu", "--chunk", "64",
                "--kv-on-host", "--tokens-file", file.toString());
        assertThat(onHost.exitCode()).as(onHost.stderr()).isZero();
        assertThat(relativeError(JSON.readTree(onHost.stdout()), reference.logits(tokens)[tokens.length - 1])).isLessThan(1e-4);
    }

    @Test
    void logitsAndGenerateTakeADeviceListAndMatchTheReference() throws Exception {
        int[] tokens = IntStream.generate(new SplittableRandom(18)::nextInt).map(t -> Math.floorMod(t, 512)).limit(300).toArray();
        Path file = Files.writeString(dir.resolve("sharded-tokens.txt"),
                IntStream.of(tokens).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        // the tiny model's KV is 512 bytes per token: 6 blocks of 16 tokens per shard, so 300 tokens span all four
        CliRun logits = CliRun.of("logits", "--model", model.root().toString(), "--devices", "cpu,cpu,cpu,cpu",
                "--kv-block", "16", "--device-kv-bytes", String.valueOf(6 * 16 * 512), "--chunk", "64",
                "--tokens-file", file.toString());
        assertThat(logits.exitCode()).as(logits.stderr()).isZero();
        assertThat(relativeError(JSON.readTree(logits.stdout()), reference.logits(tokens)[tokens.length - 1])).isLessThan(1e-4);

        CliRun generate = CliRun.of("generate", "--model", model.root().toString(), "--devices", "cpu,cpu,cpu,cpu",
                "--kv-block", "2", "--device-kv-bytes", String.valueOf(3 * 2 * 512), "--prompt", "The service restarted after",
                "--max-tokens", "12");
        assertThat(generate.exitCode()).as(generate.stderr()).isZero();
        try (ModelTokenizer tokenizer = model.openTokenizer()) {
            int[] prompt = tokenizer.encodePrompt("The service restarted after");
            assertThat(prompt.length + 12).as("the prompt and answer outgrow the first shards").isGreaterThan(2 * 6);
            String expected = referenceCompletion(prompt, StopTokens.of(model, tokenizer), 12, tokenizer);
            assertThat(generate.stdout()).isEqualTo(expected + System.lineSeparator());
        }
    }

    /** Greedy tokens of the reference until a stop token or {@code max}, and the text they make. */
    private static String referenceCompletion(int[] prompt, Set<Integer> stops, int max, ModelTokenizer tokenizer) {
        int[] sequence = prompt.clone();
        int[] generated = new int[0];
        for (int i = 0; i < max; i++) {
            double[] logits = reference.logits(sequence)[sequence.length - 1];
            int best = 0;
            for (int id = 1; id < logits.length; id++) {
                if (logits[id] > logits[best]) {
                    best = id;
                }
            }
            if (stops.contains(best)) {
                break;
            }
            generated = IntStream.concat(IntStream.of(generated), IntStream.of(best)).toArray();
            sequence = IntStream.concat(IntStream.of(sequence), IntStream.of(best)).toArray();
        }
        String text = tokenizer.decode(generated, true);
        // an unfinished character at the very end is not streamed
        return text.replaceAll("\uFFFD+$", "");
    }

    @Test
    void generatePrintsTheGreedyCompletionOfAPlainPrompt() {
        CliRun run = CliRun.of("generate", "--model", model.root().toString(), "--device", "cpu",
                "--prompt", "The service restarted after", "--max-tokens", "12");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        try (ModelTokenizer tokenizer = model.openTokenizer()) {
            int[] prompt = tokenizer.encodePrompt("The service restarted after");
            assertThat(prompt[0]).as("bos first").isEqualTo(502);
            String expected = referenceCompletion(prompt, StopTokens.of(model, tokenizer), 12, tokenizer);
            assertThat(run.stdout()).isEqualTo(expected + System.lineSeparator());
        }
    }

    @Test
    void generateWithChatWrapsThePromptInTheChatFormat() {
        CliRun run = CliRun.of("generate", "--model", model.root().toString(), "--device", "cpu", "--chat",
                "--system", "Answer briefly.", "--prompt", "What failed?", "--max-tokens", "10");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        try (ModelTokenizer tokenizer = model.openTokenizer()) {
            int[] prompt = new ChatFormat(tokenizer).dialog(java.util.List.of(
                    new ChatFormat.Message("system", "Answer briefly."), new ChatFormat.Message("user", "What failed?")));
            String expected = referenceCompletion(prompt, StopTokens.of(model, tokenizer), 10, tokenizer);
            assertThat(run.stdout()).isEqualTo(expected + System.lineSeparator());
        }
    }

    @Test
    void seededSamplingFromTheCommandLineIsReproducible() {
        String[] args = {"generate", "--model", model.root().toString(), "--device", "cpu", "--prompt", "worker-1:",
                "--max-tokens", "16", "--temperature", "1.0", "--top-p", "0.9", "--top-k", "50", "--seed", "7"};
        CliRun first = CliRun.of(args);
        CliRun second = CliRun.of(args);
        assertThat(first.exitCode()).as(first.stderr()).isZero();
        assertThat(second.stdout()).isEqualTo(first.stdout());
        args[args.length - 1] = "8";
        assertThat(CliRun.of(args).stdout()).as("another seed").isNotEqualTo(first.stdout());
    }

    /** A stdout that counts write calls and, if {@code breakAfterFirst}, fails from the second on like a closed pipe. */
    private static int writeAttempts(boolean breakAfterFirst) {
        int[] writes = {0};
        java.io.OutputStream stdout = new java.io.OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] bytes, int offset, int length) throws java.io.IOException {
                if (writes[0]++ > 0 && breakAfterFirst) {
                    throw new java.io.IOException("Broken pipe");
                }
            }
        };
        // a prompt after which this model generates dozens of tokens before a stop token
        int exit = UltraLongCli.run(new java.io.PrintStream(stdout, true), System.err, "generate", "--model",
                model.root().toString(), "--device", "cpu", "--prompt", "worker", "--max-tokens", "40");
        assertThat(exit).isZero();
        return writes[0];
    }

    @Test
    void generateStreamsEachPieceAsItComesAndStopsWhenStdoutCloses() {
        assertThat(writeAttempts(false)).as("writes to a working stdout: one per non-empty piece").isGreaterThan(20);
        assertThat(writeAttempts(true)).as("writes once the pipe broke: generation was cancelled").isLessThanOrEqualTo(3);
    }
}
