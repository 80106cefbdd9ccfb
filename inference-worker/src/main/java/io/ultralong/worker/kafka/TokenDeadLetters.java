package io.ultralong.worker.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.worker.session.RejectedChunkException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies token chunks the ledger refused to {@code ul.tokens.dlq}: same key and value bytes, with the reason and the
 * source in headers named as on the records DLQ ({@code ul.dlq.reason}, {@code ul.dlq.message}, {@code ul.dlq.topic},
 * {@code ul.dlq.partition}, {@code ul.dlq.offset}) plus {@code ul.dlq.worker}.
 */
public final class TokenDeadLetters implements AutoCloseable {

    public static final String HEADER_REASON = "ul.dlq.reason";
    public static final String HEADER_MESSAGE = "ul.dlq.message";
    public static final String HEADER_TOPIC = "ul.dlq.topic";
    public static final String HEADER_PARTITION = "ul.dlq.partition";
    public static final String HEADER_OFFSET = "ul.dlq.offset";
    public static final String HEADER_WORKER = "ul.dlq.worker";

    private static final Logger LOG = LoggerFactory.getLogger(TokenDeadLetters.class);

    private final Producer<String, byte[]> producer;
    private final String topic;
    private final String workerId;
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();

    public TokenDeadLetters(KafkaConnection kafka, String topic, String workerId) {
        this.topic = topic;
        this.workerId = workerId;
        this.producer = new KafkaProducer<>(kafka.clientConfig(Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000,
                ProducerConfig.CLIENT_ID_CONFIG, "ul-worker-tokens-dlq-" + workerId)),
                new StringSerializer(), new ByteArraySerializer());
    }

    /**
     * Writes the refused record and waits for the broker's acknowledgement, so the partition's position never moves
     * past a bad chunk that is not in the DLQ yet. A DLQ that cannot be written is logged and counted; the partition
     * goes on regardless (the chunk could never be applied anyway).
     */
    public void send(ConsumerRecord<String, byte[]> record, RejectedChunkException rejected) {
        LOG.error("Chunk of {} at {}-{}@{} moved to {}: {}", record.key(), record.topic(), record.partition(), record.offset(),
                topic, rejected.getMessage());
        Headers headers = new RecordHeaders(record.headers().toArray());
        headers.add(HEADER_REASON, rejected.reason().getBytes(UTF_8));
        headers.add(HEADER_MESSAGE, String.valueOf(rejected.getMessage()).getBytes(UTF_8));
        headers.add(HEADER_TOPIC, record.topic().getBytes(UTF_8));
        headers.add(HEADER_PARTITION, Integer.toString(record.partition()).getBytes(UTF_8));
        headers.add(HEADER_OFFSET, Long.toString(record.offset()).getBytes(UTF_8));
        headers.add(HEADER_WORKER, workerId.getBytes(UTF_8));
        try {
            producer.send(new ProducerRecord<>(topic, null, record.key(), record.value(), headers)).get(60, TimeUnit.SECONDS);
            sent.incrementAndGet();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failed.incrementAndGet();
        } catch (Exception e) {
            failed.incrementAndGet();
            LOG.error("Could not write the refused chunk at {}-{}@{} to {}", record.topic(), record.partition(), record.offset(),
                    topic, e);
        }
    }

    /** Chunks written to the tokens DLQ since the start. */
    public long sent() {
        return sent.get();
    }

    /** Refused chunks that could not be written to the DLQ (only in the log). */
    public long failed() {
        return failed.get();
    }

    @Override
    public void close() {
        producer.close();
    }
}
