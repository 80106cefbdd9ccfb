package io.ultralong.worker.watch;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.protocol.watch.NotifyPattern;
import io.ultralong.protocol.watch.WatchAnswer;
import io.ultralong.protocol.watch.WatchDefinition;
import io.ultralong.protocol.watch.WatchJson;
import io.ultralong.protocol.watch.WatchKeys;
import io.ultralong.worker.query.QueryJob;
import io.ultralong.worker.query.QueryScheduler;
import io.ultralong.worker.session.SessionLedger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evaluates the standing queries of the sessions this worker owns.
 *
 * <p>Watches come from {@code ul.watches} (compacted), read whole by every worker; a worker acts on a
 * watch only when its session's chunks arrive here, i.e. when it owns the session. After chunks are
 * applied, a watch is due when at least {@code everyTokens} context tokens arrived since its last
 * evaluation and {@code minIntervalMs} passed. At most one evaluation per watch is in flight; chunks
 * arriving meanwhile only mark it dirty, and the next evaluation covers everything up to then
 * (bursts coalesce). Evaluations queue behind users' queries (priority 1) and reuse the session's KV
 * cache like any query, so each one prefills only what arrived since the last plus the question.
 *
 * <p>Answers go to {@code ul.answers} (key = session key), filtered by {@code notifyWhen}. That filter is a user's
 * pattern: it runs under RE2/J ({@link NotifyPattern}, linear time, bounded size) and on a thread of its own, never
 * on the model thread, so no pattern can hold up other tenants' queries; a watch whose pattern is refused is not
 * evaluated at all.
 * Evaluation progress (the context tokens the last evaluation covered) is kept in the worker's store,
 * so a restarted worker counts new tokens from the last evaluation, not from its restart. A worker that
 * takes a partition over from another has none and counts from when it first saw the watch.
 */
public final class WatchEvaluator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WatchEvaluator.class);
    private static final int WATCH_PRIORITY = 1;
    private static final long EVALUATION_TIMEOUT_MS = TimeUnit.MINUTES.toMillis(30);

    private final Map<String, WatchState> watches = new ConcurrentHashMap<>();
    private final TopicTail tail;
    private final Producer<String, byte[]> producer;
    private final String watchesTopic;
    private final String answersTopic;
    private final QueryScheduler scheduler;
    private final SessionLedger ledger;
    private final ToPartition partitions;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "ul-watch-timer");
        thread.setDaemon(true);
        return thread;
    });
    // Finished evaluations are handled here (progress write, notifyWhen, publish), off the model thread.
    private final ExecutorService notifier = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "ul-watch-notify");
        thread.setDaemon(true);
        return thread;
    });
    private final AtomicLong evaluations = new AtomicLong();
    private final AtomicLong announced = new AtomicLong();

    /** The tokens partition a session lives in on this worker (the requests/tokens co-partitioning). */
    @FunctionalInterface
    public interface ToPartition {
        int of(String session);
    }

    /**
     * @param ledger the sessions' context tokens and the watches' recorded progress
     */
    public WatchEvaluator(KafkaConnection kafka, Topics topics, String workerId, QueryScheduler scheduler,
                          SessionLedger ledger, ToPartition partitions) {
        this.watchesTopic = topics.watches();
        this.answersTopic = topics.answers();
        this.scheduler = scheduler;
        this.ledger = ledger;
        this.partitions = partitions;
        this.producer = new KafkaProducer<>(kafka.clientConfig(Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.CLIENT_ID_CONFIG, "ul-worker-answers-" + workerId)),
                new StringSerializer(), new ByteArraySerializer());
        this.tail = new TopicTail(kafka, watchesTopic, true, "ul-worker-watches-" + workerId, this::onWatchRecord);
    }

    public WatchEvaluator start() {
        tail.start();
        return this;
    }

    /** Whether every watch written before the start was read. */
    public boolean caughtUp() {
        return tail.caughtUp();
    }

    private void onWatchRecord(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null) {
            WatchState removed = watches.remove(record.key());
            if (removed != null) {
                ledger.forgetWatch(removed.definition.session(), removed.definition.watchId());
                LOG.info("Watch {} of {} deleted", removed.definition.watchId(), removed.definition.session());
            }
            return;
        }
        WatchDefinition definition = WatchJson.decodeWatch(record.value());
        watches.compute(record.key(), (key, existing) -> existing == null
                ? new WatchState(definition, startingPoint(definition))
                : existing.redefined(definition));
    }

    /** Where a watch seen for the first time counts from: its last evaluation here, else the session as it is. */
    private long startingPoint(WatchDefinition definition) {
        long recorded = ledger.watchProgress(definition.session(), definition.watchId());
        return recorded >= 0 ? recorded : ledger.contextTokens(definition.session());
    }

    /** New chunks were applied to {@code session} (token feed thread). */
    public void sessionAdvanced(String session) {
        for (WatchState watch : watches.values()) {
            if (watch.definition.session().equals(session)) {
                consider(watch);
            }
        }
    }

    /** The session was deleted: its watches go with it (tombstones on ul.watches, so every reader forgets them). */
    public void sessionDeleted(String session) {
        for (Map.Entry<String, WatchState> entry : watches.entrySet()) {
            if (entry.getValue().definition.session().equals(session)) {
                // Same partition as the gateway wrote it to, or compaction would keep the watch.
                int partition = WatchKeys.partitionOf(session, producer.partitionsFor(watchesTopic).size());
                producer.send(new ProducerRecord<>(watchesTopic, partition, entry.getKey(), null));
                watches.remove(entry.getKey());
            }
        }
    }

    private void consider(WatchState watch) {
        if (watch.refused != null) {
            return;
        }
        long now = System.currentTimeMillis();
        synchronized (watch) {
            if (watch.inFlight) {
                watch.dirty = true;
                return;
            }
            long tokens = ledger.contextTokens(watch.definition.session());
            long added = tokens - watch.evaluatedTokens;
            if (added <= 0 || added < watch.definition.everyTokens()) {
                return;
            }
            long wait = watch.evaluatedAt + watch.definition.minIntervalMs() - now;
            if (wait > 0) {
                if (!watch.timerSet) {
                    watch.timerSet = true;
                    timer.schedule(() -> {
                        synchronized (watch) {
                            watch.timerSet = false;
                        }
                        consider(watch);
                    }, wait, TimeUnit.MILLISECONDS);
                }
                return;
            }
            watch.inFlight = true;
            watch.dirty = false;
        }
        submit(watch, now);
    }

    private void submit(WatchState watch, long now) {
        WatchDefinition definition = watch.definition;
        String requestId = "watch-" + definition.watchId() + "-" + UUID.randomUUID();
        QueryRequest request = new QueryRequest(requestId, definition.session(), definition.question(), null,
                definition.sampling(), -1, null, now + EVALUATION_TIMEOUT_MS, false);
        QueryJob[] job = new QueryJob[1];
        job[0] = new QueryJob(request, partitions.of(definition.session()), WATCH_PRIORITY, event -> {
            if (event.terminal()) {
                notifier.execute(() -> finishedSafely(watch, job[0], event));
            }
        });
        evaluations.incrementAndGet();
        scheduler.submit(job[0]);
    }

    private void finishedSafely(WatchState watch, QueryJob job, ResponseEvent terminal) {
        try {
            finished(watch, job, terminal);
        } catch (RuntimeException | StackOverflowError e) {
            // One watch's answer must not stop the others' (the executor would replace its thread, but log why).
            LOG.error("Handling the answer of watch {} of {} failed", watch.definition.watchId(), watch.definition.session(), e);
            synchronized (watch) {
                watch.inFlight = false;
            }
        }
    }

    private void finished(WatchState watch, QueryJob job, ResponseEvent terminal) {
        boolean again;
        long covered;
        synchronized (watch) {
            watch.inFlight = false;
            watch.evaluatedAt = System.currentTimeMillis();
            if (job.coveredTokens() >= 0) {
                watch.evaluatedTokens = job.coveredTokens();
            }
            covered = watch.evaluatedTokens;
            again = watch.dirty;
        }
        if (terminal instanceof ResponseEvent.Done done) {
            WatchDefinition definition = watch.definition;
            recordProgress(definition, covered);
            if (definition.notifyWhen() == null || watch.notifyWhen.foundIn(done.answer())) {
                WatchAnswer answer = new WatchAnswer(definition.watchId(), definition.session(), job.coveredSeq(),
                        done.answer(), done.usage(), done.timings(), System.currentTimeMillis());
                producer.send(new ProducerRecord<>(answersTopic, definition.session(), WatchJson.encode(answer)));
                announced.incrementAndGet();
            }
        } else if (terminal instanceof ResponseEvent.Error error) {
            LOG.warn("Watch {} of {} failed: {} {}", watch.definition.watchId(), watch.definition.session(),
                    error.code(), error.message());
        }
        if (again) {
            consider(watch);
        }
    }

    private void recordProgress(WatchDefinition definition, long covered) {
        try {
            ledger.recordWatchProgress(definition.session(), definition.watchId(), covered);
        } catch (RuntimeException e) {
            // Progress only spares a restarted worker a late first evaluation: never stop answering for it.
            LOG.warn("Progress of watch {} of {} not recorded: {}", definition.watchId(), definition.session(), e.getMessage());
        }
    }

    /** Evaluations started since this worker started. */
    public long evaluations() {
        return evaluations.get();
    }

    /** Answers written to ul.answers (those {@code notifyWhen} let through). */
    public long announced() {
        return announced.get();
    }

    public List<WatchDefinition> watches() {
        return watches.values().stream().map(w -> w.definition).toList();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        notifier.shutdownNow();
        tail.close();
        producer.close();
    }

    private static final class WatchState {
        final WatchDefinition definition;
        final NotifyPattern notifyWhen;
        /** Why the watch is not evaluated (its pattern was refused), or null. */
        final String refused;
        long evaluatedTokens;
        long evaluatedAt;
        boolean inFlight;
        boolean dirty;
        boolean timerSet;

        WatchState(WatchDefinition definition, long tokensAtStart) {
            this.definition = definition;
            NotifyPattern pattern = null;
            String refusal = null;
            if (definition.notifyWhen() != null) {
                try {
                    pattern = NotifyPattern.compile(definition.notifyWhen(), NotifyPattern.HARD_MAX_CHARS);
                } catch (IllegalArgumentException e) {
                    // Only a producer other than the gateway (which validates) can write this: say so, spend no model time.
                    refusal = e.getMessage();
                    LOG.error("Watch {} of {} is not evaluated: {}", definition.watchId(), definition.session(), refusal);
                }
            }
            this.notifyWhen = pattern;
            this.refused = refusal;
            this.evaluatedTokens = tokensAtStart;
        }

        /** The same watch written again (e.g. edited): keeps its progress. */
        WatchState redefined(WatchDefinition next) {
            WatchState state = new WatchState(next, evaluatedTokens);
            state.evaluatedAt = evaluatedAt;
            return state;
        }
    }
}
