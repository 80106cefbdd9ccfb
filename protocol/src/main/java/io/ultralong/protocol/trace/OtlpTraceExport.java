package io.ultralong.protocol.trace;

import java.util.Optional;
import java.util.function.Function;

import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;

/**
 * Where the services' spans go: to an OTLP/HTTP collector when one is configured, nowhere otherwise.
 *
 * <p>Why not Quarkus's own OTLP exporter: it always exports, to {@code localhost:4317} when nothing is
 * configured, so every service without a collector would log export failures every few seconds, and it can
 * only be switched off at build time. Here the same setting ({@code quarkus.otel.exporter.otlp.endpoint}, or
 * its per-signal {@code quarkus.otel.exporter.otlp.traces.endpoint}) decides at run time. Spans are still
 * created without one, so a query's trace id exists and travels through Kafka either way.
 */
public final class OtlpTraceExport {

    /** The settings read, most specific first. */
    public static final String TRACES_ENDPOINT = "quarkus.otel.exporter.otlp.traces.endpoint";
    public static final String ENDPOINT = "quarkus.otel.exporter.otlp.endpoint";
    /** OTLP/HTTP's path for traces, appended to the generic endpoint (the OTLP exporter specification's rule). */
    static final String TRACES_PATH = "/v1/traces";

    private OtlpTraceExport() {
    }

    /** The OTLP/HTTP URL that traces go to, or empty when no endpoint is configured. */
    public static Optional<String> tracesUrl(Function<String, Optional<String>> config) {
        Optional<String> generic = config.apply(ENDPOINT).map(String::trim).filter(s -> !s.isEmpty());
        Optional<String> specific = config.apply(TRACES_ENDPOINT).map(String::trim).filter(s -> !s.isEmpty());
        // Quarkus answers the per-signal name with the generic value when only that one is set: that is no full URL.
        if (specific.isPresent() && !specific.equals(generic)) {
            return specific;
        }
        return generic.map(base -> (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + TRACES_PATH);
    }

    /** A batching OTLP/HTTP exporter to {@code tracesUrl}, or a processor that drops every span when empty. */
    public static SpanProcessor processor(Optional<String> tracesUrl) {
        return tracesUrl.<SpanProcessor>map(url -> BatchSpanProcessor.builder(
                        OtlpHttpSpanExporter.builder().setEndpoint(url).build()).build())
                .orElseGet(SpanProcessor::composite);
    }
}
