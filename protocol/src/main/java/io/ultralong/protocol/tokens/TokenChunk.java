package io.ultralong.protocol.tokens;

import java.util.Arrays;

/**
 * One sequenced piece of a session's context on {@code ul.tokens}.
 *
 * @param seq           per-session chunk sequence: 1, 2, 3, ... without gaps, assigned by ingest; the context
 *                      store uses it for idempotence and gap detection
 * @param firstPosition number of context tokens of the session before this chunk
 * @param sourceOffset  offset in its {@code ul.records} partition of the record the chunk came from; every chunk
 *                      of one record carries the same value (this is the "seq" the gateway returns for appends)
 * @param endOfRecord   whether this is the last chunk of its record, i.e. the record is now whole
 * @param tokens        token ids of the model's tokenizer
 * @param marker        for a record that adds no text: what it is instead (the session's creation, a record
 *                      ingest dead-lettered, or a duplicate of a record the session has); null for ordinary text. A marker chunk has no tokens and ends its
 *                      record, so it takes a seq like any record and waiting readers see its offset applied.
 */
public record TokenChunk(long seq, long firstPosition, long sourceOffset, boolean endOfRecord, int[] tokens,
                         Marker marker) {

    /** What a chunk without text stands for. */
    public sealed interface Marker {
        /** {@code POST /v1/sessions}: the session exists from here on, with this metadata (a JSON object). */
        record SessionCreated(String metadataJson) implements Marker {
            public SessionCreated {
                if (metadataJson == null) {
                    throw new IllegalArgumentException("metadataJson must not be null");
                }
            }
        }

        /** Ingest sent the record to the dead-letter topic with this reason code and message. */
        record Rejected(String reason, String message) implements Marker {
            public Rejected {
                if (reason == null || message == null) {
                    throw new IllegalArgumentException("reason and message must not be null");
                }
            }
        }

        /**
         * The record repeats one the session already has (same record id: a client retrying an append after a
         * 503, or a producer re-sending); its text is not added again. The chunk only makes its offset visible.
         */
        record Duplicate(String recordId) implements Marker {
            public Duplicate {
                if (recordId == null) {
                    throw new IllegalArgumentException("recordId must not be null");
                }
            }
        }
    }

    /** An ordinary chunk of a record's tokens. */
    public TokenChunk(long seq, long firstPosition, long sourceOffset, boolean endOfRecord, int[] tokens) {
        this(seq, firstPosition, sourceOffset, endOfRecord, tokens, null);
    }

    /** The one chunk of a record that adds no text, at the session's next seq and position. */
    public static TokenChunk marker(long seq, long position, long sourceOffset, Marker marker) {
        if (marker == null) {
            throw new IllegalArgumentException("marker must not be null");
        }
        return new TokenChunk(seq, position, sourceOffset, true, new int[0], marker);
    }

    public TokenChunk {
        if (marker != null && (tokens == null || tokens.length != 0 || !endOfRecord)) {
            throw new IllegalArgumentException("a marker chunk has no tokens and ends its record");
        }
        if (seq < 1) {
            throw new IllegalArgumentException("seq starts at 1, got " + seq);
        }
        if (firstPosition < 0 || sourceOffset < 0) {
            throw new IllegalArgumentException("positions and offsets are non-negative");
        }
        if (tokens == null) {
            throw new IllegalArgumentException("tokens must not be null");
        }
    }

    /** The position one past this chunk's last token. */
    public long endPosition() {
        return firstPosition + tokens.length;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TokenChunk that
                && seq == that.seq
                && firstPosition == that.firstPosition
                && sourceOffset == that.sourceOffset
                && endOfRecord == that.endOfRecord
                && Arrays.equals(tokens, that.tokens)
                && java.util.Objects.equals(marker, that.marker);
    }

    @Override
    public int hashCode() {
        return 31 * Long.hashCode(seq) + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "TokenChunk[seq=" + seq + ", firstPosition=" + firstPosition + ", sourceOffset=" + sourceOffset
                + ", endOfRecord=" + endOfRecord + ", tokens=" + tokens.length
                + (marker == null ? "" : ", marker=" + marker) + "]";
    }
}
