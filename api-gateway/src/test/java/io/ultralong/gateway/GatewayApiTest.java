package io.ultralong.gateway;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.startsWith;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerTestResource;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(KafkaBrokerTestResource.class)
class GatewayApiTest {

    static final String ACME = "Bearer test-key-acme";
    static final String GLOBEX = "Bearer test-key-globex";
    static ScriptedResponder responder;

    @TestHTTPResource("/v1/sessions/s-stream/query")
    URI streamQueryUri;

    @BeforeAll
    static void responder() {
        responder = ScriptedResponder.shared();
    }

    @Test
    void appendsInEveryFormatAreAcknowledgedWithTheirSeqsAndLandInKafka() {
        int first = given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("[{\"text\": \"line one\", \"source\": \"app\", \"ts\": 1700000000000}, \"line two\"]")
                .post("/v1/sessions/s-append/records")
                .then().statusCode(202).body("count", equalTo(2)).extract().path("firstSeq");
        given().header("Authorization", ACME).contentType("application/x-ndjson")
                .body("{\"text\": \"three\"}\n\n{\"text\": \"four ✓\", \"id\": \"r4\"}\n".getBytes(StandardCharsets.UTF_8))
                .post("/v1/sessions/s-append/records")
                .then().statusCode(202).body("count", equalTo(2)).body("firstSeq", equalTo(first + 2))
                .body("lastSeq", equalTo(first + 3));
        given().header("Authorization", ACME).contentType("text/plain; charset=utf-8")
                .body("five\nsix\n")
                .post("/v1/sessions/s-append/records")
                .then().statusCode(202).body("lastSeq", equalTo(first + 5));

        List<ConsumerRecord<String, String>> records = readAll("ul.records", "acme/s-append", 6);
        assertThat(records).extracting(ConsumerRecord::value).containsExactly(
                "{\"text\":\"line one\",\"source\":\"app\",\"ts\":1700000000000}", "{\"text\":\"line two\"}",
                "{\"text\":\"three\"}", "{\"text\":\"four ✓\",\"id\":\"r4\"}", "{\"text\":\"five\"}", "{\"text\":\"six\"}");
        assertThat(records).extracting(ConsumerRecord::offset).containsExactly(
                (long) first, first + 1L, first + 2L, first + 3L, first + 4L, first + 5L);
    }

    @Test
    void queryWaitsForTheLastAppendAndAnswersAsJson() {
        int lastSeq = given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"text\": \"ctx\"}")
                .post("/v1/sessions/s-query/records").then().statusCode(202).extract().path("lastSeq");
        given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"question\": \"What happened?\", \"maxTokens\": 16, \"seed\": 5}")
                .post("/v1/sessions/s-query/query")
                .then().statusCode(200)
                .body("answer", equalTo(ScriptedResponder.ANSWER))
                .body("finishReason", equalTo("stop"))
                .body("usage.contextTokens", equalTo(130)).body("usage.cachedTokens", equalTo(100))
                .body("usage.prefilledTokens", equalTo(30)).body("usage.completionTokens", equalTo(2))
                .body("demoModel", equalTo(true));
        QueryRequest sent = responder.lastQuery();
        assertThat(sent.session()).isEqualTo("acme/s-query");
        assertThat(sent.minSeq()).as("read-your-writes").isEqualTo(lastSeq);
        assertThat(sent.sampling().maxTokens()).isEqualTo(16);
        assertThat(sent.sampling().seed()).isEqualTo(5L);
    }

    @Test
    void queryStreamsServerSentEventsInOrderWithoutRepeats() {
        String body = given().header("Authorization", ACME).accept("text/event-stream").contentType(ContentType.JSON)
                .body("{\"question\": \"Stream it\"}")
                .post("/v1/sessions/s-sse/query")
                .then().statusCode(200).header("Content-Type", startsWith("text/event-stream"))
                .extract().asString();
        List<String> names = body.lines().filter(l -> l.startsWith("event: ")).map(l -> l.substring(7)).toList();
        assertThat(names).containsExactly("progress", "progress", "token", "token", "done");
        assertThat(body).contains("data: {\"text\":\"Hello, \"}", "data: {\"text\":\"wörld ✓\"}");
        assertThat(responder.lastQuery().stream()).isTrue();
    }

    @Test
    void workerErrorsBecomeHttpStatuses() {
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"fail\"}")
                .post("/v1/sessions/s-err/query")
                .then().log().ifValidationFails().statusCode(413).body("error.code", equalTo("context-too-long"))
                .body("error.message", startsWith("The context has 5000 tokens"));
    }

    @Test
    void sessionInfoComesFromTheWorkerAndUnknownSessionsAre404() {
        given().header("Authorization", ACME).get("/v1/sessions/s-info")
                .then().statusCode(200).body("id", equalTo("s-info")).body("tokens", equalTo(120))
                .body("appliedSeq", equalTo(41)).body("partition", equalTo(2));
        given().header("Authorization", ACME).get("/v1/sessions/missing")
                .then().statusCode(404).body("error.code", equalTo("session-not-found"));
    }

    @Test
    void tenantsNeverShareASession() {
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body("acme secret")
                .post("/v1/sessions/shared-name/records").then().statusCode(202);
        given().header("Authorization", GLOBEX).contentType(ContentType.TEXT).body("globex data")
                .post("/v1/sessions/shared-name/records").then().statusCode(202);
        assertThat(readAll("ul.records", "acme/shared-name", 1)).extracting(ConsumerRecord::value)
                .containsExactly("{\"text\":\"acme secret\"}");
        assertThat(readAll("ul.records", "globex/shared-name", 1)).extracting(ConsumerRecord::value)
                .containsExactly("{\"text\":\"globex data\"}");
        given().header("Authorization", GLOBEX).contentType(ContentType.JSON).body("{\"question\": \"q\"}")
                .post("/v1/sessions/shared-name/query").then().statusCode(200);
        assertThat(responder.lastQuery().session()).isEqualTo("globex/shared-name");
    }

    @Test
    void sessionsAreCreatedAndDeletedWithATombstone() {
        String id = given().header("Authorization", ACME).contentType(ContentType.JSON).body("{}")
                .post("/v1/sessions").then().statusCode(201).extract().path("id");
        assertThat(id).isNotBlank();
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"id\": \"mine-1\"}")
                .post("/v1/sessions").then().statusCode(201).body("id", equalTo("mine-1"));
        given().header("Authorization", ACME).delete("/v1/sessions/mine-1").then().statusCode(202)
                .body("seq", greaterThanOrEqualTo(0));
        // The creation is a record too (a header marks it; its value is the metadata), then the tombstone.
        List<ConsumerRecord<String, String>> written = readAll("ul.records", "acme/mine-1", 2);
        assertThat(written).extracting(ConsumerRecord::value).containsExactly("{}", null);
        assertThat(new String(written.get(0).headers().lastHeader("ul.control").value(), StandardCharsets.UTF_8))
                .isEqualTo("create-session");
        // Deleted through this gateway: 404 at once, before the worker has even seen the tombstone.
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\"}")
                .post("/v1/sessions/mine-1/query").then().statusCode(404).body("error.code", equalTo("session-not-found"));
    }

    @Test
    void badInputGetsAClearJsonError() {
        given().contentType(ContentType.TEXT).body("x").post("/v1/sessions/s/records")
                .then().statusCode(401).body("error.code", equalTo("unauthenticated"));
        given().header("Authorization", "Bearer wrong").contentType(ContentType.TEXT).body("x").post("/v1/sessions/s/records")
                .then().statusCode(401).body("error.message", equalTo("The API key is not valid."));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"text\": ")
                .post("/v1/sessions/s/records").then().statusCode(400).body("error.code", equalTo("invalid-json"));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"source\": \"no text\"}")
                .post("/v1/sessions/s/records").then().statusCode(400).body("error.code", equalTo("missing-text"));
        given().header("Authorization", ACME).contentType("text/plain").body(new byte[] {'o', 'k', (byte) 0xC3, (byte) 0x28})
                .post("/v1/sessions/s/records").then().statusCode(400).body("error.code", equalTo("invalid-utf8"));
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body("line\n".repeat(101))
                .post("/v1/sessions/s/records").then().statusCode(413).body("error.code", equalTo("too-large"));
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body("x".repeat(5000))
                .post("/v1/sessions/s/records").then().statusCode(413).body("error.code", equalTo("too-large"))
                .body("error.message", startsWith("Line 1: record of 5011 bytes exceeds the maximum of 4096 bytes"));
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body("x")
                .post("/v1/sessions/bad%2Fid/records").then().statusCode(400);
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"" + "q".repeat(201) + "\"}")
                .post("/v1/sessions/s/query").then().statusCode(413);
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", \"maxTokens\": 65}")
                .post("/v1/sessions/s/query").then().statusCode(400).body("error.message", startsWith("\"maxTokens\" must be between 1 and 64"));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", \"topP\": 0}")
                .post("/v1/sessions/s/query").then().statusCode(400).body("error.message", startsWith("\"topP\""));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{}")
                .post("/v1/sessions/s/query").then().statusCode(400).body("error.message", equalTo("\"question\" is required."));
        given().header("Authorization", ACME).get("/v1/nothing-here").then().statusCode(404).body("error.code", equalTo("not-found"));
    }

    @Test
    void recordsIngestWouldDeadLetterAre400WithTheDeadLetterReasonAndNeverReachKafka() {
        int before = given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"text\": \"good\"}")
                .post("/v1/sessions/s-validate/records").then().statusCode(202).extract().path("lastSeq");
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"text\": \"x\", \"ts\": \"yesterday\"}")
                .post("/v1/sessions/s-validate/records").then().statusCode(400).body("error.code", equalTo("invalid-field"))
                .body("error.message", equalTo("Record 0: \"ts\" must be an ISO-8601 string or epoch milliseconds,"
                        + " got \"yesterday\"."));
        given().header("Authorization", ACME).contentType("application/x-ndjson")
                .body("{\"text\": \"fine\"}\n{\"text\": \"x\", \"ts\": 1.5}\n".getBytes(StandardCharsets.UTF_8))
                .post("/v1/sessions/s-validate/records").then().statusCode(400).body("error.code", equalTo("invalid-field"))
                .body("error.message", startsWith("Line 2: "));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("[{\"text\": 5}]")
                .post("/v1/sessions/s-validate/records").then().statusCode(400).body("error.code", equalTo("missing-text"));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"text\": \"x\", \"source\": [1]}")
                .post("/v1/sessions/s-validate/records").then().statusCode(400).body("error.code", equalTo("invalid-field"));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"text\": \"x\", \"id\": 7}")
                .post("/v1/sessions/s-validate/records").then().statusCode(400).body("error.code", equalTo("invalid-field"));
        // Nothing of the refused appends was written: the next record directly follows the first.
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"text\": \"next\"}")
                .post("/v1/sessions/s-validate/records").then().statusCode(202).body("lastSeq", equalTo(before + 1));
    }

    @Test
    void samplingFieldsAreStrictlyTypedAndRangedOnTheQueryApi() {
        for (String bad : List.of("\"maxTokens\": 4294967297", "\"maxTokens\": 1e10", "\"maxTokens\": \"5\"",
                "\"maxTokens\": -1", "\"maxTokens\": 2.5", "\"temperature\": 1e999", "\"temperature\": \"0.5\"",
                "\"temperature\": -0.1", "\"temperature\": 2.5", "\"topP\": 1.5", "\"topP\": -0.5", "\"topK\": -1",
                "\"topK\": 4294967297", "\"topK\": 1.5", "\"seed\": \"7\"")) {
            String field = bad.substring(1, bad.indexOf('"', 1));
            given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", " + bad + "}")
                    .post("/v1/sessions/s-strict/query").then().statusCode(400).body("error.code", equalTo("invalid-request"))
                    .body("error.message", startsWith("\"" + field + "\""));
        }
        given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"question\": \"q\", \"maxTokens\": 64, \"temperature\": 2, \"topP\": 1, \"topK\": 40}")
                .post("/v1/sessions/s-strict/query").then().statusCode(200);
        QueryRequest sent = responder.lastQuery();
        assertThat(sent.sampling().maxTokens()).isEqualTo(64);
        assertThat(sent.sampling().topK()).isEqualTo(40);
    }

    @Test
    void samplingFieldsAndMessageCountAreCheckedOnTheChatApiWithOpenAiShapedErrors() {
        for (String bad : List.of("\"max_tokens\": 4294967297", "\"max_completion_tokens\": 1e10",
                "\"max_tokens\": \"16\"", "\"max_tokens\": -5", "\"temperature\": 1e999", "\"temperature\": \"1\"",
                "\"top_p\": 0", "\"top_p\": 2", "\"top_k\": -3", "\"top_k\": 3.5")) {
            String field = bad.substring(1, bad.indexOf('"', 1));
            given().header("Authorization", ACME).header("X-Session-Id", "s-chat").contentType(ContentType.JSON)
                    .body("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], " + bad + "}")
                    .post("/v1/chat/completions").then().statusCode(400)
                    .body("error.type", equalTo("invalid_request_error")).body("error.code", equalTo("invalid-request"))
                    .body("error.message", startsWith("\"" + field + "\"")).body("error", hasKey("param"));
        }
        String nine = String.join(", ", java.util.Collections.nCopies(9, "{\"role\": \"user\", \"content\": \"hi\"}"));
        given().header("Authorization", ACME).header("X-Session-Id", "s-chat").contentType(ContentType.JSON)
                .body("{\"messages\": [" + nine + "]}")
                .post("/v1/chat/completions").then().statusCode(400).body("error.type", equalTo("invalid_request_error"))
                .body("error.message", equalTo("\"messages\" has 9 messages; the limit is 8."));
        String eight = String.join(", ", java.util.Collections.nCopies(8, "{\"role\": \"user\", \"content\": \"hi\"}"));
        given().header("Authorization", ACME).header("X-Session-Id", "s-chat").contentType(ContentType.JSON)
                .body("{\"messages\": [" + eight + "], \"max_tokens\": 64, \"top_k\": 5}")
                .post("/v1/chat/completions").then().statusCode(200);
        assertThat(responder.lastQuery().sampling().maxTokens()).isEqualTo(64);
        assertThat(responder.lastQuery().sampling().topK()).isEqualTo(5);
    }

    @Test
    void aClientThatDisconnectsCancelsItsQuery() throws Exception {
        HttpURLConnection connection = (HttpURLConnection) streamQueryUri.toURL().openConnection();
        connection.setRequestMethod("POST");
        connection.setDoOutput(true);
        connection.setRequestProperty("Authorization", ACME);
        connection.setRequestProperty("Content-Type", "application/json");
        connection.setRequestProperty("Accept", "text/event-stream");
        connection.getOutputStream().write("{\"question\": \"slow\"}".getBytes(StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(connection.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null && !line.startsWith("data:"); line = reader.readLine()) {
                lines.add(line);
            }
        }
        connection.disconnect();
        assertThat(lines).contains("event: progress");
        String requestId = responder.lastQuery().requestId();
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                assertThat(responder.cancels()).anyMatch(c -> c.cancelledRequestId().equals(requestId)));
    }

    @Test
    void modelsAreListedTheOpenAiWay() {
        given().header("Authorization", ACME).get("/v1/models").then().statusCode(200)
                .body("object", equalTo("list")).body("data[0].id", equalTo("ultralong-8b"));
    }

    @Test
    void healthMetricsAndOpenApiAreServed() {
        given().get("/q/health/ready").then().statusCode(200);
        given().header("Authorization", ACME).get("/q/metrics").then().statusCode(200);
        given().header("Authorization", ACME).get("/q/openapi").then().statusCode(200);
    }

    private static List<ConsumerRecord<String, String>> readAll(String topic, String key, int expected) {
        var props = KafkaBroker.shared().clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, KafkaBroker.uniqueName("check"));
        List<ConsumerRecord<String, String>> found = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            await().atMost(Duration.ofSeconds(15)).until(() -> {
                consumer.poll(Duration.ofMillis(100)).forEach(r -> {
                    if (key.equals(r.key())) {
                        found.add(r);
                    }
                });
                return found.size() >= expected;
            });
        }
        return found;
    }
}
