package io.ultralong.ingest;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Produces a workload to {@code ul.records} the way the gateway does (acks=all, idempotent) and records offsets. */
public final class WorkloadProducer implements AutoCloseable {

    /** Where each record of the workload landed: index i -> partition and offset. */
    public record Positions(int[] partitions, long[] offsets) {
        public Positions(int count) {
            this(new int[count], new long[count]);
        }
    }

    private final KafkaProducer<byte[], byte[]> producer;

    public WorkloadProducer(Properties clientProperties, int maxRecordBytes) {
        Properties props = new Properties();
        props.putAll(clientProperties);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // One request in flight: the tests produce right after creating their topics, and a first batch refused with
        // NOT_LEADER_OR_FOLLOWER (the broker not yet leading the new partition) while later batches of the same
        // partition were in flight came back OUT_OF_ORDER_SEQUENCE_NUMBER until the delivery timeout (seen once in
        // CI). With one in flight the refused batch is retried before any later one is sent.
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 10);
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Math.max(1024 * 1024, 2 * maxRecordBytes));
        this.producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Sends records {@code from} (inclusive) to {@code to} (exclusive) and waits until all are acknowledged. */
    public void send(String topic, List<IngestWorkload.InputRecord> records, int from, int to, Positions positions) {
        AtomicReference<Exception> failure = new AtomicReference<>();
        for (int i = from; i < to; i++) {
            IngestWorkload.InputRecord record = records.get(i);
            int index = i;
            producer.send(new ProducerRecord<>(topic, record.key(), record.value()), (metadata, error) -> {
                if (error != null) {
                    failure.compareAndSet(null, error);
                } else {
                    positions.partitions()[index] = metadata.partition();
                    positions.offsets()[index] = metadata.offset();
                }
            });
        }
        producer.flush();
        if (failure.get() != null) {
            throw new IllegalStateException("producing the workload failed", failure.get());
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
