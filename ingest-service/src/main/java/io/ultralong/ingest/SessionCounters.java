package io.ultralong.ingest;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * What ingest remembers per session: the seq of its next chunk and the position of its next token. Stored as 16
 * bytes (two little-endian int64) in the {@link IngestTopology#SESSION_COUNTERS_STORE} state store.
 *
 * @param nextSeq      seq of the session's next chunk (1 for a new or deleted session)
 * @param nextPosition number of context tokens the session has so far
 */
public record SessionCounters(long nextSeq, long nextPosition) {

    public static final SessionCounters NEW_SESSION = new SessionCounters(1, 0);
    private static final int BYTES = 16;

    public byte[] toBytes() {
        return ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(nextSeq).putLong(nextPosition).array();
    }

    public static SessionCounters fromBytes(byte[] bytes) {
        if (bytes == null) {
            return NEW_SESSION;
        }
        if (bytes.length != BYTES) {
            throw new IllegalStateException("session counters of " + bytes.length + " bytes, expected " + BYTES);
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        return new SessionCounters(buffer.getLong(), buffer.getLong());
    }
}
