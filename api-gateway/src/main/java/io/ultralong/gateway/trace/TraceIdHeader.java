package io.ultralong.gateway.trace;

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
        SpanContext span = Span.current().getSpanContext();
        if (span.isValid()) {
            response.getHeaders().putSingle(HEADER, span.getTraceId());
        }
    }
}
