package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.trace.KafkaTraceContext;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's spans of a query: children of the trace context its {@code ul.requests} record carries, with the
 * token counts its answer reports; a request without context starts its own trace; a query ended in the queue
 * records its wait and nothing else.
 */
@ExtendWith(KafkaBrokerExtension.class)
class WorkerTracingTest {

    static final List<String> WORKER_SPANS = List.of("ul.worker.queue", "ul.worker.restore", "ul.worker.prefill", "ul.worker.decode");

    private final InMemorySpanExporter exported = InMemorySpanExporter.create();
    private final OpenTelemetrySdk telemetry = OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exported)).build())
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();

    @Test
    void aQuerysSpansAreChildrenOfTheContextItsRequestCarried(KafkaBroker broker, @TempDir Path data) throws Exception {
        Path modelDir = SyntheticModelWriter.write(data.resolve("model"), SyntheticModelSpec.tiny());
        String session = "acme/traced";
        try (WorkerHarness harness = new WorkerHarness(broker);
             Worker worker = Worker.start(harness.settings("w1", data.resolve("worker"), Duration.ofSeconds(10)),
                     WorkerHarness.model(modelDir), telemetry)) {
            long seq = harness.append(session, worker.runtime().tokenizer().encode("gpu-3 overheated at 91 C; jobs moved to gpu-4\n"));

            // The gateway's publish span, as its record headers carry it.
            Span publish = telemetry.getTracer("test").spanBuilder("publish").startSpan();
            RecordHeaders headers = new RecordHeaders();
            KafkaTraceContext.inject(telemetry, Context.root().with(publish), headers);
            publish.end();
            String first = harness.ask(session, "Which GPU?", seq, 5, Duration.ofMinutes(2), headers);
            ResponseEvent.Done done = (ResponseEvent.Done) harness.terminal(first, Duration.ofSeconds(60));

            SpanContext parent = publish.getSpanContext();
            Map<String, SpanData> spans = awaitSpans(first, WORKER_SPANS);
            for (String name : WORKER_SPANS) {
                assertThat(spans.get(name).getTraceId()).as(name).isEqualTo(parent.getTraceId());
                assertThat(spans.get(name).getParentSpanId()).as(name).isEqualTo(parent.getSpanId());
            }
            assertThat(longAttribute(spans.get("ul.worker.prefill"), "ul.tokens.prefilled")).isEqualTo(done.usage().prefilledTokens());
            assertThat(longAttribute(spans.get("ul.worker.prefill"), "ul.tokens.cached")).isZero();
            assertThat(longAttribute(spans.get("ul.worker.decode"), "ul.tokens.generated")).isEqualTo(done.usage().completionTokens());
            assertThat(spans.get("ul.worker.restore").getAttributes().get(AttributeKey.stringKey("ul.kv.source"))).isEqualTo("store");
            assertThat(spans.get("ul.worker.queue").getAttributes().get(AttributeKey.stringKey("ul.queue.outcome"))).isEqualTo("to-model");
            assertThat(spans.get("ul.worker.queue").getAttributes().get(AttributeKey.stringKey("ul.session.hash")))
                    .matches("[0-9a-f]{16}").doesNotContain("traced");

            // No context in the record: the worker's spans start a trace of their own; the cache is in memory now.
            String second = harness.ask(session, "Which GPU?", seq, 5);
            ResponseEvent.Done again = (ResponseEvent.Done) harness.terminal(second, Duration.ofSeconds(60));
            Map<String, SpanData> own = awaitSpans(second, WORKER_SPANS);
            assertThat(own.get("ul.worker.prefill").getTraceId()).isNotEqualTo(parent.getTraceId());
            assertThat(own.get("ul.worker.prefill").getParentSpanContext().isValid()).isFalse();
            assertThat(own.get("ul.worker.restore").getAttributes().get(AttributeKey.stringKey("ul.kv.source"))).isEqualTo("memory");
            assertThat(longAttribute(own.get("ul.worker.restore"), "ul.tokens.cached")).isEqualTo(again.usage().cachedTokens()).isPositive();

            // Waiting for a seq that never comes: the deadline ends it in the queue, which its one span says.
            String starved = harness.ask(session, "Which GPU?", seq + 1_000_000, 5, Duration.ofSeconds(2));
            assertThat(harness.terminal(starved, Duration.ofSeconds(30))).isInstanceOf(ResponseEvent.Error.class);
            Map<String, SpanData> queued = awaitSpans(starved, List.of("ul.worker.queue"));
            assertThat(queued.get("ul.worker.queue").getAttributes().get(AttributeKey.stringKey("ul.queue.outcome")))
                    .isEqualTo(ErrorCode.DEADLINE_EXCEEDED.wireName());
            assertThat(queued).containsOnlyKeys("ul.worker.queue");
        }
    }

    private Map<String, SpanData> awaitSpans(String requestId, List<String> names) {
        return await().atMost(Duration.ofSeconds(20)).until(() -> exported.getFinishedSpanItems().stream()
                        .filter(span -> requestId.equals(span.getAttributes().get(AttributeKey.stringKey("ul.request.id"))))
                        .collect(Collectors.toMap(SpanData::getName, Function.identity(), (a, b) -> a)),
                byName -> byName.keySet().containsAll(names));
    }

    private static long longAttribute(SpanData span, String key) {
        return span.getAttributes().get(AttributeKey.longKey(key));
    }
}
