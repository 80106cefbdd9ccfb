package io.ultralong.gateway.kafka;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.runtime.StartupEvent;
import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.protocol.watch.WatchDefinition;
import io.ultralong.protocol.watch.WatchJson;
import io.ultralong.protocol.watch.WatchKeys;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The standing queries of all sessions, as {@code ul.watches} (a compacted topic) says: read from
 * its beginning at start and followed from then on. Writes go to Kafka; the workers owning the
 * sessions pick them up from there and evaluate them.
 */
@ApplicationScoped
public class WatchRegistry {

    private final ConcurrentMap<String, WatchDefinition> watches = new ConcurrentHashMap<>();
    private final KafkaProducers producers;
    private final String topic;
    private final TopicTail tail;

    public WatchRegistry(KafkaConnection kafka, Topics topics,
                         KafkaProducers producers) {
        this.producers = producers;
        this.topic = topics.watches();
        this.tail = new TopicTail(kafka, topic, true, "ul-gateway-watches", this::apply);
    }

    void start(@Observes StartupEvent startup) {
        tail.start();
    }

    private void apply(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null) {
            watches.remove(record.key());
        } else {
            watches.put(record.key(), WatchJson.decodeWatch(record.value()));
        }
    }

    public List<WatchDefinition> list(String session) {
        return watches.values().stream().filter(w -> w.session().equals(session))
                .sorted(Comparator.comparingLong(WatchDefinition::createdAt).thenComparing(WatchDefinition::watchId))
                .toList();
    }

    /** How many watches the sessions of {@code tenant} have (session keys are {@code <tenant>/<session>}). */
    public long countOfTenant(String tenant) {
        String prefix = tenant + "/";
        return watches.values().stream().filter(w -> w.session().startsWith(prefix)).count();
    }

    public Optional<WatchDefinition> find(String session, String watchId) {
        return Optional.ofNullable(watches.get(WatchKeys.key(session, watchId)));
    }

    /** Stores a watch; completes once Kafka has it. */
    public CompletionStage<WatchDefinition> put(WatchDefinition watch) {
        String key = WatchKeys.key(watch.session(), watch.watchId());
        return send(key, watch.session(), WatchJson.encode(watch)).thenApply(done -> {
            watches.put(key, watch);   // read-your-writes before the tail sees it
            return watch;
        });
    }

    /** Deletes a watch with a tombstone; completes once Kafka has it. */
    public CompletionStage<Void> delete(String session, String watchId) {
        String key = WatchKeys.key(session, watchId);
        return send(key, session, null).thenRun(() -> watches.remove(key));
    }

    /** Whether the registry has read all watches written before it started (readiness). */
    public boolean ready() {
        return tail.caughtUp();
    }

    private CompletionStage<Void> send(String key, String session, byte[] value) {
        int partitions = producers.producer().partitionsFor(topic).size();
        // The session's partition, not the key's: a watch lives where its session's data does.
        return producers.send(new ProducerRecord<>(topic, WatchKeys.partitionOf(session, partitions), key, value));
    }

    @PreDestroy
    void stop() {
        tail.close();
    }
}
