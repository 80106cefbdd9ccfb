package io.ultralong.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** Key encodings shared by the column families; big-endian numbers so keys sort in numeric order. */
final class StoreKeys {

    private StoreKeys() {
    }

    static byte[] sessionKey(String session) {
        return session.getBytes(UTF_8);
    }

    /** 2-byte length then UTF-8 key, so no session's prefix is a prefix of another's. */
    static byte[] sessionPrefix(String session) {
        byte[] s = session.getBytes(UTF_8);
        if (s.length > 0xFFFF) {
            throw new IllegalArgumentException("session key longer than 65535 bytes");
        }
        return ByteBuffer.allocate(2 + s.length).putShort((short) s.length).put(s).array();
    }

    /** The session a {@link #sessionPrefix} starts {@code key} with. */
    static String sessionOf(byte[] key) {
        int length = ((key[0] & 0xFF) << 8) | (key[1] & 0xFF);
        return new String(key, 2, length, UTF_8);
    }

    static byte[] seqKey(String session, long seq) {
        byte[] p = sessionPrefix(session);
        return ByteBuffer.allocate(p.length + Long.BYTES).put(p).putLong(seq).array();
    }

    static byte[] longValue(long value) {
        return ByteBuffer.allocate(Long.BYTES).putLong(value).array();
    }

    /** Smallest key greater than every key starting with prefix (prefix followed by 0xFF bytes). */
    static byte[] rangeEnd(byte[] prefix) {
        byte[] end = Arrays.copyOf(prefix, prefix.length + 9);
        Arrays.fill(end, prefix.length, end.length, (byte) 0xFF);
        return end;
    }

    static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }
}
