package io.ultralong.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged platform as a user runs it ({@code java -jar platform/target/quarkus-app/quarkus-run.jar}),
 * with the demo model: a session is created, fed and asked; the process is then killed with SIGKILL
 * and started again on the same data directory, and the session is still there, answering the same.
 */
class EmbeddedPlatformIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void theWholePlatformRunsInOneProcessAndSurvivesAKill(@TempDir Path dataDir) throws Exception {
        int port = EmbeddedKafkaBroker.freePort();
        int kafkaPort = EmbeddedKafkaBroker.freePort();
        String base = "http://127.0.0.1:" + port;
        String firstAnswer;
        Process platform = PlatformProcess.start(dataDir, port, kafkaPort);
        try {
            JsonNode models = get(base + "/v1/models");
            assertThat(models.at("/data/0/demo_model").asBoolean()).isTrue();
            assertThat(models.at("/data/0/id").asText()).isEqualTo("ultralong-demo-random-weights");

            assertThat(post(base + "/v1/sessions", "application/json", "{\"id\": \"ops-log\"}").statusCode()).isEqualTo(201);
            HttpResponse<String> appended = post(base + "/v1/sessions/ops-log/records", "application/x-ndjson",
                    "{\"text\": \"disk usage at 91% on node-3\", \"source\": \"monitor\"}\n"
                            + "{\"text\": \"backup job finished in 42 min\", \"source\": \"cron\", \"ts\": 1764064800000}\n"
                            + "\"plain text line from a script ✓\"\n");
            assertThat(appended.statusCode()).isEqualTo(202);
            assertThat(JSON.readTree(appended.body()).get("count").asInt()).isEqualTo(3);

            JsonNode answer = query(base);
            assertThat(answer.get("demoModel").asBoolean()).isTrue();
            assertThat(answer.at("/usage/contextTokens").asLong()).isGreaterThan(30);
            firstAnswer = answer.get("answer").asText();

            JsonNode info = get(base + "/v1/sessions/ops-log");
            assertThat(info.get("records").asLong()).isEqualTo(3);
            // The session's prefix stays cached for the next query; the question (on a fork) does not.
            assertThat(info.get("cachedTokens").asLong()).isGreaterThan(info.get("tokens").asLong())
                    .isLessThan(answer.at("/usage/contextTokens").asLong());
        } finally {
            platform.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }

        Process restarted = PlatformProcess.start(dataDir, port, kafkaPort);
        try {
            JsonNode info = get(base + "/v1/sessions/ops-log");
            assertThat(info.get("records").asLong()).isEqualTo(3);
            JsonNode answer = query(base);
            assertThat(answer.get("answer").asText()).isEqualTo(firstAnswer);
        } finally {
            restarted.destroy();
            restarted.waitFor(60, TimeUnit.SECONDS);
        }
    }

    private JsonNode query(String base) throws Exception {
        HttpResponse<String> response = post(base + "/v1/sessions/ops-log/query", "application/json",
                "{\"question\": \"Which node is short of disk?\", \"maxTokens\": 8, \"temperature\": 0}");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private JsonNode get(String url) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(url + ": " + response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private HttpResponse<String> post(String url, String contentType, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
