package io.ultralong.gateway.e2e;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import jakarta.inject.Inject;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import io.ultralong.gateway.trace.TraceExport;
import io.ultralong.gateway.trace.TraceIdHeader;
import io.ultralong.protocol.trace.OtlpTraceExport;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.Test;

/**
 * A query's trace over the real pipeline: the gateway answers its trace id in {@code X-Trace-Id}, and the worker's
 * queue, restore, prefill and decode spans join that trace, under the gateway's span that published the request to
 * Kafka (the context travels in the record's headers). The test profile configures no OTLP endpoint: the app runs
 * and its SDK holds no exporter.
 */
@QuarkusTest
@WithTestResource(RealPipelineTestResource.class)
class QueryTracingTest {

    static final String ACME = "Bearer test-key-acme";
    static final List<String> WORKER_SPANS = List.of("ul.worker.queue", "ul.worker.restore", "ul.worker.prefill", "ul.worker.decode");

    @Inject
    OpenTelemetry telemetry;

    @Inject
    Config config;

    @Test
    void theWorkersSpansJoinTheTraceWhoseIdTheQueryAnswers() {
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body("disk full on node-7\nnode-7 drained")
                .post("/v1/sessions/trace-log/records").then().statusCode(202);

        ExtractableResponse<Response> json = given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"question\": \"Which node?\", \"maxTokens\": 4}")
                .post("/v1/sessions/trace-log/query").then().statusCode(200).extract();
        String traceId = json.header(TraceIdHeader.HEADER);
        assertThat(traceId).matches("[0-9a-f]{32}").isNotEqualTo("0".repeat(32));

        Map<String, SpanData> spans = awaitWorkerSpans(traceId);
        SpanData server = spans.get("server");
        SpanData publish = spans.values().stream().filter(s -> s.getKind() == SpanKind.PRODUCER).findFirst().orElseThrow();
        assertThat(publish.getParentSpanId()).isEqualTo(server.getSpanId());
        assertThat(publish.getName()).isEqualTo("e2e.requests publish");
        for (String name : WORKER_SPANS) {
            assertThat(spans.get(name).getTraceId()).as(name).isEqualTo(traceId);
            assertThat(spans.get(name).getParentSpanId()).as(name).isEqualTo(publish.getSpanId());
        }
        // The spans say what the answer's usage says.
        assertThat(spans.get("ul.worker.prefill").getAttributes().get(AttributeKey.longKey("ul.tokens.prefilled")))
                .isEqualTo(json.jsonPath().getLong("usage.prefilledTokens"));
        assertThat(spans.get("ul.worker.prefill").getAttributes().get(AttributeKey.longKey("ul.tokens.cached")))
                .isEqualTo(json.jsonPath().getLong("usage.cachedTokens"));
        assertThat(spans.get("ul.worker.decode").getAttributes().get(AttributeKey.longKey("ul.tokens.generated")))
                .isEqualTo(json.jsonPath().getLong("usage.completionTokens"));
        assertThat(spans.get("ul.worker.restore").getAttributes().get(AttributeKey.stringKey("ul.session.hash")))
                .matches("[0-9a-f]{16}");

        // SSE, and the OpenAI API plain and streamed: each answers its own trace id, and the worker's spans join it.
        String sse = given().header("Authorization", ACME).header("Accept", "text/event-stream").contentType(ContentType.JSON)
                .body("{\"question\": \"Which node?\", \"maxTokens\": 4}")
                .post("/v1/sessions/trace-log/query").then().statusCode(200).extract().header(TraceIdHeader.HEADER);
        String chat = given().header("Authorization", ACME).header("X-Session-Id", "trace-log").contentType(ContentType.JSON)
                .body("{\"messages\": [{\"role\": \"user\", \"content\": \"Which node?\"}], \"max_tokens\": 4}")
                .post("/v1/chat/completions").then().statusCode(200).extract().header(TraceIdHeader.HEADER);
        String chatStream = given().header("Authorization", ACME).header("X-Session-Id", "trace-log").contentType(ContentType.JSON)
                .body("{\"messages\": [{\"role\": \"user\", \"content\": \"Which node?\"}], \"max_tokens\": 4, \"stream\": true}")
                .post("/v1/chat/completions").then().statusCode(200).extract().header(TraceIdHeader.HEADER);
        assertThat(List.of(sse, chat, chatStream)).doesNotHaveDuplicates().doesNotContain(traceId);
        for (String id : List.of(sse, chat, chatStream)) {
            assertThat(id).matches("[0-9a-f]{32}");
            assertThat(awaitWorkerSpans(id).get("ul.worker.decode").getTraceId()).isEqualTo(id);
        }

        // An error answer carries its trace id too.
        assertThat(given().header("Authorization", ACME).contentType(ContentType.JSON).body("{}")
                .post("/v1/sessions/trace-log/query").then().statusCode(400).extract().header(TraceIdHeader.HEADER))
                .matches("[0-9a-f]{32}");
    }

    @Test
    void withNoEndpointConfiguredTheSdkHoldsNoExporter() {
        // The test profile sets no quarkus.otel.exporter.otlp.endpoint: the only processor is this test's in-memory one.
        assertThat(telemetry).isInstanceOf(OpenTelemetrySdk.class);
        String tracing = ((OpenTelemetrySdk) telemetry).getSdkTracerProvider().toString();
        assertThat(tracing).contains("InMemorySpanExporter").doesNotContainIgnoringCase("otlp").doesNotContain("Vertx");
        assertThat(TraceExport.setByUser(config, OtlpTraceExport.ENDPOINT)).isEmpty();
        assertThat(config.getOptionalValue(OtlpTraceExport.ENDPOINT, String.class)).as("Quarkus's default").isPresent();
    }

    /** The trace's spans by name (the gateway's server span as "server"), once the worker's four are all there. */
    private static Map<String, SpanData> awaitWorkerSpans(String traceId) {
        return await().atMost(Duration.ofSeconds(20)).until(() -> {
            Map<String, SpanData> byName = TestSpans.EXPORTED.getFinishedSpanItems().stream()
                    .filter(span -> span.getTraceId().equals(traceId))
                    .collect(Collectors.toMap(span -> span.getKind() == SpanKind.SERVER ? "server" : span.getName(),
                            Function.identity(), (a, b) -> a));
            return byName;
        }, byName -> byName.keySet().containsAll(WORKER_SPANS) && byName.containsKey("server"));
    }
}
