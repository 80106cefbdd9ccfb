package io.ultralong.worker.query;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;

/**
 * Where a query's spans go: children of the context its request carried from the gateway (through the
 * {@code ul.requests} record's headers), so that the worker's queue, restore, prefill and decode show in the
 * caller's trace. Spans name the session by a hash, never by its key (keys hold tenants' session ids).
 */
public final class QueryTrace {

    public static final String QUEUE = "ul.worker.queue";
    public static final String RESTORE = "ul.worker.restore";
    public static final String PREFILL = "ul.worker.prefill";
    public static final String DECODE = "ul.worker.decode";

    /** No tracing: spans are no-ops (standing queries, tests, a worker given no OpenTelemetry). */
    public static final QueryTrace NONE = new QueryTrace(OpenTelemetry.noop().getTracer("ul-inference-worker"), Context.root());

    private final Tracer tracer;
    private final Context parent;

    public QueryTrace(Tracer tracer, Context parent) {
        this.tracer = tracer;
        this.parent = parent;
    }

    /** A span of this query's work, started now; the caller ends it. */
    public Span start(String name, QueryJob job) {
        return describe(tracer.spanBuilder(name).setParent(parent), job).startSpan();
    }

    /** Records the time {@code job} waited in the scheduler, from its arrival until now. */
    void queued(QueryJob job, String outcome) {
        long waitedNanos = System.nanoTime() - job.arrivalNanos();
        long nowEpochNanos = TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis());
        describe(tracer.spanBuilder(QUEUE).setParent(parent), job)
                .setStartTimestamp(nowEpochNanos - waitedNanos, TimeUnit.NANOSECONDS)
                .setAttribute("ul.queue.outcome", outcome)
                .startSpan()
                .end(nowEpochNanos, TimeUnit.NANOSECONDS);
    }

    private static SpanBuilder describe(SpanBuilder span, QueryJob job) {
        return span.setAttribute("ul.request.id", job.request().requestId())
                .setAttribute("ul.session.hash", sessionHash(job.request().session()))
                .setAttribute("ul.partition", (long) job.partition());
    }

    /** The first 8 bytes of the key's SHA-256, hex: enough to follow one session across traces. */
    static String sessionHash(String session) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(session.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
