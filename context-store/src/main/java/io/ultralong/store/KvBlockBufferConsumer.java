package io.ultralong.store;

/**
 * Receives verified KV blocks in order, each lent in a read-only direct buffer of its own, so the engine can import
 * from it without another copy. The consumer closes each block when it is done with it (it may hand it to another
 * thread first); see {@link KvBlockBuffer}.
 */
@FunctionalInterface
public interface KvBlockBufferConsumer {
    void accept(long blockIndex, KvBlockBuffer block);
}
