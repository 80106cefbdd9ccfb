package io.ultralong.protocol.tokens;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The {@code ul.tokens} value format: compact, little-endian, versioned.
 *
 * <pre>
 * offset size  field
 *  0     1     magic 0x55 ('U')
 *  1     1     version 1
 *  2     1     flags: bit 0 = endOfRecord, other bits zero
 *  3     8     seq            (int64)
 * 11     8     firstPosition  (int64)
 * 19     8     sourceOffset   (int64)
 * 27     4     token count n  (int32)
 * 31     4*n   token ids      (int32 each)
 * </pre>
 *
 * With flag bit 1 (a marker chunk: n is 0, bit 0 is set) the marker follows the token ids:
 *
 * <pre>
 *  1     kind: 1 = session created, 2 = record rejected (dead-lettered by ingest), 3 = duplicate record
 *  4+m   text a: int32 length m, then m bytes of UTF-8 (created: the metadata JSON; rejected: the reason code;
 *              duplicate: the record id)
 *  4+k   text b: int32 length k, then k bytes of UTF-8 (created, duplicate: empty; rejected: the message)
 * </pre>
 *
 * A null value (tombstone) deletes the session. Anything else that does not match this layout exactly is
 * rejected with {@link IllegalArgumentException}, never half-read.
 */
public final class TokenChunkCodec {

    public static final byte MAGIC = 0x55;
    public static final byte VERSION = 1;
    static final int HEADER_BYTES = 31;
    private static final int END_OF_RECORD = 1;
    private static final int HAS_MARKER = 2;
    private static final byte SESSION_CREATED = 1;
    private static final byte REJECTED = 2;
    private static final byte DUPLICATE = 3;

    private TokenChunkCodec() {
    }

    public static byte[] encode(TokenChunk chunk) {
        byte[] a = new byte[0];
        byte[] b = new byte[0];
        byte kind = 0;
        if (chunk.marker() instanceof TokenChunk.Marker.SessionCreated created) {
            kind = SESSION_CREATED;
            a = created.metadataJson().getBytes(StandardCharsets.UTF_8);
        } else if (chunk.marker() instanceof TokenChunk.Marker.Rejected rejected) {
            kind = REJECTED;
            a = rejected.reason().getBytes(StandardCharsets.UTF_8);
            b = rejected.message().getBytes(StandardCharsets.UTF_8);
        } else if (chunk.marker() instanceof TokenChunk.Marker.Duplicate duplicate) {
            kind = DUPLICATE;
            a = duplicate.recordId().getBytes(StandardCharsets.UTF_8);
        }
        int markerBytes = kind == 0 ? 0 : 1 + 4 + a.length + 4 + b.length;
        ByteBuffer buffer = ByteBuffer.allocate(HEADER_BYTES + 4 * chunk.tokens().length + markerBytes)
                .order(ByteOrder.LITTLE_ENDIAN);
        int flags = (chunk.endOfRecord() ? END_OF_RECORD : 0) | (kind == 0 ? 0 : HAS_MARKER);
        buffer.put(MAGIC).put(VERSION).put((byte) flags);
        buffer.putLong(chunk.seq()).putLong(chunk.firstPosition()).putLong(chunk.sourceOffset());
        buffer.putInt(chunk.tokens().length);
        buffer.asIntBuffer().put(chunk.tokens());
        buffer.position(buffer.position() + 4 * chunk.tokens().length);
        if (kind != 0) {
            buffer.put(kind).putInt(a.length).put(a).putInt(b.length).put(b);
        }
        return buffer.array();
    }

    public static TokenChunk decode(byte[] value) {
        if (value == null || value.length < HEADER_BYTES) {
            throw new IllegalArgumentException("token chunk shorter than its " + HEADER_BYTES + "-byte header");
        }
        ByteBuffer buffer = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        byte magic = buffer.get();
        byte version = buffer.get();
        byte flags = buffer.get();
        if (magic != MAGIC) {
            throw new IllegalArgumentException("not a token chunk: magic 0x" + Integer.toHexString(magic & 0xff));
        }
        if (version != VERSION) {
            throw new IllegalArgumentException("unsupported token chunk version " + version);
        }
        if ((flags & ~(END_OF_RECORD | HAS_MARKER)) != 0) {
            throw new IllegalArgumentException("unknown token chunk flags 0x" + Integer.toHexString(flags & 0xff));
        }
        long seq = buffer.getLong();
        long firstPosition = buffer.getLong();
        long sourceOffset = buffer.getLong();
        int count = buffer.getInt();
        boolean endOfRecord = (flags & END_OF_RECORD) != 0;
        if ((flags & HAS_MARKER) != 0) {
            if (count != 0 || !endOfRecord) {
                throw new IllegalArgumentException("a marker chunk holds no tokens and ends its record");
            }
            return new TokenChunk(seq, firstPosition, sourceOffset, true, new int[0], marker(buffer, value.length));
        }
        if (count < 0 || value.length != HEADER_BYTES + 4L * count) {
            throw new IllegalArgumentException("token chunk of " + value.length + " bytes cannot hold " + count + " tokens");
        }
        int[] tokens = new int[count];
        buffer.asIntBuffer().get(tokens);
        return new TokenChunk(seq, firstPosition, sourceOffset, endOfRecord, tokens);
    }

    private static TokenChunk.Marker marker(ByteBuffer buffer, int length) {
        try {
            byte kind = buffer.get();
            String a = text(buffer);
            String b = text(buffer);
            if (buffer.hasRemaining()) {
                throw new IllegalArgumentException("marker chunk of " + length + " bytes has trailing bytes");
            }
            return switch (kind) {
                case SESSION_CREATED -> new TokenChunk.Marker.SessionCreated(a);
                case REJECTED -> new TokenChunk.Marker.Rejected(a, b);
                case DUPLICATE -> new TokenChunk.Marker.Duplicate(a);
                default -> throw new IllegalArgumentException("unknown marker kind " + kind);
            };
        } catch (BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IllegalArgumentException("marker chunk of " + length + " bytes is truncated");
        }
    }

    private static String text(ByteBuffer buffer) {
        int length = buffer.getInt();
        if (length < 0 || length > buffer.remaining()) {
            throw new IllegalArgumentException("marker text of " + length + " bytes does not fit its chunk");
        }
        byte[] bytes = new byte[length];
        buffer.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
