package io.ultralong.gateway.kafka;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

/**
 * The last acknowledged seq per session, for read-your-writes: a query waits until the worker has
 * applied it. Bounded (least recently used sessions are forgotten; a forgotten session's query then
 * waits for nothing, and a client can still pass {@code minSeq} itself).
 */
@ApplicationScoped
public class SeqTracker {

    private static final int MAX_SESSIONS = 100_000;

    private final Map<String, Long> lastAcked = Collections.synchronizedMap(new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > MAX_SESSIONS;
        }
    });

    void acknowledged(String sessionKey, long seq) {
        lastAcked.merge(sessionKey, seq, Math::max);
    }

    void forget(String sessionKey) {
        lastAcked.remove(sessionKey);
    }

    /** The last seq acknowledged for the session through this gateway, or -1. */
    public long lastAcknowledged(String sessionKey) {
        return lastAcked.getOrDefault(sessionKey, -1L);
    }
}
