package io.ultralong.gateway.e2e;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.ultralong.testkit.KafkaBroker;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The gateway over the real pipeline (ingest and a worker on a generated tiny model, greedy): append,
 * query as JSON and as SSE, the OpenAI client plain and streaming, and delete, all agreeing with each
 * other, with the worker's cache visibly reused.
 */
@QuarkusTest
@WithTestResource(RealPipelineTestResource.class)
class GatewayEndToEndTest {

    static final String ACME = "Bearer test-key-acme";
    static final String GLOBEX = "Bearer test-key-globex";
    static final String QUESTION = "What failed?";

    @TestHTTPResource("/v1")
    URL baseUrl;

    @Test
    void appendQueryStreamChatAndDeleteOverTheRealPipeline() {
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"id\": \"e2e-log\"}")
                .post("/v1/sessions").then().statusCode(201);
        given().header("Authorization", ACME).contentType("application/x-ndjson")
                .body(("{\"text\": \"worker-2 crashed: out of memory\", \"source\": \"k8s\"}\n"
                        + "{\"text\": \"restarted worker-2 ✓\", \"source\": \"k8s\", \"ts\": 1764064800000}\n").getBytes(StandardCharsets.UTF_8))
                .post("/v1/sessions/e2e-log/records").then().statusCode(202).body("count", equalTo(2));

        // JSON: read-your-writes, so the answer sees both records.
        JsonPath first = given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"question\": \"" + QUESTION + "\", \"maxTokens\": 6}")
                .post("/v1/sessions/e2e-log/query").then().statusCode(200).extract().jsonPath();
        String answer = first.getString("answer");
        assertThat(first.getLong("usage.contextTokens")).isEqualTo(first.getLong("usage.prefilledTokens"));
        assertThat(first.getBoolean("demoModel")).isFalse();

        // SSE: the same greedy answer, now from the cached session prefix.
        String events = given().header("Authorization", ACME).header("Accept", "text/event-stream").contentType(ContentType.JSON)
                .body("{\"question\": \"" + QUESTION + "\", \"maxTokens\": 6}")
                .post("/v1/sessions/e2e-log/query").then().statusCode(200).extract().asString();
        assertThat(events).contains("event: progress", "event: token", "event: done");
        String done = events.lines().dropWhile(l -> !l.equals("event: done")).skip(1).findFirst().orElseThrow().substring("data: ".length());
        JsonPath streamed = JsonPath.from(done);
        assertThat(streamed.getString("answer")).isEqualTo(answer);
        assertThat(streamed.getLong("usage.cachedTokens")).isPositive();
        assertThat(streamed.getLong("usage.prefilledTokens")).isLessThan(first.getLong("usage.prefilledTokens"));

        // The official OpenAI client: one user message is the same prompt as the question.
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(baseUrl.toString()).apiKey("test-key-acme").maxRetries(0)
                .putHeader("X-Session-Id", "e2e-log").build();
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("ultralong-8b")
                .addUserMessage(QUESTION).maxCompletionTokens(6).temperature(0.0).build();
        ChatCompletion completion = client.chat().completions().create(params);
        assertThat(completion.choices().get(0).message().content()).contains(answer);
        List<String> pieces = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(choice -> choice.delta().content().ifPresent(pieces::add)));
        }
        assertThat(String.join("", pieces)).isEqualTo(answer);

        // Live statistics from the worker, then delete: the session is gone everywhere.
        given().header("Authorization", ACME).get("/v1/sessions/e2e-log").then().statusCode(200)
                .body("records", equalTo(2));
        given().header("Authorization", ACME).delete("/v1/sessions/e2e-log").then().statusCode(202);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                given().header("Authorization", ACME).get("/v1/sessions/e2e-log").then().statusCode(404));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"" + QUESTION + "\"}")
                .post("/v1/sessions/e2e-log/query").then().statusCode(404).body("error.code", equalTo("session-not-found"));
    }

    /**
     * A client whose append answered 503 (here: the answer it never saw, after the records had reached Kafka) sends
     * the same batch again with the same {@code Idempotency-Key}: the session holds each record once, exactly the
     * context of a session given the batch once.
     */
    @Test
    void batchAppendRetriedWithItsIdempotencyKeyAddsEachRecordOnce() {
        String batch = "{\"text\": \"disk full on node-7\"}\n{\"text\": \"node-7 drained\"}\n{\"text\": \"node-7 back ✓\"}\n";
        for (String session : List.of("e2e-retried", "e2e-once")) {
            given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"id\": \"" + session + "\"}")
                    .post("/v1/sessions").then().statusCode(201);
        }
        long firstTry = given().header("Authorization", ACME).header("Idempotency-Key", "batch-0001")
                .contentType("application/x-ndjson").body(batch.getBytes(StandardCharsets.UTF_8))
                .post("/v1/sessions/e2e-retried/records").then().statusCode(202).extract().jsonPath().getLong("lastSeq");
        long retry = given().header("Authorization", ACME).header("Idempotency-Key", "batch-0001")
                .contentType("application/x-ndjson").body(batch.getBytes(StandardCharsets.UTF_8))
                .post("/v1/sessions/e2e-retried/records").then().statusCode(202).body("count", equalTo(3))
                .extract().jsonPath().getLong("lastSeq");
        given().header("Authorization", ACME).header("Idempotency-Key", "another-key")
                .contentType("application/x-ndjson").body(batch.getBytes(StandardCharsets.UTF_8))
                .post("/v1/sessions/e2e-once/records").then().statusCode(202);
        assertThat(retry).as("the retry's records are new offsets, dropped by ingest").isGreaterThan(firstTry);

        // read-your-writes covers the retry's offsets: the query waits for them, then sees three records
        JsonPath retried = given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"question\": \"" + QUESTION + "\", \"maxTokens\": 1}")
                .post("/v1/sessions/e2e-retried/query").then().statusCode(200).extract().jsonPath();
        JsonPath once = given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"question\": \"" + QUESTION + "\", \"maxTokens\": 1}")
                .post("/v1/sessions/e2e-once/query").then().statusCode(200).extract().jsonPath();
        assertThat(retried.getLong("usage.contextTokens")).isEqualTo(once.getLong("usage.contextTokens"));
        given().header("Authorization", ACME).get("/v1/sessions/e2e-retried").then().statusCode(200)
                .body("records", equalTo(3))
                .body("tokens", equalTo(given().header("Authorization", ACME).get("/v1/sessions/e2e-once")
                        .then().extract().jsonPath().getInt("tokens")));
        given().header("Authorization", ACME).header("Idempotency-Key", "has space").contentType(ContentType.TEXT)
                .body("x").post("/v1/sessions/e2e-retried/records").then().statusCode(400)
                .body("error.code", equalTo("invalid-idempotency-key"));
    }

    @Test
    void sessionsThatDoNotExistAre404OnQueryChatAndWatchesNeverAnAnswer() {
        // Another tenant's session is one that does not exist for the caller.
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body("acme's secret")
                .post("/v1/sessions/e2e-private/records").then().statusCode(202);
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", \"maxTokens\": 2}")
                .post("/v1/sessions/e2e-private/query").then().statusCode(200);
        for (String[] caller : new String[][] {{ACME, "e2e-never-written"}, {GLOBEX, "e2e-private"}}) {
            given().header("Authorization", caller[0]).contentType(ContentType.JSON).body("{\"question\": \"q\"}")
                    .post("/v1/sessions/" + caller[1] + "/query").then().statusCode(404)
                    .body("error.code", equalTo("session-not-found"));
            given().header("Authorization", caller[0]).header("Accept", "text/event-stream").contentType(ContentType.JSON)
                    .body("{\"question\": \"q\"}").post("/v1/sessions/" + caller[1] + "/query").then()
                    .body(containsString("event: error"), containsString("session-not-found"), not(containsString("event: done")));
            given().header("Authorization", caller[0]).header("X-Session-Id", caller[1]).contentType(ContentType.JSON)
                    .body("{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}")
                    .post("/v1/chat/completions").then().statusCode(404)
                    .body("error.type", equalTo("not_found_error")).body("error.code", equalTo("session-not-found"))
                    .body("error.message", containsString(caller[1])).body("error", hasKey("param"));
            given().header("Authorization", caller[0]).contentType(ContentType.JSON).body("{\"question\": \"q\"}")
                    .post("/v1/sessions/" + caller[1] + "/watches").then().statusCode(404)
                    .body("error.code", equalTo("session-not-found"));
        }
        // The official OpenAI client raises its typed 404.
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(baseUrl.toString()).apiKey("test-key-acme").maxRetries(0)
                .putHeader("X-Session-Id", "e2e-never-written").build();
        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("ultralong-8b").addUserMessage("q").build()))
                .isInstanceOf(NotFoundException.class).hasMessageContaining("No session");
    }

    @Test
    void aCreatedSessionExistsAtOnceWithItsMetadataAndNoRecords() {
        given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"id\": \"e2e-meta\", \"metadata\": {\"team\": \"sre\", \"tier\": 2, \"tags\": [\"a\", \"ü\"]}}")
                .post("/v1/sessions").then().statusCode(201).body("id", equalTo("e2e-meta"));
        given().header("Authorization", ACME).get("/v1/sessions/e2e-meta").then().statusCode(200)
                .body("records", equalTo(0)).body("tokens", equalTo(0))
                .body("metadata.team", equalTo("sre")).body("metadata.tier", equalTo(2)).body("metadata.tags[1]", equalTo("ü"));
        // It exists: a query answers (over no records), a watch can be set, and records still count from zero.
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", \"maxTokens\": 2}")
                .post("/v1/sessions/e2e-meta/query").then().statusCode(200);
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", \"maxTokens\": 2}")
                .post("/v1/sessions/e2e-meta/watches").then().statusCode(201);
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body("one\ntwo\n")
                .post("/v1/sessions/e2e-meta/records").then().statusCode(202);
        given().header("Authorization", ACME).get("/v1/sessions/e2e-meta").then().statusCode(200)
                .body("records", equalTo(2)).body("metadata.team", equalTo("sre"));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"metadata\": [1]}")
                .post("/v1/sessions").then().statusCode(400).body("error.message", startsWith("\"metadata\" must be a JSON object"));
    }

    @Test
    void aRecordDeadLetteredStraightFromKafkaDoesNotStallTheQueryWaitingForIt() throws Exception {
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body("disk full on node-3")
                .post("/v1/sessions/e2e-dlq/records").then().statusCode(202);
        long badSeq;
        try (var producer = new KafkaProducer<>(KafkaBroker.shared().clientProperties(), new StringSerializer(),
                new StringSerializer())) {
            badSeq = producer.send(new ProducerRecord<>(RealPipelineTestResource.PREFIX + "records", "acme/e2e-dlq",
                    "{\"text\": \"x\", \"ts\": \"yesterday\"}")).get().offset();
        }
        // Waits for the rejected offset: answered (the configured timeout is 20 s, and it would have been a 504).
        JsonPath answer = given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"question\": \"" + QUESTION + "\", \"maxTokens\": 2, \"minSeq\": " + badSeq + "}")
                .post("/v1/sessions/e2e-dlq/query").then().statusCode(200).extract().jsonPath();
        assertThat(answer.getList("warnings", String.class)).singleElement().asString()
                .contains("seq " + badSeq, "invalid-field", "yesterday");
        given().header("Authorization", ACME).get("/v1/sessions/e2e-dlq").then().statusCode(200)
                .body("records", equalTo(1)).body("appliedSeq", equalTo((int) badSeq));
    }
}
