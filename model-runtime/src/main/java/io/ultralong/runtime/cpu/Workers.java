package io.ultralong.runtime.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A parallel-for for the decode step's ~50 short regions per token (each a few hundred microseconds): the caller
 * runs part 0 and {@code parts - 1} threads the rest. Idle threads spin briefly before parking, so a region starts
 * within microseconds during decode and the threads cost nothing between requests. An executor's queue and futures
 * cost more per region than the region itself at small contexts.
 */
final class Workers implements AutoCloseable {

    /** The smallest region, in values read, that is worth splitting among threads: 1 MiB of float32. */
    static final long MIN_PARALLEL_FLOATS = 1 << 18;
    /** How long an idle thread spins for the next region before it parks. */
    private static final long SPIN_NANOS = 200_000;
    private final int parts;
    private final Thread[] threads;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile IntConsumer task;
    private volatile long generation;
    private volatile boolean closed;
    private volatile Throwable failure;

    Workers(int parts, String name) {
        this.parts = Math.max(1, parts);
        this.threads = new Thread[this.parts - 1];
        for (int i = 0; i < threads.length; i++) {
            int part = i + 1;
            threads[i] = new Thread(() -> loop(part), name + "-" + part);
            threads[i].setDaemon(true);
            threads[i].start();
        }
    }

    int parts() {
        return parts;
    }

    /**
     * Runs {@code body} for parts 0..parts()-1 and returns when all are done; one caller at a time. Concurrently when
     * the region reads at least {@link #MIN_PARALLEL_FLOATS} values ({@code floats}); below that, the parts run one
     * after the other on the caller: a small model's regions take microseconds, less than waking a thread, and on a
     * busy machine (the embedded platform: broker, streams and HTTP in the same JVM) a spinning caller would wait a
     * scheduler slice for a descheduled part (8-12 ms per token instead of 2-3 on the demo model, measured).
     */
    void run(long floats, IntConsumer body) {
        if (threads.length == 0 || floats < MIN_PARALLEL_FLOATS) {
            for (int part = 0; part < parts; part++) {
                body.accept(part);
            }
            return;
        }
        failure = null;
        task = body;
        pending.set(threads.length);
        generation++;
        for (Thread thread : threads) {
            LockSupport.unpark(thread);
        }
        Throwable own = null;
        try {
            body.accept(0);
        } catch (Throwable t) {
            own = t;
        }
        // the parts are balanced, so the others finish about when this one does
        while (pending.get() > 0) {
            Thread.onSpinWait();
        }
        task = null;
        Throwable thrown = own != null ? own : failure;
        if (thrown instanceof RuntimeException e) {
            throw e;
        }
        if (thrown instanceof Error e) {
            throw e;
        }
    }

    private void loop(int part) {
        long seen = 0;
        while (!closed) {
            long idleSince = System.nanoTime();
            while (generation == seen && !closed) {
                if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            try {
                task.accept(part);
            } catch (Throwable t) {
                failure = t;
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread thread : threads) {
            LockSupport.unpark(thread);
        }
    }
}
