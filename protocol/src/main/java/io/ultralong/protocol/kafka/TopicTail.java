package io.ultralong.protocol.kafka;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every partition of one topic on its own thread, with no consumer group, and hands each
 * record to a callback: how each gateway instance follows topics whose every record may matter to
 * it, without coordinating with other instances. Partitions added later are picked up from their
 * start; a topic that does not exist yet is looked for again every second.
 */
public final class TopicTail implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TopicTail.class);
    private static final Duration REFRESH = Duration.ofSeconds(5);

    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final boolean fromBeginning;
    private final Consumer<ConsumerRecord<String, byte[]>> handler;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile boolean assigned;
    private volatile boolean caughtUp;

    /**
     * @param fromBeginning read the topic's whole history first (a compacted state topic), or only
     *                      what is written from now on
     */
    public TopicTail(String bootstrapServers, String topic, boolean fromBeginning, String clientId,
              Consumer<ConsumerRecord<String, byte[]>> handler) {
        this(KafkaConnection.of(bootstrapServers), topic, fromBeginning, clientId, handler);
    }

    public TopicTail(KafkaConnection kafka, String topic, boolean fromBeginning, String clientId,
              Consumer<ConsumerRecord<String, byte[]>> handler) {
        this.topic = topic;
        this.fromBeginning = fromBeginning;
        this.handler = handler;
        this.consumer = new KafkaConsumer<>(kafka.clientConfig(Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false,
                ConsumerConfig.CLIENT_ID_CONFIG, clientId,
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20,
                // Watch answers are written in transactions with their progress: never show an aborted one.
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")),
                new StringDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this::run, clientId);
        thread.setDaemon(true);
    }

    public TopicTail start() {
        thread.start();
        return this;
    }

    /** Whether the topic exists and is being read. */
    public boolean assigned() {
        return assigned;
    }

    /** Whether everything written before the tail started has been handled (always true from the end). */
    public boolean caughtUp() {
        return caughtUp;
    }

    private void run() {
        Set<TopicPartition> partitions = new HashSet<>();
        Map<TopicPartition, Long> catchUpTo = Map.of();
        long nextRefresh = 0;
        try {
            while (running) {
                try {
                    if (System.nanoTime() >= nextRefresh) {
                        Set<TopicPartition> added = refresh(partitions);
                        if (!added.isEmpty() && catchUpTo.isEmpty()) {
                            catchUpTo = fromBeginning ? consumer.endOffsets(added) : Map.of();
                        }
                        nextRefresh = System.nanoTime() + (partitions.isEmpty() ? Duration.ofSeconds(1) : REFRESH).toNanos();
                    }
                    if (partitions.isEmpty()) {
                        LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
                        continue;
                    }
                    for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        try {
                            handler.accept(record);
                        } catch (RuntimeException e) {
                            LOG.warn("Skipping record {}-{}@{}", record.topic(), record.partition(), record.offset(), e);
                        }
                    }
                    if (!caughtUp) {
                        Map<TopicPartition, Long> target = catchUpTo;
                        caughtUp = target.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
                    }
                } catch (RetriableException e) {
                    // The broker is away (restarting, failing over): keep the partitions and positions and try
                    // again. Stopping here left the gateway deaf to ul.responses after a broker restart, so that
                    // every query timed out (found by the soak, SoakIT).
                    LOG.warn("Reading {} failed ({}); retrying", topic, e.toString());
                    LockSupport.parkNanos(Duration.ofSeconds(1).toNanos());
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("Stopped reading {}", topic, e);
            assigned = false;
        } finally {
            consumer.close();
        }
    }

    private Set<TopicPartition> refresh(Set<TopicPartition> partitions) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
        Set<TopicPartition> current = new HashSet<>();
        if (infos != null) {
            infos.forEach(info -> current.add(new TopicPartition(topic, info.partition())));
        }
        Set<TopicPartition> added = new HashSet<>(current);
        added.removeAll(partitions);
        if (added.isEmpty()) {
            return added;
        }
        boolean first = partitions.isEmpty();
        consumer.assign(current);
        if (first && !fromBeginning) {
            consumer.seekToEnd(added);
        } else {
            consumer.seekToBeginning(added);
        }
        // position() resolves the seek now: nothing written after this point is missed.
        added.forEach(consumer::position);
        partitions.addAll(added);
        assigned = true;
        return added;
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
    }
}
