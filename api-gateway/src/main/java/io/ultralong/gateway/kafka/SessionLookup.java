package io.ultralong.gateway.kafka;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.WorkerRequest;

/**
 * Whether a session exists, and its live state, as the worker owning it knows: the worker's ledger is
 * the one durable view of sessions (created, written straight to Kafka, deleted), across gateway
 * restarts and instances. Read-your-writes: while the worker has not yet applied the last seq this
 * gateway acknowledged for the session (a create or append just now), it asks again, within the timeout.
 */
@ApplicationScoped
public class SessionLookup {

    private static final long FIRST_RETRY_NANOS = Duration.ofMillis(20).toNanos();
    private static final long MAX_RETRY_NANOS = Duration.ofMillis(500).toNanos();

    private final QueryRelay relay;
    private final SeqTracker seqs;

    public SessionLookup(QueryRelay relay, SeqTracker seqs) {
        this.relay = relay;
        this.seqs = seqs;
    }

    /** The worker's answer: a {@code session-info} event (possibly {@code exists == false}), or an error event. */
    public ResponseEvent info(String sessionKey, Duration timeout) {
        return infoLater(sessionKey, timeout).await().indefinitely();
    }

    /** {@link #info} without holding the caller's thread: retries wait on a timer, not a parked thread. */
    public Uni<ResponseEvent> infoLater(String sessionKey, Duration timeout) {
        return attempt(sessionKey, System.nanoTime() + timeout.toNanos(), FIRST_RETRY_NANOS);
    }

    private Uni<ResponseEvent> attempt(String sessionKey, long deadline, long pause) {
        if (seqs.recentlyDeleted(sessionKey)) {
            return Uni.createFrom().item(new ResponseEvent.SessionInfo("deleted", false, 0, 0, -1, -1, 0, -1, 0, 0));
        }
        long remaining = deadline - System.nanoTime();
        WorkerRequest.SessionInfo request = new WorkerRequest.SessionInfo(QueryRelay.newRequestId(), sessionKey,
                System.currentTimeMillis() + Duration.ofNanos(remaining).toMillis());
        return relay.events(request, Duration.ofNanos(Math.max(remaining, 1))).toUni().flatMap(answer -> {
            long acknowledged = seqs.lastAcknowledged(sessionKey);
            boolean behind = acknowledged >= 0 && answer instanceof ResponseEvent.SessionInfo info
                    && (!info.exists() || info.appliedSeq() < acknowledged);
            if (!behind || System.nanoTime() + pause >= deadline) {
                return Uni.createFrom().item(answer);
            }
            return Uni.createFrom().voidItem().onItem().delayIt().by(Duration.ofNanos(pause))
                    .flatMap(waited -> attempt(sessionKey, deadline, Math.min(2 * pause, MAX_RETRY_NANOS)));
        });
    }
}
