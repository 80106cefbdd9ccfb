package io.ultralong.platform.compose;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * Builds the images and starts {@code deploy/docker-compose.yml} (Kafka, topics, ingest, one
 * worker, gateway), then goes through the public API as a user would: create a session, append
 * records, ask a question over SSE and receive a {@code done} answer.
 *
 * <p>Needs a Docker engine and the {@code docker compose} plugin; without them the class is
 * skipped, not failed. The first run builds three images with Maven inside Docker (minutes).
 * Without a model mounted the worker runs its built-in demo model, so the answer's text is
 * meaningless: the test checks the answer's shape and that it covers the appended records.
 */
@Testcontainers(disabledWithoutDocker = true)
class ComposeDeploymentIT {

    /** A key made for this run and given to the gateway by its hash, as scripts/api-key.sh does. */
    private static final String API_KEY = "compose-it-" + UUID.randomUUID();
    private static final int MAX_TOKENS = 8;
    private static final Duration STARTUP = Duration.ofMinutes(30);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static ComposeContainer deployment;
    private static String gateway;

    @BeforeAll
    static void startDeployment() throws IOException {
        Assumptions.assumeTrue(composePluginAvailable(), "the 'docker compose' plugin is not installed");
        deployment = new ComposeContainer(DeploymentFiles.composeFile().toFile())
                .withBuild(true)
                .withEnv("UL_WORKERS", "1")
                .withEnv("UL_TOPICS_PARTITIONS", "4")
                .withEnv("UL_AUTH_API_KEY_HASHES", "demo:" + sha256Hex(API_KEY))
                // Host ports that are free now, so that the test runs beside a deployment on 8080.
                .withEnv("UL_GATEWAY_PORT", String.valueOf(freePort()))
                .withEnv("UL_KAFKA_PORT", String.valueOf(freePort()))
                .withExposedService("gateway-1", 8080, Wait.forHttp("/q/health/ready").forStatusCode(200)
                        .withStartupTimeout(STARTUP))
                .waitingFor("worker-1", Wait.forHealthcheck().withStartupTimeout(STARTUP))
                .withRemoveVolumes(true);
        deployment.start();
        gateway = "http://" + deployment.getServiceHost("gateway-1", 8080) + ":"
                + deployment.getServicePort("gateway-1", 8080);
    }

    @AfterAll
    static void stopDeployment() {
        if (deployment != null) {
            deployment.stop();
        }
    }

    @Test
    void appendedRecordsAreAnsweredOverServerSentEvents() throws Exception {
        String session = "compose-it-" + UUID.randomUUID();

        HttpResponse<String> created = send(post("/v1/sessions", "application/json", "{\"id\":\"" + session + "\"}"));
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(JSON.readTree(created.body()).path("id").asText()).isEqualTo(session);

        String ndjson = """
                {"text":"2026-11-25T06:00:01Z INFO  checkout started order=1041","source":"app"}
                {"text":"2026-11-25T06:00:02Z ERROR payment declined order=1041 code=51","source":"app"}
                {"text":"2026-11-25T06:00:03Z INFO  checkout finished order=1042","source":"app"}
                """;
        HttpResponse<String> appended = send(post("/v1/sessions/" + session + "/records", "application/x-ndjson", ndjson));
        assertThat(appended.statusCode()).isEqualTo(202);
        JsonNode seqs = JSON.readTree(appended.body());
        assertThat(seqs.path("count").asInt()).isEqualTo(3);
        assertThat(seqs.path("lastSeq").asLong()).isGreaterThanOrEqualTo(seqs.path("firstSeq").asLong());

        List<SseEvent> events = new ArrayList<>();
        // A worker gets its partitions a moment after it reports healthy: until then a query answers
        // 503 "unavailable", which is worth retrying.
        await().atMost(5, TimeUnit.MINUTES).pollInterval(Duration.ofSeconds(5)).untilAsserted(() -> {
            HttpRequest query = post("/v1/sessions/" + session + "/query", "application/json",
                    "{\"question\":\"Which order had a declined payment?\",\"maxTokens\":" + MAX_TOKENS + "}")
                    .header("Accept", "text/event-stream").build();
            HttpResponse<Stream<String>> response = HTTP.send(query, HttpResponse.BodyHandlers.ofLines());
            assertThat(response.statusCode()).isEqualTo(200);
            events.clear();
            events.addAll(SseEvent.parse(response.body().toList()));
            assertThat(events).isNotEmpty();
            assertThat(events.get(events.size() - 1).name()).isEqualTo("done");
        });

        JsonNode done = JSON.readTree(events.get(events.size() - 1).data());
        assertThat(done.path("finishReason").asText()).isIn("stop", "length");
        JsonNode usage = done.path("usage");
        // The demo model's random weights may well pick end-of-turn first: an empty answer is a valid one.
        assertThat(usage.path("completionTokens").asInt()).isBetween(0, MAX_TOKENS);
        // Read-your-writes: the context the answer saw holds the three records just appended.
        assertThat(usage.path("contextTokens").asInt()).isGreaterThan(0);
        StringBuilder streamed = new StringBuilder();
        for (SseEvent event : events) {
            assertThat(event.name()).isIn("progress", "token", "done");
            if (event.name().equals("token")) {
                streamed.append(JSON.readTree(event.data()).path("text").asText());
            }
        }
        assertThat(streamed.toString()).isEqualTo(done.path("answer").asText());

        HttpResponse<String> info = send(HttpRequest.newBuilder(URI.create(gateway + "/v1/sessions/" + session))
                .header("Authorization", "Bearer " + API_KEY).timeout(Duration.ofSeconds(60)).GET());
        assertThat(info.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(info.body()).path("records").asLong()).isEqualTo(3);
    }

    private HttpRequest.Builder post(String path, String contentType, String body) {
        return HttpRequest.newBuilder(URI.create(gateway + path))
                .header("Authorization", "Bearer " + API_KEY)
                .header("Content-Type", contentType)
                .timeout(Duration.ofMinutes(3))
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Whether {@code docker compose} (Compose v2, which ComposeContainer drives) runs on this host. */
    private static boolean composePluginAvailable() {
        try {
            Process process = new ProcessBuilder("docker", "compose", "version").redirectErrorStream(true).start();
            process.getInputStream().transferTo(OutputStream.nullOutputStream());
            return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** One Server-Sent Event: its {@code event:} name and its {@code data:} lines joined. */
    record SseEvent(String name, String data) {

        static List<SseEvent> parse(List<String> lines) {
            List<SseEvent> events = new ArrayList<>();
            String name = null;
            StringBuilder data = new StringBuilder();
            for (String line : lines) {
                if (line.isEmpty()) {
                    if (name != null || !data.isEmpty()) {
                        events.add(new SseEvent(name == null ? "message" : name, data.toString()));
                    }
                    name = null;
                    data.setLength(0);
                } else if (line.startsWith("event:")) {
                    name = line.substring("event:".length()).trim();
                } else if (line.startsWith("data:")) {
                    if (!data.isEmpty()) {
                        data.append('\n');
                    }
                    // The SSE format strips exactly one space after the colon.
                    data.append(line.startsWith("data: ") ? line.substring(6) : line.substring(5));
                }
                // lines starting with ':' are comments (subscribed, keep-alive)
            }
            return events;
        }
    }

    private static String sha256Hex(String key) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
