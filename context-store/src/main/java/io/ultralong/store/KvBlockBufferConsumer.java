package io.ultralong.store;

import java.nio.ByteBuffer;

/**
 * Receives verified KV blocks in order, each in a read-only direct buffer of its own (position 0, limit the payload
 * length): the block file mapped into memory (or read into a new buffer where the file system cannot map, or an
 * object store's response), so the engine can import from it without another copy. The buffer stays valid for as
 * long as it is referenced (it may be handed to another thread); the mapping goes when the buffer is collected.
 */
@FunctionalInterface
public interface KvBlockBufferConsumer {
    void accept(long blockIndex, ByteBuffer block);
}
