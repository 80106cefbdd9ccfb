package io.ultralong.evaluation.client;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The platform's public REST API, and nothing else: the same harness runs against the embedded
 * platform on a laptop and a GPU deployment. JDK HTTP client plus Jackson.
 */
public final class PlatformClient {

    /** {@code 202 {"firstSeq", "lastSeq", "count"}} of an append. */
    public record AppendAck(long firstSeq, long lastSeq, int count) {
    }

    /** The {@code usage} of an answer: how much of the context came from the KV cache. */
    public record Usage(long contextTokens, long cachedTokens, long prefilledTokens, long completionTokens) {
        public static final Usage NONE = new Usage(0, 0, 0, 0);
    }

    /** The JSON answer of a query. */
    public record Answer(String answer, String finishReason, Usage usage, JsonNode timings, String model,
                         boolean demoModel) {
    }

    /** A non-2xx answer, with the platform's error code when it sent one. */
    public static final class PlatformException extends RuntimeException {
        private final int status;

        PlatformException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    private final HttpClient http;
    private final URI base;
    private final String apiKey;
    private final Duration queryTimeout;
    private final ObjectMapper json = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /**
     * @param base         e.g. {@code http://localhost:8080}
     * @param apiKey       sent as {@code Authorization: Bearer}; null when the platform runs without auth
     * @param queryTimeout how long one query may take: a million-token first prefill takes minutes
     */
    public PlatformClient(URI base, String apiKey, Duration queryTimeout) {
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        this.base = URI.create(base.toString().replaceAll("/+$", "") + "/");
        this.apiKey = apiKey;
        this.queryTimeout = queryTimeout;
    }

    /** Appends text-only records, one JSON array per call. */
    public AppendAck append(String sessionId, List<String> texts) {
        List<Map<String, String>> body = texts.stream().map(text -> Map.of("text", text)).toList();
        JsonNode ack = send(request(sessionPath(sessionId) + "/records", Duration.ofMinutes(2))
                .POST(HttpRequest.BodyPublishers.ofByteArray(write(body))));
        return new AppendAck(ack.path("firstSeq").asLong(), ack.path("lastSeq").asLong(), ack.path("count").asInt());
    }

    /**
     * Asks a question over the session's context, greedy, after the platform has applied {@code minSeq}.
     */
    public Answer query(String sessionId, String question, int maxTokens, long minSeq) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("question", question);
        body.put("maxTokens", maxTokens);
        body.put("temperature", 0);
        body.put("minSeq", minSeq);
        JsonNode answer = send(request(sessionPath(sessionId) + "/query", queryTimeout)
                .POST(HttpRequest.BodyPublishers.ofByteArray(write(body))));
        JsonNode usage = answer.path("usage");
        return new Answer(answer.path("answer").asText(""), answer.path("finishReason").asText(null),
                new Usage(usage.path("contextTokens").asLong(), usage.path("cachedTokens").asLong(),
                        usage.path("prefilledTokens").asLong(), usage.path("completionTokens").asLong()),
                answer.get("timings"), answer.path("model").asText(null), answer.path("demoModel").asBoolean(false));
    }

    /** {@code GET /v1/sessions/{id}}: the session's statistics, empty when the platform does not know it. */
    public Optional<JsonNode> session(String sessionId) {
        try {
            return Optional.of(send(request(sessionPath(sessionId), Duration.ofSeconds(30)).GET()));
        } catch (PlatformException e) {
            if (e.status() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Deletes a session with its records, tokens and KV cache. */
    public void delete(String sessionId) {
        send(request(sessionPath(sessionId), Duration.ofSeconds(30)).DELETE());
    }

    /** The id of the first served model from {@code GET /v1/models}, if any. */
    public Optional<String> modelId() {
        JsonNode models = send(request("v1/models", Duration.ofSeconds(30)).GET());
        JsonNode first = models.path("data").path(0).path("id");
        return first.isTextual() ? Optional.of(first.asText()) : Optional.empty();
    }

    private static String sessionPath(String sessionId) {
        return "v1/sessions/" + URLEncoder.encode(sessionId, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private HttpRequest.Builder request(String path, Duration timeout) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(base.resolve(path))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json");
        if (apiKey != null && !apiKey.isBlank()) {
            builder.header("Authorization", "Bearer " + apiKey);
        }
        return builder;
    }

    private JsonNode send(HttpRequest.Builder request) {
        HttpRequest built = request.build();
        HttpResponse<byte[]> response;
        try {
            response = http.send(built, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new PlatformException(0, built.method() + " " + built.uri() + " failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PlatformException(0, "Interrupted during " + built.method() + " " + built.uri());
        }
        String body = new String(response.body(), StandardCharsets.UTF_8);
        if (response.statusCode() / 100 != 2) {
            throw new PlatformException(response.statusCode(), built.method() + " " + built.uri() + " answered "
                    + response.statusCode() + ": " + body);
        }
        try {
            return body.isBlank() ? json.createObjectNode() : json.readTree(body);
        } catch (IOException e) {
            throw new PlatformException(response.statusCode(), "Not JSON from " + built.uri() + ": " + body);
        }
    }

    private byte[] write(Object value) {
        try {
            return json.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
