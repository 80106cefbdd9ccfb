package io.ultralong.store;

import java.nio.file.Path;

/**
 * Child-JVM writer for the crash test: appends deterministic token chunks and a KV block per full block of tokens
 * to the store at args[0] until it is killed. Prints "ready" after opening so the parent kills it mid-write.
 */
public final class CrashWriterMain {

    static final String SESSION = "crash-session";
    static final byte[] FINGERPRINT = {1, 2, 3, 4};
    static final int BLOCK = 8;
    static final int KV_BYTES = 96 * 1024;

    private CrashWriterMain() {
    }

    /** Chunk seq has (seq % 5) + 1 tokens; token at position p is p * 7 + 3. */
    static int[] chunk(long seq, long firstPosition) {
        int[] t = new int[(int) (seq % 5) + 1];
        for (int i = 0; i < t.length; i++) {
            t[i] = (int) ((firstPosition + i) * 7 + 3);
        }
        return t;
    }

    public static void main(String[] args) throws Exception {
        try (ContextStore store = ContextStore.open(Path.of(args[0]))) {
            SessionInfo info = store.session(SESSION);
            long seq = info == null ? 1 : info.lastSeq() + 1;
            long position = info == null ? 0 : info.tokenCount();
            int[] tokens = store.readTokens(SESSION);
            long blocksStored = tokens.length / BLOCK;
            System.out.println("ready");
            System.out.flush();
            while (true) {
                int[] c = chunk(seq, position);
                store.appendChunk(SESSION, seq, position, seq * 10, c, 0, seq * 10);
                int[] grown = java.util.Arrays.copyOf(tokens, tokens.length + c.length);
                System.arraycopy(c, 0, grown, tokens.length, c.length);
                tokens = grown;
                position += c.length;
                seq++;
                while ((blocksStored + 1) * BLOCK <= tokens.length) {
                    store.putKvBlock(FINGERPRINT, SESSION, blocksStored, tokens, BLOCK,
                            ContextStoreTest.block((int) blocksStored, KV_BYTES));
                    blocksStored++;
                }
            }
        }
    }
}
