package io.ultralong.runtime.kv;

/** One sequence's KV cache in fixed-size token blocks (all layers per block). */
public interface KvCache extends AutoCloseable {

    /** Tokens held. */
    long length();

    int blockTokens();

    /** length / blockTokens. */
    int fullBlocks();

    /**
     * A child sharing this cache's blocks without copying them (a partial last block is shared too and copied on
     * the child's first write); the parent is unaffected by anything the child does.
     */
    KvCache fork();

    void truncate(long length);

    /** Frees the native memory of the blocks no other cache shares. */
    @Override
    void close();
}
