package io.ultralong.protocol.query;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a worker reports about a request on {@code ul.responses} (key = request id), in order:
 * any number of {@code progress} and {@code token} events, then exactly one {@code done} or {@code error}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = ResponseEvent.Progress.class, name = "progress"),
        @JsonSubTypes.Type(value = ResponseEvent.Token.class, name = "token"),
        @JsonSubTypes.Type(value = ResponseEvent.Done.class, name = "done"),
        @JsonSubTypes.Type(value = ResponseEvent.Error.class, name = "error"),
        @JsonSubTypes.Type(value = ResponseEvent.SessionInfo.class, name = "session-info"),
        @JsonSubTypes.Type(value = ResponseEvent.SessionList.class, name = "session-list"),
        @JsonSubTypes.Type(value = ResponseEvent.WorkerStatus.class, name = "worker-status")})
public sealed interface ResponseEvent {

    String requestId();

    /** Whether this event ends the request. */
    default boolean terminal() {
        return false;
    }

    /** Prefill progress: {@code prefilled} of {@code total} tokens still to compute are done. */
    record Progress(String requestId, long prefilled, long total) implements ResponseEvent {
    }

    /**
     * A piece of the answer's text; never splits a UTF-8 character. {@code index} counts the request's
     * token events from 0, so that a consumer can drop the repeats of a request processed twice.
     */
    record Token(String requestId, long index, String text) implements ResponseEvent {
    }

    /**
     * The whole answer. {@code warnings}: what the client should know about the context the answer saw,
     * e.g. records of the session that ingest dead-lettered (so the context lacks them); never null.
     */
    record Done(String requestId, String answer, String finishReason, Usage usage, Timings timings,
                String model, boolean demoModel, List<String> warnings) implements ResponseEvent {
        public Done {
            warnings = warnings == null ? List.of() : List.copyOf(warnings);
        }

        public Done(String requestId, String answer, String finishReason, Usage usage, Timings timings,
                    String model, boolean demoModel) {
            this(requestId, answer, finishReason, usage, timings, model, demoModel, List.of());
        }

        /** This answer with {@code more} warnings after its own. */
        public Done withWarnings(List<String> more) {
            if (more.isEmpty()) {
                return this;
            }
            List<String> all = new ArrayList<>(warnings);
            all.addAll(more);
            return new Done(requestId, answer, finishReason, usage, timings, model, demoModel, all);
        }

        @Override
        public boolean terminal() {
            return true;
        }
    }

    /** The request failed; {@code code} is one of {@link ErrorCode}'s wire names. */
    record Error(String requestId, String code, String message) implements ResponseEvent {
        @Override
        public boolean terminal() {
            return true;
        }
    }

    /**
     * A session's live state on its worker. Seqs are ul.records offsets ({@code -1}: none yet);
     * timestamps are epoch milliseconds ({@code 0}: never); {@code metadata}: the JSON object given when
     * the session was created ({@code POST /v1/sessions}), null if it was created by its first record.
     */
    record SessionInfo(String requestId, boolean exists, long records, long tokens, long lastSeq,
                       long appliedSeq, long cachedTokens, int partition, long createdAt, long updatedAt,
                       JsonNode metadata)
            implements ResponseEvent {

        public SessionInfo(String requestId, boolean exists, long records, long tokens, long lastSeq,
                           long appliedSeq, long cachedTokens, int partition, long createdAt, long updatedAt) {
            this(requestId, exists, records, tokens, lastSeq, appliedSeq, cachedTokens, partition, createdAt,
                    updatedAt, null);
        }

        @Override
        public boolean terminal() {
            return true;
        }
    }

    /** The sessions a {@link WorkerRequest.ListSessions} asked for, from the owner of {@code partition}. */
    record SessionList(String requestId, int partition, String workerId, List<SessionSummary> sessions)
            implements ResponseEvent {
        @Override
        public boolean terminal() {
            return true;
        }
    }

    /**
     * One session in a {@link SessionList}: its full key, the figures of {@link SessionInfo}, and where its
     * resident KV cache is ({@code kvLocation}, e.g. {@code device gpu(0)}, {@code host cpu()}; empty when none
     * is resident: a query then restores it from the store or prefills it).
     */
    record SessionSummary(String key, long records, long tokens, long lastSeq, long cachedTokens, String kvLocation,
                          long updatedAt) {
    }

    /**
     * A worker's state, from the owner of the partition the request went to: the partitions it owns,
     * queries waiting, KV cache held in memory and where ({@code kvTier}: device or host), throughput
     * since start, and the model it serves with that model's licence.
     */
    record WorkerStatus(String requestId, String workerId, List<Integer> partitions, int queueDepth,
                        long kvMemoryBytes, String device, String kvTier, double prefillTokensPerSecond,
                        double decodeTokensPerSecond, long prefilledTokens, long decodedTokens, String model,
                        String licence, boolean demoModel) implements ResponseEvent {
        @Override
        public boolean terminal() {
            return true;
        }
    }

    /**
     * Token accounting. {@code contextTokens}: every prompt token the answer saw (the session's
     * context and the question); of those, {@code cachedTokens} came from the KV cache and
     * {@code prefilledTokens} were computed for this request, so the two add up to
     * {@code contextTokens}; {@code completionTokens}: generated.
     */
    record Usage(long contextTokens, long cachedTokens, long prefilledTokens, long completionTokens) {
    }

    /** Milliseconds spent waiting for the context, prefilling, to the first token, and decoding. */
    record Timings(long queuedMs, long prefillMs, long timeToFirstTokenMs, long decodeMs) {
    }
}
