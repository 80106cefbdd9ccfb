package io.ultralong.worker.kafka;

import java.util.Map;

import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.ResponseEvent;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Writes response events to {@code ul.responses}, keyed by request id so a request's events stay in order. */
public final class ResponsePublisher implements AutoCloseable {

    private final Producer<String, byte[]> producer;
    private final String topic;

    public ResponsePublisher(KafkaConnection kafka, String topic, String clientId) {
        this.topic = topic;
        this.producer = new KafkaProducer<>(kafka.clientConfig(Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                // Token events are small and latency-bound: send at once.
                ProducerConfig.LINGER_MS_CONFIG, 0,
                ProducerConfig.CLIENT_ID_CONFIG, clientId)),
                new StringSerializer(), new ByteArraySerializer());
    }

    public void publish(ResponseEvent event) {
        producer.send(new ProducerRecord<>(topic, event.requestId(), QueryJson.encode(event)));
    }

    /** The partition count of a topic (from the producer's metadata cache). */
    public int partitions(String topic) {
        return producer.partitionsFor(topic).size();
    }

    /** Waits until every event published so far is acknowledged. */
    public void flush() {
        producer.flush();
    }

    @Override
    public void close() {
        producer.close();
    }
}
