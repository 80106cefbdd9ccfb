package io.ultralong.protocol.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class KafkaTraceContextTest {

    private final OpenTelemetry telemetry = OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().build())
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();

    @Test
    void aSpanContextSurvivesTheTripThroughRecordHeaders() {
        Span span = telemetry.getTracer("test").spanBuilder("publish").startSpan();
        RecordHeaders headers = new RecordHeaders();
        KafkaTraceContext.inject(telemetry, Context.current().with(span), headers);
        // Injected twice (a re-send): still one traceparent.
        KafkaTraceContext.inject(telemetry, Context.current().with(span), headers);
        span.end();

        assertThat(headers.headers("traceparent")).hasSize(1);
        assertThat(new String(headers.lastHeader("traceparent").value(), StandardCharsets.UTF_8))
                .isEqualTo("00-" + span.getSpanContext().getTraceId() + "-" + span.getSpanContext().getSpanId() + "-01");
        Span extracted = Span.fromContext(KafkaTraceContext.extract(telemetry, headers));
        assertThat(extracted.getSpanContext().getTraceId()).isEqualTo(span.getSpanContext().getTraceId());
        assertThat(extracted.getSpanContext().getSpanId()).isEqualTo(span.getSpanContext().getSpanId());
        assertThat(extracted.getSpanContext().isRemote()).isTrue();
    }

    @Test
    void aRecordWithoutContextGivesTheRootContext() {
        assertThat(Span.fromContext(KafkaTraceContext.extract(telemetry, new RecordHeaders())).getSpanContext().isValid())
                .isFalse();
        assertThat(KafkaTraceContext.extract(OpenTelemetry.noop(), new RecordHeaders())).isSameAs(Context.root());
    }
}
