package io.ultralong.ingest;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

import org.apache.kafka.common.utils.Bytes;

/**
 * Keys of the {@link IngestTopology#RECORD_IDS_STORE}: {@code [int32 key length][session key][SHA-256 of the id]}.
 * The length prefix makes one session's ids a prefix range no other session's key can fall into (a prefix scan
 * deletes them with the session); hashing keeps every entry at 32 bytes whatever the producer's id.
 */
final class RecordIdKey {

    private RecordIdKey() {
    }

    static Bytes sessionPrefix(byte[] sessionKey) {
        return Bytes.wrap(ByteBuffer.allocate(Integer.BYTES + sessionKey.length).putInt(sessionKey.length)
                .put(sessionKey).array());
    }

    static Bytes of(byte[] sessionKey, String recordId) {
        byte[] digest = sha256(recordId.getBytes(StandardCharsets.UTF_8));
        return Bytes.wrap(ByteBuffer.allocate(Integer.BYTES + sessionKey.length + digest.length)
                .putInt(sessionKey.length).put(sessionKey).put(digest).array());
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
