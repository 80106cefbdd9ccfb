package io.ultralong.gateway.e2e;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;

/**
 * Where the tests read spans: the gateway's SDK (this bean joins it) and the in-JVM worker's SDK both end theirs
 * in one in-memory exporter, as a collector would receive them from the two services.
 */
public class TestSpans {

    static final InMemorySpanExporter EXPORTED = InMemorySpanExporter.create();

    /** The worker's own SDK, as the worker service would have: W3C propagation, spans to {@link #EXPORTED}. */
    static OpenTelemetry workerTelemetry() {
        return OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(EXPORTED)).build())
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
    }

    @Produces
    @Singleton
    SpanProcessor inMemory() {
        return SimpleSpanProcessor.create(EXPORTED);
    }
}
