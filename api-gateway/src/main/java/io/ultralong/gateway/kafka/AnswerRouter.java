package io.ultralong.gateway.kafka;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.MultiEmitter;
import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.protocol.watch.WatchAnswer;
import io.ultralong.protocol.watch.WatchJson;
import io.ultralong.protocol.watch.WatchKeys;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Streams the answers of standing queries from {@code ul.answers} to the clients following them. */
@ApplicationScoped
public class AnswerRouter {

    private final ConcurrentMap<String, Set<MultiEmitter<? super WatchAnswer>>> followers = new ConcurrentHashMap<>();
    private final TopicTail tail;

    public AnswerRouter(KafkaConnection kafka, Topics topics) {
        this.tail = new TopicTail(kafka, topics.answers(), false, "ul-gateway-answers", this::route);
    }

    void start(@Observes StartupEvent startup) {
        tail.start();
    }

    /** Every answer of the watch from now on, until the subscriber cancels. */
    public Multi<WatchAnswer> follow(String session, String watchId) {
        String key = WatchKeys.key(session, watchId);
        return Multi.createFrom().emitter(emitter -> {
            followers.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(emitter);
            emitter.onTermination(() -> followers.computeIfPresent(key, (k, set) -> {
                set.remove(emitter);
                return set.isEmpty() ? null : set;
            }));
        });
    }

    private void route(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null) {
            return;
        }
        WatchAnswer answer = WatchJson.decodeAnswer(record.value());
        Set<MultiEmitter<? super WatchAnswer>> emitters = followers.get(WatchKeys.key(answer.session(), answer.watchId()));
        if (emitters != null) {
            emitters.forEach(emitter -> emitter.emit(answer));
        }
    }

    @PreDestroy
    void stop() {
        tail.close();
    }
}
