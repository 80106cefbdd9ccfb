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
 */
public record TokenChunk(long seq, long firstPosition, long sourceOffset, boolean endOfRecord, int[] tokens) {

    public TokenChunk {
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
                && Arrays.equals(tokens, that.tokens);
    }

    @Override
    public int hashCode() {
        return 31 * Long.hashCode(seq) + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "TokenChunk[seq=" + seq + ", firstPosition=" + firstPosition + ", sourceOffset=" + sourceOffset
                + ", endOfRecord=" + endOfRecord + ", tokens=" + tokens.length + "]";
    }
}
