package io.ultralong.gateway.kafka;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.runtime.StartupEvent;
import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.topics.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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

    private final ConcurrentMap<String, Subscription> subscriptions = new ConcurrentHashMap<>();
    private final TopicTail tail;

    public ResponseRouter(KafkaConnection kafka, Topics topics) {
        this.tail = new TopicTail(kafka, topics.responses(), false, "ul-gateway-responses", this::route);
    }

    void start(@Observes StartupEvent startup) {
        tail.start();
    }

    /** Whether the router reads the responses topic (readiness). */
    public boolean ready() {
        return tail.assigned();
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

    private void route(ConsumerRecord<String, byte[]> record) {
        Subscription subscription = record.key() == null ? null : subscriptions.get(record.key());
        if (subscription != null && record.value() != null) {
            try {
                subscription.deliver(QueryJson.decodeEvent(record.value()));
            } catch (IllegalArgumentException e) {
                LOG.warnf("Skipping an unreadable response at %s-%d@%d: %s", record.topic(), record.partition(),
                        record.offset(), e.getMessage());
            }
        }
    }

    @PreDestroy
    void stop() {
        tail.close();
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
