package io.ultralong.worker.session;

import java.util.List;

import io.ultralong.protocol.query.ResponseEvent;

/**
 * The worker's durable view of its sessions: token chunks applied from {@code ul.tokens}, with the
 * position reached in each tokens partition stored atomically with the data, so that a restart
 * resumes exactly where the store stopped, whatever Kafka's committed offsets say.
 */
public interface SessionLedger {

    /** The next offset to read in a tokens partition: one past the last applied record, 0 if none. */
    long nextOffset(int partition);

    /**
     * Applies one {@code ul.tokens} record (a chunk, or a tombstone deleting the session) at
     * {@code offset}. Idempotent: a record applied before changes nothing.
     *
     * @throws RejectedChunkException when the record can never be applied (unreadable, a seq gap, a wrong first
     *                                position): nothing was written, the caller moves it aside
     * @throws StoreWriteException    when the store could not write it (disk full, ...): nothing was written, the
     *                                caller applies it again later
     */
    void apply(int partition, long offset, String session, byte[] value);

    /** The ul.records offset of the last whole record applied to the session; -1 if none. */
    long appliedSeq(String session);

    /**
     * Whether the session exists here: created ({@code POST /v1/sessions}) or written to, and not deleted
     * since. A query on a session that does not exist answers {@code session-not-found}.
     */
    boolean exists(String session);

    /**
     * The session's most recent records that ingest dead-lettered (marker chunks), oldest first: the
     * context lacks them, and answers say so.
     */
    default List<Rejection> rejections(String session) {
        return List.of();
    }

    /** A record of the session that ingest dead-lettered: its ul.records offset, reason code and message. */
    record Rejection(long seq, String reason, String message) {
    }

    /** How many context tokens the session holds; 0 if it does not exist. */
    long contextTokens(String session);

    /** Tells {@code listener} of every session a tombstone deleted, after the ledger dropped it. */
    void onSessionDeleted(java.util.function.Consumer<String> listener);

    /**
     * Tells {@code listener} of every session a tombstone deletes, before the ledger drops it, and waits for it: what
     * writes into the session's data stops there, so the delete leaves nothing behind.
     */
    default void onSessionDeleting(java.util.function.Consumer<String> listener) {
    }

    /** The session's live statistics for {@code GET /v1/sessions/{id}}. */
    ResponseEvent.SessionInfo info(String requestId, String session, int partition);

    /** The context tokens a standing query's last evaluation covered, kept across restarts; -1 if unknown. */
    default long watchProgress(String session, String watchId) {
        return -1;
    }

    /** Records how many context tokens a standing query's last evaluation covered. */
    default void recordWatchProgress(String session, String watchId, long contextTokens) {
    }

    /**
     * Why the ledger's writes fail now (a full disk, a file-size limit, an I/O error), or empty when they succeed. While
     * they fail {@link #apply} throws {@link StoreWriteException} and the caller retries later.
     */
    default java.util.Optional<String> writeFailure() {
        return java.util.Optional.empty();
    }

    /** Tries one small write, so a failure clears once writes succeed again; whether they do. */
    default boolean probeWrites() {
        return true;
    }

    /**
     * Why the session lacks records for good (they were gone from Kafka before this worker applied them), or empty.
     * Queries on such a session answer {@code context-incomplete} instead of answering over a context with a hole.
     */
    default java.util.Optional<String> incomplete(String session) {
        return java.util.Optional.empty();
    }

    /**
     * The partition's log no longer holds what this ledger applied from it (its stored position lies beyond the log
     * end: the topic was recreated, or Kafka lost records): drops the partition's sessions and its position, so the
     * partition is applied again from its log start.
     */
    default void rebuildPartition(int partition, java.util.function.ToIntFunction<String> partitionOf) {
    }

    /**
     * Offsets [from, to) of the partition were gone from Kafka before this ledger applied them (retention deleted
     * them, or Kafka lost them): its sessions, and any that later shows a seq gap, are marked {@link #incomplete}.
     */
    default void recordsLost(int partition, long from, long to, java.util.function.ToIntFunction<String> partitionOf) {
    }

    /** Tells {@code before} and {@code after} of every session {@link #rebuildPartition} drops (its watches stay). */
    default void onSessionRebuilding(java.util.function.Consumer<String> before, java.util.function.Consumer<String> after) {
    }

    /** Forgets the progress of a deleted standing query. */
    default void forgetWatch(String session, String watchId) {
    }
}
