package io.ultralong.store;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Direct buffers for block reads, reused by exact capacity (a session's blocks share one size). Keeps at most
 * {@code maxIdleBytes} idle; a buffer given back beyond that, or never given back, is left to the garbage collector.
 */
final class DirectBufferPool {

    private final long maxIdleBytes;
    private final Map<Integer, ArrayDeque<ByteBuffer>> idle = new HashMap<>();
    private long idleBytes;

    DirectBufferPool(long maxIdleBytes) {
        this.maxIdleBytes = maxIdleBytes;
    }

    /** A direct buffer of exactly {@code capacity} bytes, position 0 and limit {@code capacity}; contents undefined. */
    ByteBuffer take(int capacity) {
        synchronized (this) {
            ArrayDeque<ByteBuffer> free = idle.get(capacity);
            ByteBuffer buffer = free == null ? null : free.poll();
            if (buffer != null) {
                idleBytes -= capacity;
                return buffer.clear();
            }
        }
        return ByteBuffer.allocateDirect(capacity);
    }

    synchronized void giveBack(ByteBuffer buffer) {
        if (idleBytes + buffer.capacity() <= maxIdleBytes) {
            idle.computeIfAbsent(buffer.capacity(), c -> new ArrayDeque<>()).push(buffer);
            idleBytes += buffer.capacity();
        }
    }

    synchronized long idleBytes() {
        return idleBytes;
    }
}
