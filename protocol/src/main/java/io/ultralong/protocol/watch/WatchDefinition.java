package io.ultralong.protocol.watch;

import io.ultralong.protocol.query.SamplingParams;

/**
 * A standing query: {@code question} is answered again over the session's whole context whenever
 * its trigger fires. The value on {@code ul.watches} (see {@link WatchKeys}); a tombstone deletes it.
 *
 * @param watchId        unique within the session
 * @param session        the full session key ({@code tenant/session})
 * @param question       what to answer
 * @param sampling       decoding parameters (greedy unless set)
 * @param everyTokens    fire once at least this many new context tokens arrived since the last
 *                       evaluation; 0 to fire on any new data
 * @param minIntervalMs  fire at most once per this many milliseconds while new data arrives; 0 for no limit
 * @param notifyWhen     a regular expression: only answers it finds a match in are published; null for all
 * @param createdAt      epoch milliseconds
 */
public record WatchDefinition(
        String watchId,
        String session,
        String question,
        SamplingParams sampling,
        long everyTokens,
        long minIntervalMs,
        String notifyWhen,
        long createdAt) {

    public WatchDefinition {
        if (watchId == null || watchId.isBlank() || session == null || session.isBlank()) {
            throw new IllegalArgumentException("watchId and session are required");
        }
        if (question == null || question.isBlank()) {
            throw new IllegalArgumentException("question is required");
        }
        if (everyTokens < 0 || minIntervalMs < 0) {
            throw new IllegalArgumentException("everyTokens and minIntervalMs must be >= 0");
        }
        if (sampling == null) {
            throw new IllegalArgumentException("sampling is required");
        }
    }
}
