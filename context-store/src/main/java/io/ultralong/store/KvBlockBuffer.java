package io.ultralong.store;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A verified KV block's payload lent by the store: a read-only direct buffer, position 0, limit the payload length.
 * {@link #close} gives its memory back for the store's next read (a fresh 32 MiB direct buffer costs more, zeroing
 * and page faults, than reading a block into it); the buffer must not be touched after that. A block that is never
 * closed is freed by the garbage collector instead, so a consumer may keep one as long as it likes.
 */
public final class KvBlockBuffer implements AutoCloseable {

    private final ByteBuffer payload;
    private final Runnable giveBack;
    private final AtomicBoolean closed = new AtomicBoolean();

    KvBlockBuffer(ByteBuffer payload, Runnable giveBack) {
        this.payload = payload.asReadOnlyBuffer();
        this.giveBack = giveBack;
    }

    /** A block whose memory is not pooled (closing it does nothing): a marker, or a consumer's own test data. */
    public static KvBlockBuffer unpooled(ByteBuffer payload) {
        return new KvBlockBuffer(payload, () -> { });
    }

    public ByteBuffer payload() {
        return payload;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            giveBack.run();
        }
    }
}
