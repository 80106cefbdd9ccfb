package io.ultralong.gateway.kafka;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.protocol.records.RecordId;
import io.ultralong.protocol.records.SessionControl;
import io.ultralong.protocol.topics.Topics;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Appends records of one session to {@code ul.records} and completes once every one is
 * acknowledged by Kafka, with their offsets: the seqs of the REST contract.
 */
@ApplicationScoped
public class RecordAppender {

    /** The acknowledged range; seqs are offsets in the session's partition of ul.records. */
    public record Appended(long firstSeq, long lastSeq, int count, int partition) {
    }

    private final KafkaProducers producers;
    private final Topics topics;
    private final SeqTracker seqs;

    public RecordAppender(KafkaProducers producers, Topics topics, SeqTracker seqs) {
        this.producers = producers;
        this.topics = topics;
        this.seqs = seqs;
    }

    public CompletionStage<Appended> append(String sessionKey, List<byte[]> values) {
        return append(sessionKey, values, Optional.empty());
    }

    /**
     * As {@link #append(String, List)}; with an idempotency key, record i carries the record id {@code <key>#<i>}
     * ({@link RecordId}) so that ingest adds it to the session only once however often the append is retried.
     */
    public CompletionStage<Appended> append(String sessionKey, List<byte[]> values, Optional<String> idempotencyKey) {
        List<CompletableFuture<RecordMetadata>> acks = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(topics.records(), sessionKey, values.get(i));
            if (idempotencyKey.isPresent()) {
                record.headers().add(RecordId.HEADER, RecordId.forAppend(idempotencyKey.get(), i));
            }
            acks.add(send(record));
        }
        return CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).thenApply(done -> {
            long first = Long.MAX_VALUE;
            long last = -1;
            for (CompletableFuture<RecordMetadata> ack : acks) {
                first = Math.min(first, ack.join().offset());
                last = Math.max(last, ack.join().offset());
            }
            seqs.acknowledged(sessionKey, last);
            return new Appended(first, last, values.size(), acks.get(0).join().partition());
        });
    }

    /**
     * A session creation ({@link SessionControl}): ingest turns it into a marker chunk, so the owning worker
     * stores the session and its {@code metadata} (JSON object bytes) durably, in order with its records.
     */
    public CompletionStage<Appended> create(String sessionKey, byte[] metadata) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topics.records(), sessionKey, metadata);
        record.headers().add(SessionControl.HEADER, SessionControl.createSessionHeader());
        return send(record).thenApply(ack -> {
            seqs.acknowledged(sessionKey, ack.offset());
            return new Appended(ack.offset(), ack.offset(), 0, ack.partition());
        });
    }

    /** A tombstone: the ingest service and the workers delete the session's records, tokens and KV. */
    public CompletionStage<Appended> delete(String sessionKey) {
        return send(sessionKey, null).thenApply(ack -> {
            seqs.forget(sessionKey);
            return new Appended(ack.offset(), ack.offset(), 0, ack.partition());
        });
    }

    private CompletableFuture<RecordMetadata> send(String key, byte[] value) {
        return send(new ProducerRecord<>(topics.records(), key, value));
    }

    private CompletableFuture<RecordMetadata> send(ProducerRecord<String, byte[]> record) {
        CompletableFuture<RecordMetadata> ack = new CompletableFuture<>();
        producers.producer().send(record, (metadata, error) -> {
            if (error != null) {
                ack.completeExceptionally(error);
            } else {
                ack.complete(metadata);
            }
        });
        return ack;
    }
}
