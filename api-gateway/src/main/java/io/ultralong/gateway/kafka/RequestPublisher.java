package io.ultralong.gateway.kafka;

import java.util.concurrent.CompletionStage;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.WorkerRequest;
import io.ultralong.protocol.topics.Topics;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Sends requests to the worker owning the session: {@code ul.requests}, keyed by the session key. */
@ApplicationScoped
public class RequestPublisher {

    private final KafkaProducers producers;
    private final Topics topics;

    public RequestPublisher(KafkaProducers producers, Topics topics) {
        this.producers = producers;
        this.topics = topics;
    }

    public CompletionStage<Void> send(WorkerRequest request) {
        return producers.send(new ProducerRecord<>(topics.requests(), request.session(), QueryJson.encode(request)));
    }
}
