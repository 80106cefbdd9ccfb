package io.ultralong.worker.model;

import java.util.function.Consumer;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.runtime.generate.TokenListener;
import io.ultralong.worker.query.QueryJob;

/** Publishes each decoded piece of text as a numbered {@code token} event; stops when the query is cancelled. */
final class TokenStream implements TokenListener {

    private final String requestId;
    private final Consumer<ResponseEvent> events;
    private final QueryJob job;
    private final long startedNanos;
    private long index;
    long firstTokenMs = -1;

    TokenStream(String requestId, Consumer<ResponseEvent> events, QueryJob job, long startedNanos) {
        this.requestId = requestId;
        this.events = events;
        this.job = job;
        this.startedNanos = startedNanos;
    }

    @Override
    public boolean onToken(int tokenId, String text) {
        if (firstTokenMs < 0) {
            firstTokenMs = (System.nanoTime() - startedNanos) / 1_000_000;
        }
        if (!text.isEmpty()) {
            events.accept(new ResponseEvent.Token(requestId, index++, text));
        }
        return !job.cancelled() && !job.pastDeadline();
    }
}
