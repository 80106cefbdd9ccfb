package io.ultralong.gateway.kafka;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.gateway.GatewayConfig;
import io.ultralong.protocol.kafka.KafkaConnection;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The gateway's one producer: idempotent, {@code acks=all}, so an acknowledged append is on every
 * in-sync replica exactly once and in order per session.
 */
@ApplicationScoped
public class KafkaProducers {

    private final Producer<String, byte[]> producer;

    /**
     * Room above {@code ul.limits.max-record-bytes} for the key, headers and batch framing of a record, so that a
     * record the gateway's own limit accepts is never refused by the producer's (the same headroom ingest gives).
     */
    static final int RECORD_OVERHEAD_BYTES = 64 * 1024;

    public KafkaProducers(KafkaConnection kafka, GatewayConfig config) {
        this.producer = new KafkaProducer<>(kafka.clientConfig(Map.of(
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxRequestBytes(config.limits().maxRecordBytes()),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 2,
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000,
                ProducerConfig.CLIENT_ID_CONFIG, "ul-gateway")),
                new StringSerializer(), new ByteArraySerializer());
    }

    /** The producer's {@code max.request.size}: Kafka's default 1 MiB, or more when the record limit needs it. */
    static int maxRequestBytes(int maxRecordBytes) {
        return Math.max(1024 * 1024, maxRecordBytes + RECORD_OVERHEAD_BYTES);
    }

    /** Sends a record; completes once Kafka acknowledged it (acks=all). */
    public CompletionStage<Void> send(ProducerRecord<String, byte[]> record) {
        CompletableFuture<Void> sent = new CompletableFuture<>();
        producer.send(record, (metadata, error) -> {
            if (error != null) {
                sent.completeExceptionally(error);
            } else {
                sent.complete(null);
            }
        });
        return sent;
    }

    public Producer<String, byte[]> producer() {
        return producer;
    }

    @PreDestroy
    void close() {
        producer.close();
    }
}
