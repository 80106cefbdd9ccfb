package io.ultralong.evaluation.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.evaluation.TestTokenizer;
import io.ultralong.evaluation.report.ReportWriter;
import io.ultralong.evaluation.run.FakePlatform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluateCommandTest {

    /** Runs the command with stdout and stderr captured; returns {exit code, stdout, stderr}. */
    private static Object[] run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
            int code = EvaluateCommand.commandLine().execute(args);
            return new Object[] {code, stdout.toString(StandardCharsets.UTF_8), stderr.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void passkeyCommandPrintsTheTableAndWritesJsonPngAndHtml(@TempDir Path out) throws Exception {
        try (FakePlatform platform = new FakePlatform(TestTokenizer.counter())) {
            Object[] result = run("passkey", "--url", platform.url().toString(), "--api-key", FakePlatform.API_KEY,
                    "--tokenizer", TestTokenizer.directory().toString(), "--lengths", "1k,2k",
                    "--depths", "0,50,100", "--out", out.toString(), "--session-prefix", "cli");

            assertThat(result[0]).as("exit code; stderr: %s", result[2]).isEqualTo(0);
            assertThat((String) result[1]).contains("Passkey retrieval (accuracy, %)", "depth \\ length", "1K", "2K",
                    "overall accuracy 66.7% over 6 questions", "demo model");
            assertThat((String) result[2]).contains("lengths done 2/2 (2K)");
            JsonNode json = new ObjectMapper().readTree(out.resolve(ReportWriter.JSON).toFile());
            assertThat(json.path("command").asText()).isEqualTo("passkey");
            assertThat(json.path("trials")).hasSize(2);
            assertThat(Files.size(out.resolve(ReportWriter.PNG))).isGreaterThan(1000);
            assertThat(Files.readString(out.resolve(ReportWriter.HTML))).contains("<img alt=\"accuracy heatmap\"");
        }
    }

    @Test
    void rulerCommandRunsTheChosenTasks(@TempDir Path out) throws Exception {
        try (FakePlatform platform = new FakePlatform(TestTokenizer.counter())) {
            Object[] result = run("ruler", "--url", platform.url().toString(), "--api-key", FakePlatform.API_KEY,
                    "--tokenizer", TestTokenizer.directory().toString(), "--lengths", "2k",
                    "--tasks", "multikey,vartrack", "--keys", "3", "--chains", "2", "--hops", "2", "--out", out.toString());

            assertThat(result[0]).as("exit code; stderr: %s", result[2]).isEqualTo(0);
            assertThat((String) result[1]).contains("multikey", "vartrack", "overall accuracy 100.0% over 5 questions");
        }
    }

    @Test
    void defaultLengthsDoubleFromEightKUpToTheModelMaximumLessTheReserve(@TempDir Path model) throws Exception {
        Files.copy(TestTokenizer.directory().resolve("tokenizer.json"), model.resolve("tokenizer.json"));
        Files.writeString(model.resolve("config.json"), "{\"max_position_embeddings\": 65536}");
        EvaluateCommand.Common common = new EvaluateCommand.Common();
        common.tokenizer = model;
        common.reserve = 256;

        assertThat(common.resolveLengths()).containsExactly(8192L, 16384L, 32768L, 65280L);
        common.lengths = List.of("8k", "1m");
        assertThat(common.resolveLengths()).containsExactly(8192L, 65280L);
    }

    @Test
    void hubCacheFolderGivesTheTokenizerAndMaximumOfItsSnapshot(@TempDir Path cache) throws Exception {
        Path folder = cache.resolve("models--org--Tiny");
        Path snapshot = Files.createDirectories(folder.resolve("snapshots/0123456789abcdef0123456789abcdef01234567"));
        Files.copy(TestTokenizer.directory().resolve("tokenizer.json"), snapshot.resolve("tokenizer.json"));
        Files.writeString(snapshot.resolve("config.json"), "{\"max_position_embeddings\": 32768}");
        EvaluateCommand.Common common = new EvaluateCommand.Common();
        common.tokenizer = folder;
        common.reserve = 256;

        assertThat(common.tokenizerSource()).isEqualTo(snapshot);
        assertThat(common.resolveLengths()).containsExactly(8192L, 16384L, 32512L);
    }

    @Test
    void lengthsAndDepthsParse() {
        assertThat(LengthList.parseLength("8k")).isEqualTo(8192);
        assertThat(LengthList.parseLength("1M")).isEqualTo(1 << 20);
        assertThat(LengthList.parseLength("1.5k")).isEqualTo(1536);
        assertThat(LengthList.parseLength("12000")).isEqualTo(12000);
        assertThat(LengthList.parseDepths(List.of("0", "25%", "100"))).containsExactly(0.0, 0.25, 1.0);
    }
}
