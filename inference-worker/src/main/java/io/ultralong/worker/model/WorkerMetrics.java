package io.ultralong.worker.model;

import java.util.concurrent.atomic.AtomicLong;

/** The model's counters, read by the service's metrics registry. */
public final class WorkerMetrics {

    private final AtomicLong prefilledTokens = new AtomicLong();
    private final AtomicLong prefillMillis = new AtomicLong();
    private final AtomicLong reusedTokens = new AtomicLong();
    private final AtomicLong decodedTokens = new AtomicLong();
    private final AtomicLong decodeMillis = new AtomicLong();
    private final AtomicLong memoryHits = new AtomicLong();
    private final AtomicLong memoryMisses = new AtomicLong();
    private final AtomicLong refusedForMemory = new AtomicLong();
    private final AtomicLong evictedForRoom = new AtomicLong();

    void prefilled(long tokens, long millis) {
        prefilledTokens.addAndGet(tokens);
        prefillMillis.addAndGet(millis);
    }

    void reused(long tokens) {
        reusedTokens.addAndGet(tokens);
    }

    void decoded(long tokens, long millis) {
        decodedTokens.addAndGet(tokens);
        decodeMillis.addAndGet(millis);
    }

    void memoryHit() {
        memoryHits.incrementAndGet();
    }

    void memoryMiss() {
        memoryMisses.incrementAndGet();
    }

    void refused() {
        refusedForMemory.incrementAndGet();
    }

    void evictedForRoom(int sessions) {
        evictedForRoom.addAndGet(sessions);
    }

    /** Queries refused before their prefill because their session's KV would not fit ({@code context-exceeds-device-memory}). */
    public long refusedForMemory() {
        return refusedForMemory.get();
    }

    /** Sessions' in-memory KV caches evicted to make room for another session's query. */
    public long evictedForRoom() {
        return evictedForRoom.get();
    }

    public long prefilledTokens() {
        return prefilledTokens.get();
    }

    /** Tokens answered from a KV cache (memory or store) instead of being prefilled. */
    public long reusedTokens() {
        return reusedTokens.get();
    }

    public long decodedTokens() {
        return decodedTokens.get();
    }

    public double prefillTokensPerSecond() {
        long millis = prefillMillis.get();
        return millis == 0 ? 0 : prefilledTokens.get() * 1000.0 / millis;
    }

    public double decodeTokensPerSecond() {
        long millis = decodeMillis.get();
        return millis == 0 ? 0 : decodedTokens.get() * 1000.0 / millis;
    }

    /** Queries whose session's KV cache was in memory. */
    public long memoryHits() {
        return memoryHits.get();
    }

    public long memoryMisses() {
        return memoryMisses.get();
    }
}
