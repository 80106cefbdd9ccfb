package io.ultralong.worker.query;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.worker.session.SessionLedger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs queries one at a time on the model thread, users' queries first. A query whose session has
 * not yet applied its {@code minSeq} waits aside (it never holds up the model) until the ledger
 * advances or its deadline passes. The Kafka consumers never wait on the model: they only enqueue.
 *
 * <p>One job's failure is that job's: any exception, and any Error short of {@link OutOfMemoryError} (a
 * {@link StackOverflowError} say), answers it with {@code internal} and the thread goes on. The thread beats a
 * heartbeat on every loop and every event a job emits (prefill progress, tokens), so a job that hangs shows as
 * {@link #stalledFor() stalled} and liveness can turn DOWN, not only when the thread dies.
 */
public final class QueryScheduler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(QueryScheduler.class);

    /** Told when a job is over (answered, failed, cancelled or abandoned), to commit its request's offset. */
    public interface Completion {
        void finished(QueryJob job);
    }

    private final SessionLedger ledger;
    private final AnswerEngine engine;
    private final Consumer<ResponseEvent> publisher;
    private final Completion completion;
    private final int maxQueued;
    private final int maxQueuedPerTenant;
    // Within a priority, tenants take turns: a job's round is how many of its tenant's jobs were queued before it,
    // so one tenant's burst queues behind the first job of every other tenant instead of ahead of it.
    private final PriorityBlockingQueue<QueryJob> ready = new PriorityBlockingQueue<>(64,
            Comparator.comparingInt(QueryJob::priority).thenComparingInt(QueryJob::tenantRound)
                    .thenComparingLong(QueryJob::arrivalNanos));
    private final Map<String, Integer> queuedByTenant = new HashMap<>();   // guarded by itself
    // Guarded by itself: parking and waking race between the model thread and the token feed.
    private final Map<String, List<QueryJob>> waitingForContext = new HashMap<>();
    private final Map<String, QueryJob> byRequestId = new ConcurrentHashMap<>();
    private final Thread modelThread;
    private volatile boolean running = true;
    private volatile long lastBeatNanos = System.nanoTime();
    private volatile QueryJob current;

    public QueryScheduler(SessionLedger ledger, AnswerEngine engine, Consumer<ResponseEvent> publisher,
                          Completion completion, int maxQueued) {
        this(ledger, engine, publisher, completion, maxQueued, maxQueued);
    }

    /**
     * @param maxQueued          queries held at once (waiting, queued or running); more are refused
     * @param maxQueuedPerTenant of which one tenant (the session key up to its first {@code /}) may hold, so that a
     *                           tenant flooding the worker fills its share and not the queue every tenant shares
     */
    public QueryScheduler(SessionLedger ledger, AnswerEngine engine, Consumer<ResponseEvent> publisher,
                          Completion completion, int maxQueued, int maxQueuedPerTenant) {
        if (maxQueued < 1 || maxQueuedPerTenant < 1) {
            throw new IllegalArgumentException("Queue limits must be at least 1");
        }
        this.ledger = ledger;
        this.engine = engine;
        this.publisher = publisher;
        this.completion = completion;
        this.maxQueued = maxQueued;
        this.maxQueuedPerTenant = Math.min(maxQueuedPerTenant, maxQueued);
        this.modelThread = new Thread(this::run, "ul-model");
        modelThread.setDaemon(true);
        modelThread.start();
    }

    /**
     * Takes a query; refuses it at once with {@code unavailable} when the queue is full or its tenant holds its
     * share of it. The request feed and the watch evaluator both submit: counts are checked and taken under one lock.
     */
    public void submit(QueryJob job) {
        String tenant = tenantOf(job.request().session());
        String refusal = null;
        boolean duplicate = false;
        synchronized (queuedByTenant) {
            int tenantQueued = queuedByTenant.getOrDefault(tenant, 0);
            if (byRequestId.containsKey(job.request().requestId())) {
                duplicate = true;   // a duplicate delivery of a request already here
            } else if (tenantQueued >= maxQueuedPerTenant) {
                refusal = "Tenant '" + tenant + "' has " + tenantQueued + " queries queued on this worker, its share of "
                        + maxQueuedPerTenant + "; retry later.";
            } else if (byRequestId.size() >= maxQueued) {
                refusal = "The worker has " + maxQueued + " queries queued; retry later.";
            } else {
                byRequestId.put(job.request().requestId(), job);
                queuedByTenant.put(tenant, tenantQueued + 1);
                job.tenantRound(tenantQueued);
            }
        }
        if (refusal != null) {
            publish(job, new ResponseEvent.Error(job.request().requestId(), ErrorCode.UNAVAILABLE.wireName(), refusal));
        }
        if (duplicate || refusal != null) {
            completion.finished(job);
        } else {
            ready.add(job);
        }
    }

    /** The tenant of a session key: gateway keys are {@code <tenant>/<session>}; a key without one is its own. */
    static String tenantOf(String session) {
        int slash = session.indexOf('/');
        return slash < 0 ? session : session.substring(0, slash);
    }

    /** The job leaves the scheduler: its slot, and its tenant's, are free again. */
    private void release(QueryJob job) {
        synchronized (queuedByTenant) {
            if (byRequestId.remove(job.request().requestId(), job)) {
                queuedByTenant.computeIfPresent(tenantOf(job.request().session()), (t, n) -> n > 1 ? n - 1 : null);
            }
        }
    }

    /** Cancels a query whose client went away. */
    public void cancel(String requestId) {
        QueryJob job = byRequestId.get(requestId);
        if (job != null) {
            job.cancel();
        }
    }

    /** The worker gave up these partitions: the engine lets go of what it caches for their sessions. */
    public void released(Collection<Integer> partitions) {
        engine.partitionsReleased(partitions);
    }

    /** Drops every query of a partition this worker gives up: its new owner answers them. */
    public List<QueryJob> abandon(int partition) {
        List<QueryJob> dropped = new ArrayList<>();
        for (QueryJob job : byRequestId.values()) {
            if (job.partition() == partition) {
                job.abandon();
                dropped.add(job);
            }
        }
        return dropped;
    }

    /** The ledger applied new data to {@code session}: its waiting queries may run now. */
    public void sessionAdvanced(String session) {
        List<QueryJob> waiting;
        synchronized (waitingForContext) {
            waiting = waitingForContext.remove(session);
        }
        if (waiting != null) {
            ready.addAll(waiting);
        }
    }

    /** Whether its thread still runs (it stops only on close or a fatal error). */
    public boolean alive() {
        return modelThread.isAlive();
    }

    public int queued() {
        return byRequestId.size();
    }

    private void run() {
        while (running) {
            QueryJob job;
            try {
                job = ready.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            beat();
            try {
                expireWaiting();
                if (job != null) {
                    current = job;
                    step(job);
                }
            } catch (OutOfMemoryError e) {
                throw e;   // nothing sound is left to do: the thread dies and liveness says so
            } catch (RuntimeException | Error e) {
                LOG.error("The model thread caught a failure outside the model and goes on", e);
                if (job != null && byRequestId.get(job.request().requestId()) == job) {
                    finishQuietly(job, e);
                }
            } finally {
                current = null;
            }
        }
    }

    /** Ends a job whose handling failed outside the engine, so its client hears of it and its offset commits. */
    private void finishQuietly(QueryJob job, Throwable failure) {
        try {
            finish(job, new ResponseEvent.Error(job.request().requestId(), ErrorCode.INTERNAL.wireName(),
                    "The worker failed to answer: " + failure));
        } catch (RuntimeException e) {
            release(job);
            LOG.error("Query {} could not be ended cleanly", job.request().requestId(), e);
        }
    }

    private void beat() {
        lastBeatNanos = System.nanoTime();
    }

    /**
     * How long the model thread has gone without a heartbeat: near zero while idle or working, growing while one
     * job hangs (a native call that never returns, an endless loop).
     */
    public Duration stalledFor() {
        return Duration.ofNanos(System.nanoTime() - lastBeatNanos);
    }

    /** The request id of the job on the model now, or null. */
    public String currentRequestId() {
        QueryJob job = current;
        return job == null ? null : job.request().requestId();
    }

    private void step(QueryJob job) {
        if (job.cancelled()) {
            finish(job, null);
        } else if (job.pastDeadline()) {
            finish(job, deadlineError(job));
        } else if (ledger.incomplete(job.request().session()).isPresent()) {
            // Checked first: such a session may never reach the query's minSeq, and must never be answered over.
            finish(job, new ResponseEvent.Error(job.request().requestId(), ErrorCode.CONTEXT_INCOMPLETE.wireName(),
                    "Session '" + job.request().session() + "' is incomplete: " + ledger.incomplete(job.request().session()).get()
                            + ". Delete it and append its records again."));
        } else if (job.request().minSeq() >= 0 && ledger.appliedSeq(job.request().session()) < job.request().minSeq()) {
            synchronized (waitingForContext) {
                waitingForContext.computeIfAbsent(job.request().session(), s -> new ArrayList<>()).add(job);
            }
            // The ledger may have advanced between the check and the park.
            if (ledger.appliedSeq(job.request().session()) >= job.request().minSeq()) {
                sessionAdvanced(job.request().session());
            }
        } else if (!ledger.exists(job.request().session())) {
            // Never an answer over an empty context: the session was never written, was deleted, or is
            // another tenant's (keys carry the tenant). Checked after minSeq, so a fresh append counts.
            finish(job, new ResponseEvent.Error(job.request().requestId(), ErrorCode.SESSION_NOT_FOUND.wireName(),
                    "No session '" + job.request().session() + "'."));
        } else {
            ResponseEvent terminal;
            job.leftQueue("to-model");
            try {
                terminal = engine.answer(job, event -> {
                    beat();
                    if (!job.cancelled()) {
                        publish(job, event);
                    }
                });
            } catch (OutOfMemoryError e) {
                throw e;
            } catch (RuntimeException | Error e) {
                LOG.error("Query {} failed", job.request().requestId(), e);
                terminal = new ResponseEvent.Error(job.request().requestId(), ErrorCode.INTERNAL.wireName(),
                        "The worker failed to answer: " + e);
            }
            if (terminal instanceof ResponseEvent.Done done) {
                terminal = done.withWarnings(deadLetterWarnings(job));
            }
            finish(job, job.cancelled() ? null : terminal);
        }
    }

    /** The session's dead-lettered records within what the answer saw: its context lacks them. */
    private List<String> deadLetterWarnings(QueryJob job) {
        List<String> warnings = new ArrayList<>();
        for (SessionLedger.Rejection rejection : ledger.rejections(job.request().session())) {
            if (job.coveredSeq() < 0 || rejection.seq() <= job.coveredSeq()) {
                warnings.add("Record seq " + rejection.seq() + " was dead-lettered by ingest (" + rejection.reason()
                        + ": " + rejection.message() + "); the context lacks it.");
            }
        }
        return warnings;
    }

    private void publish(QueryJob job, ResponseEvent event) {
        (job.events() != null ? job.events() : publisher).accept(event);
    }

    private void expireWaiting() {
        List<QueryJob> expired = new ArrayList<>();
        synchronized (waitingForContext) {
            for (List<QueryJob> jobs : waitingForContext.values()) {
                jobs.removeIf(job -> (job.cancelled() || job.pastDeadline()) && expired.add(job));
            }
            waitingForContext.values().removeIf(List::isEmpty);
        }
        expired.forEach(job -> finish(job, job.cancelled() ? null : deadlineError(job)));
    }

    private ResponseEvent deadlineError(QueryJob job) {
        QueryRequest request = job.request();
        long applied = ledger.appliedSeq(request.session());
        String message = applied >= request.minSeq()
                ? "The query's deadline passed before the model could take it (queued behind other queries)."
                : "The query's deadline passed while waiting for the session to apply record seq " + request.minSeq()
                        + " (applied so far: " + applied + "). A record that ingest rejected never arrives:"
                        + " look for it in ingest's dead-letter topic (ul.records.dlq with the default prefix), with the reason in its headers.";
        return new ResponseEvent.Error(request.requestId(), ErrorCode.DEADLINE_EXCEEDED.wireName(), message);
    }

    private void finish(QueryJob job, ResponseEvent terminal) {
        job.leftQueue(terminal instanceof ResponseEvent.Error error ? error.code() : terminal == null ? "cancelled" : "answered");
        if (terminal != null && !job.abandoned()) {
            publish(job, terminal);
        }
        release(job);
        completion.finished(job);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        modelThread.interrupt();
        modelThread.join(10_000);
    }
}
