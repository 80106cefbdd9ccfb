package io.ultralong.worker.model;

import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import io.ultralong.store.KvBlockBuffer;
import io.ultralong.store.KvBlockBufferConsumer;
import org.rocksdb.RocksDBException;

/**
 * Restores a session's persisted KV blocks with the disk read and the verification (chained hash, checksum) on an
 * I/O thread while the model thread imports the blocks already read: the two overlap instead of adding up. At most
 * {@code readAheadBlocks} verified blocks wait between the two threads, each lent by the store in a read-only direct
 * buffer (no copy is made here: the runtime imports straight from it) and given back once imported or abandoned. With 0 the model thread reads, verifies and
 * imports each block in turn (no I/O thread): the comparison the read-ahead is measured against.
 */
final class KvRestorePipeline implements AutoCloseable {

    /** The store's verified read of a session's blocks, in order ({@code ContextStore.readVerifiedKvBuffers}). */
    @FunctionalInterface
    interface VerifiedBlocks {
        long read(KvBlockBufferConsumer consumer) throws RocksDBException;
    }

    /** Marks the end of the blocks (compared by identity). */
    private static final KvBlockBuffer END = KvBlockBuffer.unpooled(ByteBuffer.allocate(0));

    private final int readAheadBlocks;
    private final ExecutorService reader = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "ul-kv-reader");
        thread.setDaemon(true);
        return thread;
    });

    KvRestorePipeline(int readAheadBlocks) {
        if (readAheadBlocks < 0) {
            throw new IllegalArgumentException("the KV restore read-ahead must not be negative: " + readAheadBlocks);
        }
        this.readAheadBlocks = readAheadBlocks;
    }

    /**
     * Reads the blocks on the I/O thread and hands each to {@code importBlock} on the calling thread, in order.
     * Returns once the reader has stopped, also when an import fails (its exception is rethrown).
     *
     * @return the number of blocks imported
     */
    long restore(VerifiedBlocks blocks, Consumer<ByteBuffer> importBlock) throws RocksDBException {
        if (readAheadBlocks == 0) {
            return blocks.read((index, block) -> importAndGiveBack(importBlock, block));
        }
        ArrayBlockingQueue<KvBlockBuffer> handoff = new ArrayBlockingQueue<>(readAheadBlocks);
        AtomicBoolean abandoned = new AtomicBoolean();
        Future<Long> reading = reader.submit(() -> {
            try {
                return blocks.read((index, block) -> put(handoff, block, abandoned));
            } finally {
                if (!abandoned.get()) {
                    put(handoff, END, abandoned);
                }
            }
        });
        long imported = 0;
        try {
            for (KvBlockBuffer block = handoff.take(); block != END; block = handoff.take()) {
                importAndGiveBack(importBlock, block);
                imported++;
            }
        } catch (InterruptedException e) {
            abandon(handoff, abandoned, reading);
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while restoring KV blocks");
        } catch (RuntimeException | Error e) {
            abandon(handoff, abandoned, reading);
            throw e;
        }
        try {
            long read = reading.get();
            if (read != imported) {
                throw new IllegalStateException("the store delivered " + read + " KV blocks, " + imported + " arrived");
            }
            return imported;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while restoring KV blocks");
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    private static void importAndGiveBack(Consumer<ByteBuffer> importBlock, KvBlockBuffer block) {
        try (block) {
            importBlock.accept(block.payload());
        }
    }

    /** Reader thread: waits for room unless the model thread gave up. */
    private static void put(ArrayBlockingQueue<KvBlockBuffer> handoff, KvBlockBuffer block, AtomicBoolean abandoned) {
        try {
            while (!handoff.offer(block, 50, TimeUnit.MILLISECONDS)) {
                if (abandoned.get()) {
                    block.close();
                    throw new CancellationException("the restore was abandoned");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted");
        }
    }

    /** Stops the reader and waits for it, so nothing reads the store for a restore that is over. */
    private static void abandon(ArrayBlockingQueue<KvBlockBuffer> handoff, AtomicBoolean abandoned, Future<Long> reading) {
        abandoned.set(true);
        giveBackQueued(handoff);
        boolean interrupted = Thread.interrupted();
        while (true) {
            try {
                reading.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException | CancellationException e) {
                break;
            }
        }
        giveBackQueued(handoff);   // what the reader queued before it saw the flag
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void giveBackQueued(ArrayBlockingQueue<KvBlockBuffer> handoff) {
        for (KvBlockBuffer block = handoff.poll(); block != null; block = handoff.poll()) {
            block.close();
        }
    }

    private static RocksDBException rethrow(Throwable cause) {
        if (cause instanceof RocksDBException rocks) {
            return rocks;
        }
        if (cause instanceof RuntimeException runtime) {
            throw runtime;
        }
        if (cause instanceof Error error) {
            throw error;
        }
        throw new IllegalStateException("reading KV blocks failed", cause);
    }

    @Override
    public void close() {
        reader.shutdownNow();
        try {
            reader.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
