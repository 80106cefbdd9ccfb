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

    /**
     * Sessions deleted through this gateway, and when: until the owning worker has surely applied the
     * tombstone, this gateway answers 404 for them itself (a query sent right after a delete could
     * otherwise reach the worker first and answer over the deleted context).
     */
    private final Map<String, Long> deletedAt = Collections.synchronizedMap(new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > MAX_SESSIONS;
        }
    });

    /** How long this gateway remembers a delete of its own. */
    static final long DELETE_MEMORY_MS = 60_000;

    void acknowledged(String sessionKey, long seq) {
        lastAcked.merge(sessionKey, seq, Math::max);
        deletedAt.remove(sessionKey);
    }

    void forget(String sessionKey) {
        lastAcked.remove(sessionKey);
        deletedAt.put(sessionKey, System.currentTimeMillis());
    }

    /** Whether this gateway deleted the session within the last minute and nothing was written to it since. */
    public boolean recentlyDeleted(String sessionKey) {
        Long at = deletedAt.get(sessionKey);
        return at != null && System.currentTimeMillis() - at < DELETE_MEMORY_MS;
    }

    /** The last seq acknowledged for the session through this gateway, or -1. */
    public long lastAcknowledged(String sessionKey) {
        return lastAcked.getOrDefault(sessionKey, -1L);
    }
}
