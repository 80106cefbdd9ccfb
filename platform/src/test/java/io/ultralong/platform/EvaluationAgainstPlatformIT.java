package io.ultralong.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.evaluation.cli.EvaluateCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation command against the running embedded platform with its demo model: haystacks of the
 * asked lengths reach the platform through its API, every question is answered, the KV prefix is
 * reused across depths, and the reports are written. (The demo model's accuracy means nothing and is
 * not asserted.)
 */
class EvaluationAgainstPlatformIT {

    @Test
    void passkeyAndRulerTasksRunEndToEnd(@TempDir Path dataDir, @TempDir Path out) throws Exception {
        int port = EmbeddedKafkaBroker.freePort();
        Process platform = PlatformProcess.start(dataDir, port, EmbeddedKafkaBroker.freePort());
        try {
            String url = "http://127.0.0.1:" + port;
            Path tokenizer = dataDir.resolve("worker").resolve("demo-model");
            int passkey = EvaluateCommand.commandLine().execute("passkey", "--url", url, "--tokenizer", tokenizer.toString(),
                    "--lengths", "1k,2k", "--depths", "0,50,100", "--max-tokens", "4", "--out", out.resolve("passkey").toString());
            assertThat(passkey).isZero();
            JsonNode results = new ObjectMapper().readTree(out.resolve("passkey").resolve("results.json").toFile());
            assertThat(results.path("demoModel").asBoolean()).isTrue();
            assertThat(results.path("trials")).hasSize(2);
            for (JsonNode trial : results.path("trials")) {
                long target = trial.path("targetTokens").asLong();
                assertThat(trial.path("haystackTokens").asLong()).isBetween(Math.round(target * 0.99), Math.round(target * 1.01));
                assertThat(trial.path("probes")).hasSize(3);
                assertThat(trial.path("platformTokens").asLong()).isGreaterThanOrEqualTo(trial.path("haystackTokens").asLong());
            }
            assertThat(results.path("kvReuse").asDouble()).isGreaterThan(0);
            assertThat(Files.size(out.resolve("passkey").resolve("heatmap.png"))).isGreaterThan(1000);

            int ruler = EvaluateCommand.commandLine().execute("ruler", "--url", url, "--tokenizer", tokenizer.toString(),
                    "--lengths", "1k", "--tasks", "multikey,multivalue,vartrack", "--keys", "2", "--chains", "2", "--hops", "2",
                    "--max-tokens", "4", "--out", out.resolve("ruler").toString());
            assertThat(ruler).isZero();
            JsonNode rulerResults = new ObjectMapper().readTree(out.resolve("ruler").resolve("results.json").toFile());
            assertThat(rulerResults.path("trials")).hasSize(3);
        } finally {
            platform.destroy();
            platform.waitFor(60, TimeUnit.SECONDS);
        }
    }
}
