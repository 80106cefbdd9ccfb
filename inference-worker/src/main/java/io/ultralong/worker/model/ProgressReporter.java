package io.ultralong.worker.model;

import java.util.concurrent.CancellationException;
import java.util.function.Consumer;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.worker.query.QueryJob;

/**
 * Turns the runtime's per-chunk prefill callbacks into {@code progress} events over the whole
 * request (context and question), and stops a prefill whose query was cancelled at the next chunk
 * boundary, where the cache is consistent.
 */
final class ProgressReporter implements PrefillListener {

    private final String requestId;
    private final long total;
    private final Consumer<ResponseEvent> events;
    private final QueryJob job;
    private final long before;

    ProgressReporter(String requestId, long total, Consumer<ResponseEvent> events, QueryJob job) {
        this(requestId, total, events, job, 0);
    }

    private ProgressReporter(String requestId, long total, Consumer<ResponseEvent> events, QueryJob job, long before) {
        this.requestId = requestId;
        this.total = total;
        this.events = events;
        this.job = job;
        this.before = before;
    }

    /** The same reporter for a later prefill that starts after {@code done} tokens of the request. */
    ProgressReporter offset(long done) {
        return new ProgressReporter(requestId, total, events, job, done);
    }

    @Override
    public void onProgress(long tokensDone, long tokensTotal) {
        if (job.cancelled()) {
            throw new CancellationException("query " + requestId + " was cancelled");
        }
        events.accept(new ResponseEvent.Progress(requestId, before + tokensDone, total));
    }
}
