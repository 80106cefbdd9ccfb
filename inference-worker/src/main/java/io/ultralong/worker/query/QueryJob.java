package io.ultralong.worker.query;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;

/**
 * A query taken from {@code ul.requests} at {@code partition}/{@code offset}, on its way through
 * the scheduler. {@code priority} 0 is a user's query; higher values (standing queries) wait behind.
 */
public final class QueryJob {

    private final QueryRequest request;
    private final int partition;
    private final long offset;
    private final int priority;
    private final long arrivalNanos = System.nanoTime();
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final Consumer<ResponseEvent> events;
    private final QueryTrace trace;
    private final AtomicBoolean leftQueue = new AtomicBoolean();
    private volatile boolean abandoned;
    private volatile long coveredSeq = -1;
    private volatile long coveredTokens = -1;
    private volatile int tenantRound;

    /** A user's query from {@code ul.requests}: its events go to {@code ul.responses}. */
    public QueryJob(QueryRequest request, int partition, long offset, int priority) {
        this(request, partition, offset, priority, null, QueryTrace.NONE);
    }

    /** A user's query whose spans join the trace its request carried. */
    public QueryJob(QueryRequest request, int partition, long offset, int priority, QueryTrace trace) {
        this(request, partition, offset, priority, null, trace);
    }

    /**
     * A query the worker asks itself (a standing query's evaluation): not from {@code ul.requests}
     * ({@code offset} -1), its events, terminal one included, go to {@code events} instead.
     */
    public QueryJob(QueryRequest request, int partition, int priority, Consumer<ResponseEvent> events) {
        this(request, partition, -1, priority, events, QueryTrace.NONE);
    }

    private QueryJob(QueryRequest request, int partition, long offset, int priority, Consumer<ResponseEvent> events,
                     QueryTrace trace) {
        this.request = request;
        this.partition = partition;
        this.offset = offset;
        this.priority = priority;
        this.events = events;
        this.trace = trace;
    }

    /** How many queries of its tenant were queued ahead of it when it arrived: tenants take turns by it. */
    int tenantRound() {
        return tenantRound;
    }

    void tenantRound(int round) {
        this.tenantRound = round;
    }

    /** Where this query's spans go. */
    public QueryTrace trace() {
        return trace;
    }

    /** The job leaves the scheduler's queue (for the model, or ended there): its wait is recorded once. */
    void leftQueue(String outcome) {
        if (leftQueue.compareAndSet(false, true)) {
            trace.queued(this, outcome);
        }
    }

    /** Where this job's events go instead of {@code ul.responses}, or null. */
    Consumer<ResponseEvent> events() {
        return events;
    }

    public QueryRequest request() {
        return request;
    }

    public int partition() {
        return partition;
    }

    public long offset() {
        return offset;
    }

    public int priority() {
        return priority;
    }

    public long arrivalNanos() {
        return arrivalNanos;
    }

    /** Its client went away: stop and report nothing more. */
    public void cancel() {
        cancelled.set(true);
    }

    /** Its partition moved to another worker, which answers it again: stop silently. */
    public void abandon() {
        abandoned = true;
        cancelled.set(true);
    }

    public boolean cancelled() {
        return cancelled.get();
    }

    public boolean abandoned() {
        return abandoned;
    }

    /** Set by the engine: the answer sees the session's context up to this ul.records offset, this many tokens. */
    public void covered(long seq, long contextTokens) {
        this.coveredSeq = seq;
        this.coveredTokens = contextTokens;
    }

    public long coveredSeq() {
        return coveredSeq;
    }

    public long coveredTokens() {
        return coveredTokens;
    }

    public boolean pastDeadline() {
        return System.currentTimeMillis() > request.deadlineEpochMs();
    }
}
