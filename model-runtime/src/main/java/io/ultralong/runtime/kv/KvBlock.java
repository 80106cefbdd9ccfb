package io.ultralong.runtime.kv;

import java.util.concurrent.atomic.AtomicInteger;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

/**
 * An immutable run of up to blockTokens tokens of keys and values for every layer, each array laid out
 * [tokens, kvHeads, headDim] with its own storage. Immutability is what makes sharing safe: a fork holds the same
 * block, and an append to a partial block makes a new block rather than writing into the shared one
 * (copy-on-write). Reference counted; the block's own NDManager frees its native memory when the count reaches 0.
 */
public final class KvBlock {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int tokens;
    private final AtomicInteger references = new AtomicInteger(1);

    private KvBlock(NDManager manager, NDArray[] keys, NDArray[] values, int tokens) {
        this.manager = manager;
        this.keys = keys;
        this.values = values;
        this.tokens = tokens;
    }

    /**
     * Takes ownership of freshly computed arrays (one key and one value array per layer, each with its own storage,
     * not views of something larger): moves them into a new sub-manager of {@code parent} and out of any NDScope.
     */
    static KvBlock adopt(NDManager parent, NDArray[] keys, NDArray[] values) {
        int tokens = Math.toIntExact(keys[0].getShape().get(0));
        NDManager manager = parent.newSubManager();
        for (int layer = 0; layer < keys.length; layer++) {
            NDScope.unregister(keys[layer], values[layer]);
            keys[layer].attach(manager);
            values[layer].attach(manager);
        }
        return new KvBlock(manager, keys.clone(), values.clone(), tokens);
    }

    public int tokens() {
        return tokens;
    }

    public int layers() {
        return keys.length;
    }

    /** Keys of one layer, [tokens, kvHeads, headDim]; owned by the block: do not close. */
    public NDArray keys(int layer) {
        return keys[layer];
    }

    /** Values of one layer, [tokens, kvHeads, headDim]; owned by the block: do not close. */
    public NDArray values(int layer) {
        return values[layer];
    }

    KvBlock retain() {
        if (references.getAndIncrement() <= 0) {
            references.decrementAndGet();
            throw new IllegalStateException("KV block already freed");
        }
        return this;
    }

    void release() {
        int left = references.decrementAndGet();
        if (left == 0) {
            manager.close();
        } else if (left < 0) {
            throw new IllegalStateException("KV block released more often than retained");
        }
    }

    /** How many caches hold this block (for tests of sharing). */
    public int referenceCount() {
        return references.get();
    }
}
