package io.ultralong.worker.query;

import java.util.concurrent.atomic.AtomicBoolean;

import io.ultralong.protocol.query.QueryRequest;

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
    private volatile boolean abandoned;

    public QueryJob(QueryRequest request, int partition, long offset, int priority) {
        this.request = request;
        this.partition = partition;
        this.offset = offset;
        this.priority = priority;
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

    public boolean pastDeadline() {
        return System.currentTimeMillis() > request.deadlineEpochMs();
    }
}
