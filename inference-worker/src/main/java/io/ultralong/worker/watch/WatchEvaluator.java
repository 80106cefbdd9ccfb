package io.ultralong.worker.watch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

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
import io.ultralong.protocol.watch.WatchProgress;
import io.ultralong.worker.query.QueryJob;
import io.ultralong.worker.query.QueryScheduler;
import io.ultralong.worker.session.SessionLedger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
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
 *
 * <p>Evaluation progress (the context tokens the last evaluation covered) is kept where the next owner of the
 * partition reads it: on {@code ul.watch-progress} (compacted, keyed like the watch), written in one Kafka transaction
 * with the answer it belongs to, so an answer is announced exactly when its progress is recorded. A worker that gains
 * a partition reads that topic before it applies any of the partition's chunks and counts new tokens from there: it
 * neither announces again what the previous owner announced nor skips what arrived during the move (it considers
 * every watch of the partition right away). A worker that gives a partition up waits for its evaluations of it in
 * flight and announces nothing of it afterwards. The worker's store keeps a copy, for a restart without Kafka's.
 */
public final class WatchEvaluator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WatchEvaluator.class);
    private static final int WATCH_PRIORITY = 1;
    private static final long EVALUATION_TIMEOUT_MS = TimeUnit.MINUTES.toMillis(30);

    private final Map<String, WatchState> watches = new ConcurrentHashMap<>();
    /** Progress read from ul.watch-progress or written here, by watch key. */
    private final Map<String, Long> sharedProgress = new ConcurrentHashMap<>();
    /** Tokens partitions this worker owns; announcing holds the read lock, giving a partition up the write lock. */
    private final Set<Integer> owned = ConcurrentHashMap.newKeySet();
    private final ReentrantReadWriteLock ownership = new ReentrantReadWriteLock();
    private final KafkaConnection kafka;
    private final String progressTopic;
    private final String workerId;
    /** Partitions of ul.watch-progress, 0 while it does not exist (progress then stays in the store only). */
    private volatile int progressPartitions;
    private boolean transactionsReady;
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
        this.kafka = kafka;
        this.workerId = workerId;
        this.progressTopic = topics.watchProgress();
        this.watchesTopic = topics.watches();
        this.answersTopic = topics.answers();
        this.scheduler = scheduler;
        this.ledger = ledger;
        this.partitions = partitions;
        // Transactional: an answer and its progress become visible together or not at all. The id is the worker's, so a
        // restarted worker fences its previous incarnation's unfinished transaction.
        this.producer = new KafkaProducer<>(kafka.clientConfig(Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "ul-worker-watches-" + workerId,
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
                sharedProgress.remove(record.key());
                if (owns(removed.definition.session())) {
                    // The owner clears the progress too, or compaction would keep it for ever.
                    sendInTransaction(java.util.Collections.singletonList(
                            progressTombstone(removed.definition.session(), record.key())));
                }
                LOG.info("Watch {} of {} deleted", removed.definition.watchId(), removed.definition.session());
            }
            return;
        }
        WatchDefinition definition = WatchJson.decodeWatch(record.value());
        boolean[] fresh = {false};
        WatchState state = watches.compute(record.key(), (key, existing) -> {
            fresh[0] = existing == null && recordedProgress(definition) < 0;
            return existing == null ? new WatchState(definition, startingPoint(definition)) : existing.redefined(definition);
        });
        if (fresh[0] && owns(definition.session())) {
            // A new watch counts from the session as it is now: record that, so a next owner counts from here too
            // rather than from its own view of the session (evaluating history the watch was never meant to cover).
            long start;
            synchronized (state) {
                start = state.evaluatedTokens;
            }
            if (sendInTransaction(java.util.Collections.singletonList(progressRecord(definition, start,
                    ledger.appliedSeq(definition.session()))))) {
                sharedProgress.putIfAbsent(record.key(), start);
                recordProgress(definition, start);
            }
        }
    }

    /**
     * Where a watch seen for the first time counts from: its last evaluation, as recorded on ul.watch-progress or in
     * this worker's store, else the session as it is here.
     */
    private long startingPoint(WatchDefinition definition) {
        long recorded = recordedProgress(definition);
        return recorded >= 0 ? recorded : ledger.contextTokens(definition.session());
    }

    /** The furthest recorded evaluation of the watch (Kafka's or the store's), -1 when none. */
    private long recordedProgress(WatchDefinition definition) {
        long local = ledger.watchProgress(definition.session(), definition.watchId());
        long shared = sharedProgress.getOrDefault(WatchKeys.key(definition.session(), definition.watchId()), -1L);
        return Math.max(local, shared);
    }

    /**
     * This worker now owns these tokens partitions (token feed thread, before any of their chunks is applied): reads
     * ul.watch-progress to its end, so the watches of their sessions count from the previous owner's last announced
     * evaluation, then considers each of them, so what arrived during the move is evaluated even if nothing more comes.
     */
    public void partitionsAssigned(Collection<Integer> gained) {
        loadSharedProgress();
        owned.addAll(gained);
        for (WatchState watch : watches.values()) {
            if (gained.contains(partitions.of(watch.definition.session()))) {
                long recorded = recordedProgress(watch.definition);
                synchronized (watch) {
                    watch.evaluatedTokens = Math.max(watch.evaluatedTokens, recorded);
                }
                consider(watch);
            }
        }
    }

    /**
     * This worker gives these partitions up (token feed thread, before the next owner gets them): waits for answers of
     * their watches being announced, and announces none of them afterwards.
     */
    public void partitionsRevoked(Collection<Integer> lost) {
        ownership.writeLock().lock();
        try {
            owned.removeAll(lost);
        } finally {
            ownership.writeLock().unlock();
        }
    }

    private boolean owns(String session) {
        return owned.contains(partitions.of(session));
    }

    /** Reads ul.watch-progress whole (committed records only) into {@link #sharedProgress}. */
    private void loadSharedProgress() {
        try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(kafka.clientConfig(Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.CLIENT_ID_CONFIG, "ul-worker-watch-progress-" + workerId)),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = reader.partitionsFor(progressTopic, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) {
                if (progressPartitions == 0) {
                    LOG.warn("{} does not exist: watch progress stays in this worker's store, and the next owner of a "
                            + "partition may announce an answer again or count from its own start", progressTopic);
                }
                return;
            }
            progressPartitions = infos.size();
            List<TopicPartition> all = infos.stream().map(info -> new TopicPartition(progressTopic, info.partition())).toList();
            reader.assign(all);
            reader.seekToBeginning(all);
            Map<TopicPartition, Long> end = reader.endOffsets(all);
            int read = 0;
            while (all.stream().anyMatch(tp -> reader.position(tp) < end.get(tp))) {
                for (ConsumerRecord<String, byte[]> record : reader.poll(Duration.ofMillis(200))) {
                    if (record.value() == null) {
                        sharedProgress.remove(record.key());
                    } else {
                        sharedProgress.put(record.key(), WatchJson.decodeProgress(record.value()).coveredTokens());
                    }
                    read++;
                }
            }
            LOG.info("Read {} watch progress records from {}", read, progressTopic);
        } catch (RuntimeException e) {
            // Without it the next evaluation may repeat an announced one: say so, but keep the partition.
            LOG.error("Could not read {}: watches of newly owned partitions count from this worker's store", progressTopic, e);
        }
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
        List<ProducerRecord<String, byte[]>> tombstones = new ArrayList<>();
        for (Map.Entry<String, WatchState> entry : watches.entrySet()) {
            if (entry.getValue().definition.session().equals(session)) {
                // Same partition as the gateway wrote it to, or compaction would keep the watch.
                int partition = WatchKeys.partitionOf(session, producer.partitionsFor(watchesTopic).size());
                tombstones.add(new ProducerRecord<>(watchesTopic, partition, entry.getKey(), null));
                ProducerRecord<String, byte[]> progress = progressTombstone(session, entry.getKey());
                if (progress != null) {
                    tombstones.add(progress);
                }
                sharedProgress.remove(entry.getKey());
                watches.remove(entry.getKey());
            }
        }
        if (!tombstones.isEmpty()) {
            sendInTransaction(tombstones);
        }
    }

    private ProducerRecord<String, byte[]> progressTombstone(String session, String key) {
        int partitions = progressPartitions;
        return partitions == 0 ? null : new ProducerRecord<>(progressTopic, WatchKeys.partitionOf(session, partitions), key, null);
    }

    private ProducerRecord<String, byte[]> progressRecord(WatchDefinition definition, long coveredTokens, long coveredSeq) {
        int partitions = progressPartitions;
        if (partitions == 0) {
            return null;
        }
        String key = WatchKeys.key(definition.session(), definition.watchId());
        return new ProducerRecord<>(progressTopic, WatchKeys.partitionOf(definition.session(), partitions), key,
                WatchJson.encode(new WatchProgress(definition.watchId(), definition.session(), coveredTokens, coveredSeq,
                        System.currentTimeMillis())));
    }

    /**
     * Sends the records in one transaction; whether it committed. A failed one is aborted: neither the answer nor its
     * progress is visible, so the next evaluation covers what this one did (nothing skipped, nothing repeated).
     */
    private boolean sendInTransaction(List<ProducerRecord<String, byte[]>> records) {
        List<ProducerRecord<String, byte[]>> present = records.stream().filter(java.util.Objects::nonNull).toList();
        if (present.isEmpty()) {
            return true;
        }
        synchronized (producer) {
            try {
                if (!transactionsReady) {
                    producer.initTransactions();
                    transactionsReady = true;
                }
                producer.beginTransaction();
                present.forEach(producer::send);
                producer.commitTransaction();
                return true;
            } catch (ProducerFencedException | InvalidProducerEpochException e) {
                LOG.error("Another worker runs with id {}: this one no longer announces watch answers", workerId, e);
                return false;
            } catch (KafkaException e) {
                LOG.warn("Watch records not written (the next evaluation covers them): {}", e.getMessage());
                try {
                    producer.abortTransaction();
                } catch (KafkaException abort) {
                    LOG.debug("Abort failed too: {}", abort.getMessage());
                }
                return false;
            }
        }
    }

    private void consider(WatchState watch) {
        if (watch.refused != null || !owns(watch.definition.session())) {
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
        long previous;
        synchronized (watch) {
            watch.inFlight = false;
            watch.evaluatedAt = System.currentTimeMillis();
            previous = watch.evaluatedTokens;
            if (job.coveredTokens() >= 0) {
                watch.evaluatedTokens = job.coveredTokens();
            }
            covered = watch.evaluatedTokens;
            again = watch.dirty;
        }
        if (terminal instanceof ResponseEvent.Done done) {
            WatchDefinition definition = watch.definition;
            List<ProducerRecord<String, byte[]>> records = new ArrayList<>();
            boolean notify = definition.notifyWhen() == null || watch.notifyWhen.foundIn(done.answer());
            if (notify) {
                WatchAnswer answer = new WatchAnswer(definition.watchId(), definition.session(), job.coveredSeq(),
                        done.answer(), done.usage(), done.timings(), System.currentTimeMillis());
                records.add(new ProducerRecord<>(answersTopic, definition.session(), WatchJson.encode(answer)));
            }
            records.add(progressRecord(definition, covered, job.coveredSeq()));
            boolean written;
            ownership.readLock().lock();
            try {
                // A partition given up meanwhile is the next owner's: it counts from the progress recorded so far.
                written = owns(definition.session()) && sendInTransaction(records);
            } finally {
                ownership.readLock().unlock();
            }
            if (written) {
                sharedProgress.put(WatchKeys.key(definition.session(), definition.watchId()), covered);
                recordProgress(definition, covered);
                if (notify) {
                    announced.incrementAndGet();
                }
            } else {
                synchronized (watch) {
                    // Not announced: the next evaluation covers this one's tokens again.
                    watch.evaluatedTokens = Math.min(watch.evaluatedTokens, previous);
                }
                LOG.info("Evaluation of watch {} of {} not announced (partition given up or Kafka failed)",
                        definition.watchId(), definition.session());
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
