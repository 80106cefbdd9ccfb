package io.ultralong.store;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The chained SHA-256 that proves which tokens a KV block belongs to:
 * {@code h[i] = sha256(h[i-1] || tokens of block i as big-endian int32)}, {@code h[-1]} = 32 zero bytes. A block
 * stored for other tokens (an edited or re-created log, another session's tokens) fails this check.
 */
final class ChainHash {

    static final int BYTES = 32;

    private ChainHash() {
    }

    /** h[0..blocks-1] for the session's tokens. */
    static byte[][] chain(int[] sessionTokens, int blockSize, long blocks) {
        MessageDigest sha = sha256();
        byte[][] out = new byte[Math.toIntExact(blocks)][];
        byte[] previous = new byte[BYTES];
        ByteBuffer buffer = ByteBuffer.allocate(blockSize * Integer.BYTES);
        for (int b = 0; b < blocks; b++) {
            previous = step(sha, previous, sessionTokens, b, blockSize, buffer);
            out[b] = previous;
        }
        return out;
    }

    /** h[block] from h[block-1]: one block's hashing instead of the whole log's. */
    static byte[] next(byte[] previous, int[] sessionTokens, int block, int blockSize) {
        return step(sha256(), previous, sessionTokens, block, blockSize, ByteBuffer.allocate(blockSize * Integer.BYTES));
    }

    /**
     * The hash of a partial block: {@code sha256(h[block-1] || its first tokens)}, the same step over fewer tokens
     * (a full block's input is longer, so the two never coincide for tokens below the block size).
     */
    static byte[] partial(byte[] previous, int[] sessionTokens, int block, int blockSize, int tokens) {
        ByteBuffer buffer = ByteBuffer.allocate(tokens * Integer.BYTES);
        for (int i = 0; i < tokens; i++) {
            buffer.putInt(sessionTokens[block * blockSize + i]);
        }
        MessageDigest sha = sha256();
        sha.update(previous);
        sha.update(buffer.array());
        return sha.digest();
    }

    private static byte[] step(MessageDigest sha, byte[] previous, int[] sessionTokens, int block, int blockSize,
                               ByteBuffer buffer) {
        buffer.clear();
        for (int i = 0; i < blockSize; i++) {
            buffer.putInt(sessionTokens[block * blockSize + i]);
        }
        sha.update(previous);
        sha.update(buffer.array());
        return sha.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JVM", e);
        }
    }
}
