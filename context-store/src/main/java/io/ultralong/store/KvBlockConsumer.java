package io.ultralong.store;

/** Receives verified KV blocks in order, one at a time, so the caller never holds all of them on the heap. */
@FunctionalInterface
public interface KvBlockConsumer {
    void accept(long blockIndex, byte[] block);
}
