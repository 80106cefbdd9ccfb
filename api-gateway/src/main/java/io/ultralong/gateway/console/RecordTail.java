package io.ultralong.gateway.console;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.protocol.records.SessionControl;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.protocol.watch.WatchKeys;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The latest records of a session, read back from its partition of {@code ul.records} (the records
 * topic is the source of truth, and a record's seq is its offset there). One consumer without a group
 * serves every caller in turn: an operator's tail is a handful of reads per second at most.
 */
@ApplicationScoped
public class RecordTail {

    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final int scanRecords;
    private final ObjectMapper json = new ObjectMapper();

    public RecordTail(@ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers, Topics topics,
                      ConsoleConfig config) {
        this.topic = topics.records();
        this.scanRecords = config.tailScanRecords();
        this.consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false,
                ConsumerConfig.CLIENT_ID_CONFIG, "ul-gateway-record-tail",
                // Only committed appends: an aborted transaction's records never show.
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** One record as the console shows it; {@code deleted} marks a tombstone. */
    public record TailRecord(long seq, long timestamp, String text, String source, String id, boolean deleted) {
    }

    /**
     * Up to {@code limit} of the session's latest records with a seq above {@code afterSeq} (-1: any),
     * oldest first, looking back at most the configured number of the partition's offsets.
     */
    public synchronized List<TailRecord> latest(String sessionKey, long afterSeq, int limit) {
        int partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10)).size();
        TopicPartition tp = new TopicPartition(topic, WatchKeys.partitionOf(sessionKey, partitions));
        consumer.assign(List.of(tp));
        long begin = consumer.beginningOffsets(List.of(tp)).get(tp);
        long end = consumer.endOffsets(List.of(tp)).get(tp);
        long from = Math.max(Math.max(begin, end - scanRecords), afterSeq + 1);
        List<TailRecord> found = new ArrayList<>();
        if (from >= end) {
            return found;
        }
        consumer.seek(tp, from);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        // Transaction markers take offsets too: stop at the end offset seen, or when nothing more comes.
        while (consumer.position(tp) < end && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                // a session's creation is a control record (its metadata), not text to show
                if (sessionKey.equals(record.key()) && record.offset() < end
                        && !SessionControl.isSessionCreation(record.headers())) {
                    found.add(parse(record));
                }
            }
        }
        return found.size() > limit ? List.copyOf(found.subList(found.size() - limit, found.size())) : found;
    }

    private TailRecord parse(ConsumerRecord<String, byte[]> record) {
        if (record.value() == null) {
            return new TailRecord(record.offset(), record.timestamp(), null, null, null, true);
        }
        String raw = new String(record.value(), StandardCharsets.UTF_8);
        try {
            JsonNode node = json.readTree(raw);
            if (node != null && node.isObject() && node.hasNonNull("text")) {
                return new TailRecord(record.offset(), record.timestamp(), node.get("text").asText(),
                        node.hasNonNull("source") ? node.get("source").asText() : null,
                        node.hasNonNull("id") ? node.get("id").asText() : null, false);
            }
        } catch (Exception e) {
            // Not JSON: a plain text record (DESIGN: a plain UTF-8 value is {"text": value}).
        }
        return new TailRecord(record.offset(), record.timestamp(), raw, null, null, false);
    }

    @PreDestroy
    void close() {
        consumer.close();
    }
}
