package io.ultralong.worker.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;

import io.ultralong.protocol.topics.CoPartitioning;
import io.ultralong.worker.WorkerSettings;
import io.ultralong.worker.session.RejectedChunkException;
import io.ultralong.worker.session.SessionLedger;
import io.ultralong.worker.session.StoreWriteException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns partitions of {@code ul.tokens} for this worker and applies their chunks to the ledger.
 *
 * <p>Membership is static (the worker id) and assignment cooperative-sticky, so restarts and
 * scale-outs move as few sessions as possible. Where to read is the ledger's business: it stores
 * each partition's position atomically with the chunks, so a worker resumes exactly after what its
 * store holds (a partition new to this worker replays from its start, as its store has nothing).
 * Offsets are committed to Kafka only after the store holds the data, for monitoring and lag.
 *
 * <p>A record the store cannot write (a full disk) is neither skipped nor fatal: the feed pauses, reports it, and
 * applies it again once the store writes again (see {@link #storeFailure()}).
 *
 * <p>A record the ledger refuses (unreadable, a seq gap, a wrong first position) goes to {@code ul.tokens.dlq} with
 * its reason and the partition goes on: one bad record must not stop every session of the partition, again after
 * each restart.
 */
public final class TokenFeed implements Runnable, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TokenFeed.class);
    private static final Duration FIRST_RETRY = Duration.ofMillis(250);
    private static final Duration MAX_RETRY = Duration.ofSeconds(10);

    /** Told of partitions gained and given up, on the feed's thread; a revoke waits for it. */
    public interface Ownership {
        void assigned(Collection<Integer> partitions);

        void revoked(Collection<Integer> partitions);
    }

    /** Told after chunks were applied to a session. */
    public interface Progress {
        void applied(String session);
    }

    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final SessionLedger ledger;
    private final Ownership ownership;
    private final Progress progress;
    private final TokenDeadLetters deadLetters;
    private final Set<Integer> owned = new CopyOnWriteArraySet<>();
    private final Thread thread;
    private final String requestsTopic;
    private volatile boolean running = true;
    private volatile boolean coPartitioningChecked;
    private volatile String stopReason;
    private final java.util.concurrent.atomic.AtomicLong rebuilt = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong lost = new java.util.concurrent.atomic.AtomicLong();
    /** Why the store's last write failed while the feed waits to retry; null when all is well. */
    private volatile String storeFailure;
    private volatile long storeFailures;
    /** When to try the store again ({@link System#nanoTime()}); 0: no retry pending. Feed thread only. */
    private long retryAt;
    private Duration retryDelay = FIRST_RETRY;

    public TokenFeed(WorkerSettings settings, SessionLedger ledger, Ownership ownership, Progress progress) {
        this.topic = settings.topics().tokens();
        this.requestsTopic = settings.topics().requests();
        this.ledger = ledger;
        this.ownership = ownership;
        this.progress = progress;
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
        config.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, settings.workerId());
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "ul-worker-tokens-" + settings.workerId());
        config.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) settings.sessionTimeout().toMillis());
        config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) Math.max(500, settings.sessionTimeout().toMillis() / 5));
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // Ingest writes chunks in transactions: never apply a chunk of an aborted one.
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        this.consumer = new KafkaConsumer<>(settings.kafka().clientConfig(config), new StringDeserializer(), new ByteArrayDeserializer());
        this.deadLetters = new TokenDeadLetters(settings.kafka(), settings.topics().tokensDlq(), settings.workerId());
        this.thread = new Thread(this, "ul-token-feed");
    }

    public void start() {
        thread.start();
    }

    /** Whether its thread still runs (it stops only on close or a fatal error). */
    public boolean alive() {
        return thread.isAlive();
    }

    /** The tokens partitions this worker owns now. */
    public Set<Integer> owned() {
        return Set.copyOf(owned);
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(topic), new Rebalance());
            while (running) {
                if (retryAt == 0 && ledger.writeFailure().isPresent()) {
                    // Another writer (KV persistence, watch progress) saw the store fail: probe it from here too, so
                    // the failure clears once writes succeed, even when no chunk arrives.
                    retryAt = System.nanoTime() + retryDelay.toNanos();
                }
                if (retryAt != 0 && System.nanoTime() - retryAt >= 0) {
                    retryStore();
                }
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    continue;
                }
                Map<TopicPartition, OffsetAndMetadata> applied = new HashMap<>();
                Set<String> advanced = new LinkedHashSet<>();
                StoreWriteException failure = null;
                for (TopicPartition partition : records.partitions()) {
                    List<ConsumerRecord<String, byte[]>> batch = records.records(partition);
                    if (failure != null) {
                        consumer.seek(partition, batch.get(0).offset());   // not reached: read again after the retry
                        continue;
                    }
                    for (ConsumerRecord<String, byte[]> record : batch) {
                        try {
                            ledger.apply(record.partition(), record.offset(), record.key(), record.value());
                        } catch (RejectedChunkException e) {
                            deadLetters.send(record, e);
                        } catch (StoreWriteException e) {
                            failure = e;
                            consumer.seek(partition, record.offset());   // nothing of it was written: apply it again
                            break;
                        }
                        applied.put(partition, new OffsetAndMetadata(record.offset() + 1));
                        advanced.add(record.key());
                    }
                }
                // Once per session and batch: waiting queries and due watches see the whole batch at once.
                advanced.forEach(progress::applied);
                if (!applied.isEmpty()) {
                    consumer.commitAsync(applied, (offsets, error) -> {
                        if (error != null) {
                            LOG.debug("Offset commit failed (the store is the source of truth): {}", error.getMessage());
                        }
                    });
                }
                if (failure != null) {
                    storeFailed(failure);
                } else if (storeFailure != null) {
                    storeRecovered();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() instanceof CoPartitioning.CoPartitioningException ? e.getCause() : e;
            stopReason = cause.getMessage();
            LOG.error("The token feed stopped", cause);
        } finally {
            consumer.close();
            deadLetters.close();
        }
    }

    /**
     * The store could not write (a full disk, ...). Stopping would not free the disk and a restart would fail the same
     * way, so the feed stays up: it pauses its partitions (queries on what is applied keep being answered, the group
     * keeps its member), reports the failure through {@link #storeFailure()} (readiness goes DOWN with it) and tries
     * again after a growing pause, from the record that failed.
     */
    private void storeFailed(StoreWriteException e) {
        if (storeFailure == null) {
            LOG.error("The context store cannot write; the token feed pauses and retries until it can: {}", e.getMessage());
            retryDelay = FIRST_RETRY;
        } else {
            LOG.warn("The context store still cannot write (next try in {} ms): {}", retryDelay.toMillis(), e.getMessage());
            retryDelay = retryDelay.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : retryDelay.multipliedBy(2);
        }
        storeFailure = e.getMessage();
        storeFailures++;
        consumer.pause(consumer.assignment());
        retryAt = System.nanoTime() + retryDelay.toNanos();
        if (retryAt == 0) {
            retryAt = 1;
        }
    }

    /** The pause after a store failure is over: read again if a small write succeeds, else wait longer. */
    private void retryStore() {
        retryAt = 0;
        if (ledger.probeWrites()) {
            consumer.resume(consumer.paused());   // the failed records come again, in order
        } else {
            storeFailed(new StoreWriteException("still failing: " + ledger.writeFailure().orElse("a probe write failed"), null));
        }
    }

    private void storeRecovered() {
        LOG.info("The context store writes again; the token feed goes on (it failed {} times)", storeFailures);
        storeFailure = null;
    }

    /**
     * Why the feed is held up now: the store could not write the next record (it retries meanwhile), or empty. The
     * worker's readiness reports it.
     */
    public java.util.Optional<String> storeFailure() {
        return java.util.Optional.ofNullable(storeFailure);
    }

    /** Times a record could not be written since the start (each retry that failed counts). */
    public long storeFailures() {
        return storeFailures;
    }

    /** Why the feed stopped (an error's message), or null while it runs or after a clean close. */
    public String stopReason() {
        return stopReason;
    }

    /** Partitions whose stored position lay beyond their log end, so their sessions were rebuilt. */
    public long partitionsRebuilt() {
        return rebuilt.get();
    }

    /** Partitions found to have lost records (deleted before they were applied). */
    public long partitionsWithLostRecords() {
        return lost.get();
    }

    /** Records moved to the tokens DLQ since the start. */
    public long deadLettered() {
        return deadLetters.sent();
    }

    /** Refused records that could not be written to the tokens DLQ (they are only in the log). */
    public long deadLetterFailures() {
        return deadLetters.failed();
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            if (!coPartitioningChecked) {
                checkCoPartitioning();
            }
            List<Integer> numbers = partitions.stream().map(TopicPartition::partition).toList();
            Map<TopicPartition, Long> logStart;
            Map<TopicPartition, Long> logEnd;
            try {
                logStart = consumer.beginningOffsets(partitions);
                logEnd = consumer.endOffsets(partitions);
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                // A leader away right now must not stop the feed: resume where the store says, unchecked this time.
                LOG.warn("Log bounds of {} unknown ({}): resuming where the store says without checking them", partitions,
                        e.getMessage());
                logStart = null;
                logEnd = null;
            }
            int partitionCount = consumer.partitionsFor(topic).size();
            for (TopicPartition partition : partitions) {
                consumer.seek(partition, logStart == null ? ledger.nextOffset(partition.partition())
                        : startingOffset(partition, logStart.get(partition), logEnd.get(partition), partitionCount));
            }
            owned.addAll(numbers);
            LOG.info("Assigned tokens partitions {} (now owning {})", numbers, owned);
            ownership.assigned(numbers);
        }

        /**
         * Where to read the partition from: after what the ledger applied, unless the log no longer matches it. A
         * stored position beyond the log end means the log is not the one the ledger was built from (the topic was
         * recreated, or Kafka lost records): the partition's sessions are dropped and rebuilt from the log start. A
         * position before the log start means records were deleted (retention) or lost before they were applied: they
         * can never be applied, so the sessions that may lack them are marked incomplete and refuse queries with a clear
         * error; reading goes on from the log start. Never a silent skip, never a silent replay.
         */
        private long startingOffset(TopicPartition partition, long start, long end, int partitionCount) {
            int number = partition.partition();
            java.util.function.ToIntFunction<String> partitionOf =
                    session -> io.ultralong.protocol.watch.WatchKeys.partitionOf(session, partitionCount);
            long next = ledger.nextOffset(number);
            if (next > end) {
                LOG.error("The stored position {} of {} lies beyond its log end {}: the topic was recreated or Kafka lost "
                        + "records. Rebuilding the partition's sessions from its log start {}", next, partition, end, start);
                ledger.rebuildPartition(number, partitionOf);
                rebuilt.incrementAndGet();
                next = 0;
            }
            if (next < start) {
                ledger.recordsLost(number, next, start, partitionOf);
                lost.incrementAndGet();
                next = start;
            }
            return next;
        }

        /**
         * A worker started before its topics existed checks them here, once: tokens partition p and requests partition
         * p must hold the same sessions, or queries would wait on a worker that never sees their session's chunks.
         */
        private void checkCoPartitioning() {
            int tokens = consumer.partitionsFor(topic).size();
            int requests = consumer.partitionsFor(requestsTopic).size();
            if (tokens > 0 && requests > 0) {
                CoPartitioning.requireEqual(Map.of(topic, tokens, requestsTopic, requests));
                coPartitioningChecked = true;
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            giveUp(partitions, true);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            giveUp(partitions, false);
        }

        private void giveUp(Collection<TopicPartition> partitions, boolean commit) {
            if (partitions.isEmpty()) {
                return;
            }
            // Only what this feed took on: a failed assignment (see checkCoPartitioning) never reached the others.
            List<Integer> numbers = partitions.stream().map(TopicPartition::partition).filter(owned::contains).toList();
            if (numbers.isEmpty()) {
                return;
            }
            // Stop reading their requests first: a partition not in owned() has no request read here any more.
            ownership.revoked(numbers);
            owned.removeAll(numbers);
            if (commit) {
                Map<TopicPartition, OffsetAndMetadata> positions = new HashMap<>();
                for (TopicPartition partition : partitions) {
                    positions.put(partition, new OffsetAndMetadata(ledger.nextOffset(partition.partition())));
                }
                try {
                    consumer.commitSync(positions);
                } catch (RuntimeException e) {
                    LOG.warn("Commit on revoke failed: {}", e.getMessage());
                }
            }
            LOG.info("Gave up tokens partitions {} (now owning {})", numbers, owned);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(30_000);
    }
}
