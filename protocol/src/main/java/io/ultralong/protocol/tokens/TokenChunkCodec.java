package io.ultralong.protocol.tokens;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

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
 * A null value (tombstone) deletes the session. Anything else that does not match this layout exactly is
 * rejected with {@link IllegalArgumentException}, never half-read.
 */
public final class TokenChunkCodec {

    public static final byte MAGIC = 0x55;
    public static final byte VERSION = 1;
    static final int HEADER_BYTES = 31;
    private static final int END_OF_RECORD = 1;

    private TokenChunkCodec() {
    }

    public static byte[] encode(TokenChunk chunk) {
        ByteBuffer buffer = ByteBuffer.allocate(HEADER_BYTES + 4 * chunk.tokens().length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put(MAGIC).put(VERSION).put((byte) (chunk.endOfRecord() ? END_OF_RECORD : 0));
        buffer.putLong(chunk.seq()).putLong(chunk.firstPosition()).putLong(chunk.sourceOffset());
        buffer.putInt(chunk.tokens().length);
        buffer.asIntBuffer().put(chunk.tokens());
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
        if ((flags & ~END_OF_RECORD) != 0) {
            throw new IllegalArgumentException("unknown token chunk flags 0x" + Integer.toHexString(flags & 0xff));
        }
        long seq = buffer.getLong();
        long firstPosition = buffer.getLong();
        long sourceOffset = buffer.getLong();
        int count = buffer.getInt();
        if (count < 0 || value.length != HEADER_BYTES + 4L * count) {
            throw new IllegalArgumentException("token chunk of " + value.length + " bytes cannot hold " + count + " tokens");
        }
        int[] tokens = new int[count];
        buffer.asIntBuffer().get(tokens);
        return new TokenChunk(seq, firstPosition, sourceOffset, (flags & END_OF_RECORD) != 0, tokens);
    }
}
