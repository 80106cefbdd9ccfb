package io.ultralong.worker.model;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Persists KV blocks to the context store behind the model. The model thread exports a block (a device-to-host copy:
 * the cache is single-threaded, so that part must be its) and hands the host copy over; one background thread does
 * the store write (chained hash, checksum, RocksDB and shared-directory writes), up to {@value #MAX_BATCH}
 * consecutive blocks of a session at once (the store writes a batch's files side by side and fsyncs them together).
 * The session's unfinished last block is offered too, at the end of a query and at eviction ({@link #offerPartial}).
 * The host copies waiting are bounded in bytes. When the bound is reached the model thread never waits: the block is <em>deferred</em>, i.e. it stays
 * in the session's in-memory cache and is offered again after the next prefill chunk or query, so a slow disk costs
 * a prefill nothing but the exports themselves. A deferred block loses nothing but, at worst, its reuse after the
 * session's cache is evicted from memory.
 *
 * <p>Blocks of one session are written strictly in order, each only when all before it are durable: a stored block
 * without its predecessors could never be restored. A block counts as persisted ({@link Progress#durable()}) only once
 * its write returned.
 *
 * <p>Deletes: {@link #sessionDeleting} (before the store deletes the session) cancels its queued writes, refuses new
 * ones and waits for a write of it in flight; {@link #sessionDeleted} (after) also refuses the blocks of every query
 * that read the session's tokens before the delete, whenever they are offered. So nothing of a deleted session is
 * written after its delete.
 */
final class KvWriteBehind implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KvWriteBehind.class);

    /** Consecutive blocks of a session handed to the store in one write. */
    static final int MAX_BATCH = 8;

    /**
     * The store write of consecutive blocks {@code firstBlock, firstBlock+1, ...} of a session:
     * {@code ContextStore.putKvBlocks} with the model's fingerprint and block size.
     */
    interface BlockStore {
        void put(String session, long firstBlock, int[] sessionTokens, List<byte[]> blocks) throws Exception;

        /** The session's unfinished block: {@code ContextStore.putKvPartialBlock}. */
        void putPartial(String session, long blockIndex, int[] sessionTokens, int partialTokens, byte[] block)
                throws Exception;
    }

    /** Where the persistence of one session cache stands. */
    static final class Progress {
        final String session;
        final int partition;
        /** Blocks [0, durable) are in the store. Written by the writer thread. */
        private volatile int durable;
        /** Blocks [0, offered) were handed to the writer. Model thread only. */
        private int offered;
        private volatile boolean cancelled;
        /** A write failed: the blocks after it were skipped, so the model thread offers again from {@code durable}. */
        private volatile boolean failed;
        /** Where the unfinished block handed over (or restored) ends, in tokens; 0: none. Model thread only. */
        private int partialOfferedEnd;

        Progress(String session, int partition, int durable) {
            this.session = session;
            this.partition = partition;
            this.durable = durable;
            this.offered = durable;
        }

        /** Blocks of the session known to be in the store. */
        int durable() {
            return durable;
        }

        /** The cache this tracks is gone or replaced: its blocks still queued are not written. */
        void cancel() {
            cancelled = true;
        }

        /** The cache's unfinished block up to {@code end} tokens is in the store already (it was restored from there). */
        void partialDurable(int end) {
            partialOfferedEnd = end;
        }
    }

    /** {@code partialTokens} above 0: the session's unfinished block, of that many tokens. */
    private record Job(Progress progress, int index, int[] sessionTokens, byte[] block, long epoch, int partialTokens) {
    }

    private final BlockStore store;
    private final long maxQueuedBytes;
    private final Duration drainOnClose;
    private final Thread writer;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Held by the writer across one store write, so a delete can wait for it without blocking the model thread. */
    private final ReentrantLock writing = new ReentrantLock();
    // Guarded by lock:
    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    private List<Job> inFlight = List.of();
    /** Host bytes queued or being written. */
    private long queuedBytes;
    private boolean closing;
    /** The largest block exported so far: what the next one reserves (the caller's estimate leaves out headers). */
    private long largestBlock;
    /** Counts deletes; a query's blocks carry the value it saw before reading the session's tokens. */
    private long epoch;
    /** Session -> the epoch its last delete completed at; blocks of queries that began before it are refused. */
    private final Map<String, Long> deletedAt = new HashMap<>();
    /** Sessions the store is deleting now: nothing of theirs is written. */
    private final Set<String> deleting = new HashSet<>();

    private final AtomicLong written = new AtomicLong();
    private final AtomicLong partialWritten = new AtomicLong();
    private final AtomicLong deferred = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong writeNanos = new AtomicLong();

    /**
     * @param maxQueuedBytes bound on the host copies waiting for the store; at least one block is always let through
     *                       when nothing waits, so a bound below one block still persists, one block at a time
     * @param drainOnClose   how long {@link #close()} lets queued writes finish before abandoning the rest
     */
    KvWriteBehind(BlockStore store, long maxQueuedBytes, Duration drainOnClose) {
        this.store = store;
        this.maxQueuedBytes = maxQueuedBytes;
        this.drainOnClose = drainOnClose;
        this.writer = new Thread(this::run, "ul-kv-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /**
     * Called by a query before it reads the session's tokens: the value its blocks carry. Also forgets deletes that no
     * block still waiting could be older than.
     */
    long beginQuery() {
        lock.lock();
        try {
            long oldest = epoch;
            for (Job job : queue) {
                oldest = Math.min(oldest, job.epoch);
            }
            for (Job job : inFlight) {
                oldest = Math.min(oldest, job.epoch);
            }
            long floor = oldest;
            deletedAt.values().removeIf(at -> at <= floor);
            return epoch;
        } finally {
            lock.unlock();
        }
    }

    Progress track(String session, int partition, int durableBlocks) {
        return new Progress(session, partition, durableBlocks);
    }

    /**
     * Offers the cache's full blocks from {@code progress}'s first unoffered one up to {@code fullBlocks}, in order,
     * while the queue has room; {@code export} copies block i to the host and runs only for blocks taken. Model thread.
     *
     * @return how many blocks were taken
     */
    int offer(Progress progress, int fullBlocks, int[] sessionTokens, long blockBytes, java.util.function.IntFunction<byte[]> export,
              long queryEpoch) {
        if (progress.failed) {
            progress.failed = false;
            progress.offered = progress.durable;
            progress.partialOfferedEnd = 0;
        }
        int taken = 0;
        while (progress.offered < fullBlocks) {
            int index = progress.offered;
            if (!offerOne(progress, index, sessionTokens, blockBytes, () -> export.apply(index), queryEpoch, 0)) {
                break;
            }
            progress.offered++;
            taken++;
        }
        return taken;
    }

    /**
     * Offers the cache's unfinished block (the tokens of {@code sessionTokens} past its full blocks) once every full
     * block before it was taken and unless that very block was offered before, so a restore after an eviction or a
     * restart recomputes none of the session's tokens. Model thread; at the end of a query and at eviction.
     *
     * @return whether it was taken
     */
    boolean offerPartial(Progress progress, int[] sessionTokens, int blockTokens, long bytesPerToken,
                         Supplier<byte[]> export, long queryEpoch) {
        int index = sessionTokens.length / blockTokens;
        int partialTokens = sessionTokens.length % blockTokens;
        if (partialTokens == 0 || progress.offered != index || progress.partialOfferedEnd == sessionTokens.length) {
            return false;
        }
        if (!offerOne(progress, index, sessionTokens, partialTokens * bytesPerToken, export, queryEpoch, partialTokens)) {
            return false;
        }
        progress.partialOfferedEnd = sessionTokens.length;
        return true;
    }

    private boolean offerOne(Progress progress, int index, int[] sessionTokens, long estimatedBytes, Supplier<byte[]> export,
                             long queryEpoch, int partialTokens) {
        long blockBytes;
        lock.lock();
        try {
            if (closing || progress.cancelled || refused(progress.session, queryEpoch)) {
                return false;
            }
            blockBytes = partialTokens > 0 ? estimatedBytes : Math.max(estimatedBytes, largestBlock);
            if (queuedBytes > 0 && queuedBytes + blockBytes > maxQueuedBytes) {
                deferred.incrementAndGet();
                return false;
            }
            queuedBytes += blockBytes;   // reserved before the export, so the bound holds while it runs
        } finally {
            lock.unlock();
        }
        long reserved = blockBytes;
        byte[] block;
        try {
            block = export.get();
        } catch (RuntimeException e) {
            release(reserved);
            throw e;
        }
        lock.lock();
        try {
            queuedBytes += block.length - blockBytes;
            if (partialTokens == 0) {
                largestBlock = Math.max(largestBlock, block.length);
            }
            if (closing) {
                queuedBytes -= block.length;
                return false;
            }
            queue.add(new Job(progress, index, sessionTokens, block, queryEpoch, partialTokens));
            changed.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void release(long bytes) {
        lock.lock();
        try {
            queuedBytes -= bytes;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Guarded by lock. */
    private boolean refused(String session, long queryEpoch) {
        return deleting.contains(session) || deletedAt.getOrDefault(session, Long.MIN_VALUE) > queryEpoch;
    }

    /**
     * The store is about to delete the session: its queued blocks are dropped, none is accepted until
     * {@link #sessionDeleted}, and this returns once a write of it in flight has finished. Any thread.
     */
    void sessionDeleting(String session) {
        lock.lock();
        try {
            deleting.add(session);
            dropQueued(job -> job.progress.session.equals(session));
        } finally {
            lock.unlock();
        }
        // A write that passed its check before the mark is still running: the store's delete must come after it.
        writing.lock();
        writing.unlock();
    }

    /** The store deleted the session: blocks of queries that read its tokens before now are refused. Any thread. */
    void sessionDeleted(String session) {
        lock.lock();
        try {
            epoch++;
            deletedAt.put(session, epoch);
            deleting.remove(session);
            dropQueued(job -> job.progress.session.equals(session));
        } finally {
            lock.unlock();
        }
    }

    /** The worker gave these partitions up: their sessions' queued blocks are not written. Any thread. */
    void partitionsReleased(Collection<Integer> partitions) {
        Set<Integer> released = Set.copyOf(partitions);
        lock.lock();
        try {
            dropQueued(job -> released.contains(job.progress.partition));
        } finally {
            lock.unlock();
        }
    }

    /** Guarded by lock. */
    private void dropQueued(java.util.function.Predicate<Job> which) {
        Iterator<Job> it = queue.iterator();
        while (it.hasNext()) {
            Job job = it.next();
            if (which.test(job)) {
                job.progress.cancel();
                queuedBytes -= job.block.length;
                dropped.incrementAndGet();
                it.remove();
            }
        }
        changed.signalAll();
    }

    /** Waits until nothing is queued or being written; whether that happened within {@code timeout}. */
    boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (!queue.isEmpty() || !inFlight.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    long queuedBytes() {
        lock.lock();
        try {
            return queuedBytes;
        } finally {
            lock.unlock();
        }
    }

    /** Full blocks made durable. */
    long written() {
        return written.get();
    }

    /** Unfinished blocks made durable (each replaced by the next, or by the full block). */
    long partialWritten() {
        return partialWritten.get();
    }

    /** Offers turned away because the queue was full (the block stayed in memory to be offered again). */
    long deferred() {
        return deferred.get();
    }

    /** Queued blocks dropped by a delete, a released partition or shutdown. */
    long dropped() {
        return dropped.get();
    }

    /** Time the writer spent in successful store writes: what the model thread no longer spends. */
    long writeMillis() {
        return writeNanos.get() / 1_000_000;
    }

    /** Store writes that failed. */
    long failures() {
        return failures.get();
    }

    private void run() {
        while (true) {
            List<Job> batch;
            lock.lock();
            try {
                while (queue.isEmpty() && !closing) {
                    changed.awaitUninterruptibly();
                }
                if (queue.isEmpty()) {
                    return;
                }
                batch = pollBatch();
                inFlight = batch;
            } finally {
                lock.unlock();
            }
            writing.lock();
            try {
                write(batch);
            } finally {
                writing.unlock();
                lock.lock();
                try {
                    inFlight = List.of();
                    for (Job job : batch) {
                        queuedBytes -= job.block.length;
                    }
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /**
     * The queue's head and the full blocks right after it of the same session cache (a partial block goes alone).
     * Guarded by lock.
     */
    private List<Job> pollBatch() {
        List<Job> batch = new ArrayList<>(MAX_BATCH);
        batch.add(queue.poll());
        for (Job next = queue.peek(); next != null && batch.size() < MAX_BATCH; next = queue.peek()) {
            Job last = batch.get(batch.size() - 1);
            if (next.progress != last.progress || next.index != last.index + 1 || last.partialTokens > 0
                    || next.partialTokens > 0) {
                break;
            }
            batch.add(queue.poll());
        }
        return batch;
    }

    /** Writer thread, holding {@code writing}. */
    private void write(List<Job> batch) {
        Progress progress = batch.get(0).progress;
        int writable = 0;
        lock.lock();
        try {
            // In order and only after every block before it: a block behind a gap could never be restored.
            if (!progress.cancelled && batch.get(0).index == progress.durable) {
                while (writable < batch.size() && !refused(progress.session, batch.get(writable).epoch)) {
                    writable++;
                }
            }
        } finally {
            lock.unlock();
        }
        if (writable == 0) {
            return;
        }
        List<Job> jobs = batch.subList(0, writable);
        Job last = jobs.get(writable - 1);
        long started = System.nanoTime();
        try {
            if (last.partialTokens > 0) {
                store.putPartial(progress.session, last.index, last.sessionTokens, last.partialTokens, last.block);
                partialWritten.incrementAndGet();
            } else {
                // The last block's tokens cover the ones before it: one cache's log only grows.
                store.put(progress.session, jobs.get(0).index, last.sessionTokens, jobs.stream().map(Job::block).toList());
                progress.durable = last.index + 1;
                written.addAndGet(writable);
            }
            writeNanos.addAndGet(System.nanoTime() - started);
        } catch (Exception e) {
            // The KV cache is only an optimisation: the query goes on, the blocks are offered again later.
            progress.failed = true;
            failures.incrementAndGet();
            LOG.warn("Could not persist KV blocks {}..{} of {}: {}", jobs.get(0).index, last.index, progress.session,
                    e.toString());
        }
    }

    /**
     * Stops taking blocks, lets the queued ones finish for up to the drain time, drops the rest, and returns once the
     * writer thread has ended (a write in flight always finishes: the store must not close under it).
     */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        try {
            if (!awaitIdle(drainOnClose)) {
                lock.lock();
                try {
                    int abandoned = queue.size();
                    dropQueued(job -> true);
                    LOG.warn("Shutting down with {} KV blocks not persisted (their sessions recompute them){}", abandoned,
                            inFlight.isEmpty() ? "" : "; waiting for the write in flight");
                } finally {
                    lock.unlock();
                }
            }
        } catch (InterruptedException e) {
            interrupted = true;
            lock.lock();
            try {
                dropQueued(job -> true);
            } finally {
                lock.unlock();
            }
        }
        while (writer.isAlive()) {
            try {
                writer.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
