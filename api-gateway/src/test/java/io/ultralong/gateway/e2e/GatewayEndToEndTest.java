package io.ultralong.gateway.e2e;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
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
    }
}
