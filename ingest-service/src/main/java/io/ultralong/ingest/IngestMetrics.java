package io.ultralong.ingest;

import io.ultralong.protocol.records.RejectReason;

/**
 * Counts what the topology does, for the service's metrics. Called on stream threads: implementations must be
 * thread-safe and cheap. Under exactly-once a record reprocessed after a crash is counted again, so these are
 * processing rates, not exact totals (the exact output is what is committed on the topics).
 */
public interface IngestMetrics {

    /** Counts nothing: for embedded use and tests that read the topics instead. */
    IngestMetrics NONE = new IngestMetrics() {
    };

    /** A valid record became {@code chunks} chunks holding {@code tokens} tokens in all. */
    default void recordTokenized(int chunks, int tokens) {
    }

    default void recordRejected(RejectReason reason) {
    }

    default void sessionDeleted() {
    }

    /** A record repeated an id its session already had, and was dropped (a retried append). */
    default void recordDuplicate() {
    }
}
