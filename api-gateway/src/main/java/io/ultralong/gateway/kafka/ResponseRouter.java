package io.ultralong.gateway.kafka;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.runtime.StartupEvent;
import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.ResponseEvent;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Delivers {@code ul.responses} events to the requests waiting in this gateway instance.
 *
 * <p>Every instance reads every partition from its end, with no consumer group, and keeps only the
 * events of its own requests: any number of gateway instances work without coordination, at the
 * cost of each reading all response traffic (small JSON events). A request processed twice (its
 * worker died mid-answer) repeats its events; token events are dropped by their index, and nothing
 * after the first terminal event is delivered.
 */
@ApplicationScoped
public class ResponseRouter {

    private static final Logger LOG = Logger.getLogger(ResponseRouter.class);
    private static final Duration PARTITION_REFRESH = Duration.ofSeconds(5);

    private final ConcurrentMap<String, Subscription> subscriptions = new ConcurrentHashMap<>();
    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private volatile boolean assigned;
    private Thread thread;

    public ResponseRouter(@ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers, TopicNames topics) {
        this.topic = topics.responses();
        this.consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false,
                ConsumerConfig.CLIENT_ID_CONFIG, "ul-gateway-responses",
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20),
                new StringDeserializer(), new ByteArrayDeserializer());
    }

    void start(@Observes StartupEvent startup) {
        thread = new Thread(this::run, "ul-response-router");
        thread.setDaemon(true);
        thread.start();
    }

    /** Whether the router reads the responses topic (readiness). */
    public boolean ready() {
        return assigned;
    }

    /**
     * Routes the events of {@code requestId} to {@code listener}, on the router's thread, until the
     * first terminal event or {@link Subscription#close()}. Subscribe before sending the request.
     */
    public Subscription subscribe(String requestId, Consumer<ResponseEvent> listener) {
        Subscription subscription = new Subscription(requestId, listener);
        if (subscriptions.putIfAbsent(requestId, subscription) != null) {
            throw new IllegalStateException("Request id already in flight: " + requestId);
        }
        return subscription;
    }

    /** Delivers an event produced locally (a timeout) exactly as if it had come from Kafka. */
    public void deliverLocally(ResponseEvent event) {
        Subscription subscription = subscriptions.get(event.requestId());
        if (subscription != null) {
            subscription.deliver(event);
        }
    }

    public int inFlight() {
        return subscriptions.size();
    }

    private void run() {
        long nextRefresh = 0;
        Set<TopicPartition> partitions = new HashSet<>();
        try {
            while (running.get()) {
                if (System.nanoTime() >= nextRefresh) {
                    refreshAssignment(partitions);
                    nextRefresh = System.nanoTime() + PARTITION_REFRESH.toNanos();
                }
                if (partitions.isEmpty()) {
                    // The topic does not exist yet (its first worker creates it): look again shortly.
                    LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
                    nextRefresh = Math.min(nextRefresh, System.nanoTime() + Duration.ofSeconds(1).toNanos());
                    continue;
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    Subscription subscription = record.key() == null ? null : subscriptions.get(record.key());
                    if (subscription != null && record.value() != null) {
                        deliver(subscription, record);
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("The response router stopped; queries will time out", e);
            assigned = false;
        } finally {
            consumer.close();
        }
    }

    private void deliver(Subscription subscription, ConsumerRecord<String, byte[]> record) {
        try {
            subscription.deliver(QueryJson.decodeEvent(record.value()));
        } catch (IllegalArgumentException e) {
            LOG.warnf("Skipping an unreadable response at %s-%d@%d: %s", record.topic(), record.partition(),
                    record.offset(), e.getMessage());
        }
    }

    private void refreshAssignment(Set<TopicPartition> partitions) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
        if (infos == null || infos.isEmpty()) {
            return;
        }
        Set<TopicPartition> current = new HashSet<>();
        infos.forEach(info -> current.add(new TopicPartition(topic, info.partition())));
        if (current.equals(partitions)) {
            return;
        }
        Set<TopicPartition> added = new HashSet<>(current);
        added.removeAll(partitions);
        consumer.assign(current);
        if (partitions.isEmpty()) {
            consumer.seekToEnd(added);   // at start: only responses to requests sent from now on
        } else {
            consumer.seekToBeginning(added);   // partitions added later: nothing of theirs is old
        }
        partitions.clear();
        partitions.addAll(current);
        // position() forces the seek now, so an event produced right after start is not skipped.
        added.forEach(consumer::position);
        assigned = true;
    }

    @PreDestroy
    void stop() {
        running.set(false);
        consumer.wakeup();
    }

    /** One request's interest in its events. */
    public final class Subscription implements AutoCloseable {
        private final String requestId;
        private final Consumer<ResponseEvent> listener;
        private long nextTokenIndex;
        private boolean finished;

        private Subscription(String requestId, Consumer<ResponseEvent> listener) {
            this.requestId = requestId;
            this.listener = listener;
        }

        private synchronized void deliver(ResponseEvent event) {
            if (finished) {
                return;
            }
            if (event instanceof ResponseEvent.Token token) {
                if (token.index() < nextTokenIndex) {
                    return;   // a repeat from a re-processed request
                }
                nextTokenIndex = token.index() + 1;
            }
            if (event.terminal()) {
                finished = true;
                subscriptions.remove(requestId, this);
            }
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                LOG.warnf(e, "Listener of request %s failed", requestId);
            }
        }

        public synchronized boolean finished() {
            return finished;
        }

        @Override
        public synchronized void close() {
            finished = true;
            subscriptions.remove(requestId, this);
        }
    }
}
