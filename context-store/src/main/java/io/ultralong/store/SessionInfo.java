package io.ultralong.store;

/** Durable per-session counters; lastSeq 0 means no chunk applied yet. */
public record SessionInfo(String sessionKey, long lastSeq, long lastSourceOffset, long tokenCount,
                          long createdMillis, long updatedMillis, byte[] metadata) {
}
