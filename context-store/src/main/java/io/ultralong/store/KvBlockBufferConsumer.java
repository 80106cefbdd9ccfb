package io.ultralong.store;

import java.nio.ByteBuffer;

/**
 * Receives verified KV blocks in order, each in a direct buffer (position 0, limit the payload length) that the
 * store read the block file into: the engine can import from it without another copy. The buffer is valid only
 * during the call (the store reuses it for the next block); copy what must outlive it.
 */
@FunctionalInterface
public interface KvBlockBufferConsumer {
    void accept(long blockIndex, ByteBuffer block);
}
