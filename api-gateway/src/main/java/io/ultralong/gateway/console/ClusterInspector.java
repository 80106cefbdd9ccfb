package io.ultralong.gateway.console;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.gateway.kafka.KafkaProducers;
import io.ultralong.gateway.kafka.QueryRelay;
import io.ultralong.gateway.kafka.ResponseRouter;
import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.WorkerRequest;
import io.ultralong.protocol.topics.Topics;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Asks the owner of every partition of {@code ul.requests} the same question (a session listing, a
 * status) by writing one request to each partition explicitly, and gathers what comes back within a
 * deadline. A partition nobody owns (a worker died, a rebalance) simply does not answer: the caller
 * gets the answers it has and how many partitions were asked.
 */
@ApplicationScoped
public class ClusterInspector {

    private final KafkaProducers producers;
    private final ResponseRouter router;
    private final Topics topics;

    public ClusterInspector(KafkaProducers producers, ResponseRouter router, Topics topics) {
        this.producers = producers;
        this.router = router;
        this.topics = topics;
    }

    /** The answers of the partitions that answered within {@code timeout}, and how many were asked. */
    public record Gathered<T extends ResponseEvent>(List<T> answers, int partitions) {
    }

    /** Sends {@code request(requestId)} to every partition and waits for the answers of type {@code type}. */
    public <T extends ResponseEvent> Gathered<T> ask(IntFunction<WorkerRequest> requestForPartition, Class<T> type,
                                                    Duration timeout) {
        int partitions = producers.producer().partitionsFor(topics.requests()).size();
        List<T> answers = new ArrayList<>();
        CountDownLatch remaining = new CountDownLatch(partitions);
        List<ResponseRouter.Subscription> subscriptions = new ArrayList<>();
        try {
            for (int partition = 0; partition < partitions; partition++) {
                WorkerRequest request = requestForPartition.apply(partition);
                subscriptions.add(router.subscribe(request.requestId(), event -> {
                    if (type.isInstance(event)) {
                        synchronized (answers) {
                            answers.add(type.cast(event));
                        }
                    }
                    remaining.countDown();
                }));
                producers.send(new ProducerRecord<>(topics.requests(), partition, request.session(), QueryJson.encode(request)));
            }
            remaining.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            subscriptions.forEach(ResponseRouter.Subscription::close);
        }
        synchronized (answers) {
            return new Gathered<>(List.copyOf(answers), partitions);
        }
    }

    static String newRequestId() {
        return QueryRelay.newRequestId();
    }
}
