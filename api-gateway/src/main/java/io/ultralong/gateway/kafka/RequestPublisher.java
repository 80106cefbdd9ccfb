package io.ultralong.gateway.kafka;

import java.util.concurrent.CompletionStage;

import jakarta.enterprise.context.ApplicationScoped;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.WorkerRequest;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.protocol.trace.KafkaTraceContext;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Sends requests to the worker owning the session: {@code ul.requests}, keyed by the session key. Each send is a
 * producer span whose context goes along in the record's headers, so the worker's spans join the caller's trace.
 */
@ApplicationScoped
public class RequestPublisher {

    private final KafkaProducers producers;
    private final Topics topics;
    private final OpenTelemetry telemetry;

    public RequestPublisher(KafkaProducers producers, Topics topics, OpenTelemetry telemetry) {
        this.producers = producers;
        this.topics = topics;
        this.telemetry = telemetry;
    }

    /** Sends within the current trace context. */
    public CompletionStage<Void> send(WorkerRequest request) {
        return send(request, Context.current());
    }

    /** Sends as part of {@code trace} (the HTTP request's context, captured on its thread). */
    public CompletionStage<Void> send(WorkerRequest request, Context trace) {
        Span span = telemetry.getTracer("ul-api-gateway").spanBuilder(topics.requests() + " publish")
                .setParent(trace).setSpanKind(SpanKind.PRODUCER)
                .setAttribute("messaging.system", "kafka")
                .setAttribute("messaging.destination.name", topics.requests())
                .setAttribute("ul.request.id", request.requestId())
                .startSpan();
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topics.requests(), request.session(), QueryJson.encode(request));
        KafkaTraceContext.inject(telemetry, trace.with(span), record.headers());
        return producers.send(record).whenComplete((sent, error) -> {
            if (error != null) {
                span.setStatus(StatusCode.ERROR, error.getMessage());
            }
            span.end();
        });
    }
}
