package io.ultralong.gateway.trace;

import java.util.Optional;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.ext.Provider;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;

/**
 * Answers every API response, errors and Server-Sent Events streams included, with its trace id in
 * {@value #HEADER}, so that a user can hand the id of a slow or failed query to whoever reads the traces.
 */
@Provider
public class TraceIdHeader implements ContainerResponseFilter {

    public static final String HEADER = "X-Trace-Id";

    @Override
    public void filter(ContainerRequestContext request, ContainerResponseContext response) {
        current().ifPresent(traceId -> response.getHeaders().putSingle(HEADER, traceId));
    }

    /**
     * The trace id of the request being handled on this thread. Streamed answers (a {@code RestMulti}) pass no
     * response filter: they set the header themselves with this.
     */
    public static Optional<String> current() {
        SpanContext span = Span.current().getSpanContext();
        return span.isValid() ? Optional.of(span.getTraceId()) : Optional.empty();
    }
}
