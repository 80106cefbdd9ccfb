package io.ultralong.ingest;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

import io.ultralong.ingest.record.ContextTemplate;
import io.ultralong.protocol.kafka.KafkaConnection;

/**
 * Everything the ingest Streams application needs, as plain values: built from Quarkus configuration by the
 * service, or directly by the embedded platform and by tests.
 *
 * @param applicationId     Kafka Streams application id (consumer group, transactional ids, internal topic names)
 * @param bootstrapServers  Kafka bootstrap servers
 * @param topicPrefix       prefix of every topic name ({@code ul.})
 * @param createTopics      whether absent topics are created at start
 * @param partitions        partitions of topics created here
 * @param replicationFactor replication factor of topics created here and of the internal changelog topic
 * @param tokenizer         a model directory holding {@code tokenizer.json}, or the file itself
 * @param maxRecordBytes    larger record values go to the DLQ as {@code too-large}
 * @param maxChunkTokens    most tokens per chunk on {@code ul.tokens}
 * @param template          the context template ({@link ContextTemplate})
 * @param stateDir          Kafka Streams state directory (RocksDB of the counters store)
 * @param streamThreads     Kafka Streams threads
 * @param commitInterval    transaction commit interval: the latency floor of exactly-once output
 * @param streamsOverrides  further Kafka Streams / client properties, applied last
 */
public record IngestSettings(
        String applicationId,
        String bootstrapServers,
        String topicPrefix,
        boolean createTopics,
        int partitions,
        short replicationFactor,
        Path tokenizer,
        int maxRecordBytes,
        int maxChunkTokens,
        String template,
        Path stateDir,
        int streamThreads,
        Duration commitInterval,
        Map<String, String> streamsOverrides,
        Map<String, String> kafkaProperties) {

    public static final String DEFAULT_APPLICATION_ID = "ul-ingest";
    public static final int DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
    public static final int DEFAULT_MAX_CHUNK_TOKENS = 2048;
    public static final int DEFAULT_PARTITIONS = 6;

    public IngestSettings {
        Objects.requireNonNull(applicationId, "applicationId");
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(topicPrefix, "topicPrefix");
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(template, "template");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(commitInterval, "commitInterval");
        if (partitions < 1 || replicationFactor < 1 || maxRecordBytes < 1 || maxChunkTokens < 1 || streamThreads < 1) {
            throw new IllegalArgumentException("partitions, replication factor, sizes and threads must be positive");
        }
        streamsOverrides = Map.copyOf(streamsOverrides);
        kafkaProperties = Map.copyOf(kafkaProperties);
    }

    /** Without passthrough Kafka client properties. */
    public IngestSettings(String applicationId, String bootstrapServers, String topicPrefix, boolean createTopics,
                          int partitions, short replicationFactor, Path tokenizer, int maxRecordBytes, int maxChunkTokens,
                          String template, Path stateDir, int streamThreads, Duration commitInterval,
                          Map<String, String> streamsOverrides) {
        this(applicationId, bootstrapServers, topicPrefix, createTopics, partitions, replicationFactor, tokenizer,
                maxRecordBytes, maxChunkTokens, template, stateDir, streamThreads, commitInterval, streamsOverrides, Map.of());
    }

    /** How the Streams application and the admin client connect (security passthrough, see {@link KafkaConnection}). */
    public KafkaConnection kafka() {
        return new KafkaConnection(bootstrapServers, kafkaProperties);
    }

    public IngestSettings withKafka(KafkaConnection kafka) {
        return new IngestSettings(applicationId, kafka.bootstrapServers(), topicPrefix, createTopics, partitions,
                replicationFactor, tokenizer, maxRecordBytes, maxChunkTokens, template, stateDir, streamThreads,
                commitInterval, streamsOverrides, kafka.properties());
    }

    /** The documented defaults for a broker and a tokenizer. */
    public static IngestSettings defaults(String bootstrapServers, Path tokenizer) {
        return new IngestSettings(DEFAULT_APPLICATION_ID, bootstrapServers, "ul.", true, DEFAULT_PARTITIONS, (short) 1,
                tokenizer, DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_CHUNK_TOKENS, ContextTemplate.DEFAULT,
                Path.of(System.getProperty("java.io.tmpdir"), "ul-ingest-state"), 1, Duration.ofMillis(100), Map.of());
    }

    public IngestSettings withApplicationId(String value) {
        return new IngestSettings(value, bootstrapServers, topicPrefix, createTopics, partitions, replicationFactor,
                tokenizer, maxRecordBytes, maxChunkTokens, template, stateDir, streamThreads, commitInterval,
                streamsOverrides, kafkaProperties);
    }

    public IngestSettings withTopicPrefix(String value) {
        return new IngestSettings(applicationId, bootstrapServers, value, createTopics, partitions, replicationFactor,
                tokenizer, maxRecordBytes, maxChunkTokens, template, stateDir, streamThreads, commitInterval,
                streamsOverrides, kafkaProperties);
    }

    public IngestSettings withTopics(boolean create, int newPartitions) {
        return new IngestSettings(applicationId, bootstrapServers, topicPrefix, create, newPartitions,
                replicationFactor, tokenizer, maxRecordBytes, maxChunkTokens, template, stateDir, streamThreads,
                commitInterval, streamsOverrides, kafkaProperties);
    }

    public IngestSettings withLimits(int newMaxRecordBytes, int newMaxChunkTokens) {
        return new IngestSettings(applicationId, bootstrapServers, topicPrefix, createTopics, partitions,
                replicationFactor, tokenizer, newMaxRecordBytes, newMaxChunkTokens, template, stateDir, streamThreads,
                commitInterval, streamsOverrides, kafkaProperties);
    }

    public IngestSettings withTemplate(String value) {
        return new IngestSettings(applicationId, bootstrapServers, topicPrefix, createTopics, partitions,
                replicationFactor, tokenizer, maxRecordBytes, maxChunkTokens, value, stateDir, streamThreads,
                commitInterval, streamsOverrides, kafkaProperties);
    }

    public IngestSettings withStateDir(Path value) {
        return new IngestSettings(applicationId, bootstrapServers, topicPrefix, createTopics, partitions,
                replicationFactor, tokenizer, maxRecordBytes, maxChunkTokens, template, value, streamThreads,
                commitInterval, streamsOverrides, kafkaProperties);
    }

    public IngestSettings withStreamThreads(int value) {
        return new IngestSettings(applicationId, bootstrapServers, topicPrefix, createTopics, partitions,
                replicationFactor, tokenizer, maxRecordBytes, maxChunkTokens, template, stateDir, value,
                commitInterval, streamsOverrides, kafkaProperties);
    }

    public IngestSettings withStreamsOverrides(Map<String, String> value) {
        return new IngestSettings(applicationId, bootstrapServers, topicPrefix, createTopics, partitions,
                replicationFactor, tokenizer, maxRecordBytes, maxChunkTokens, template, stateDir, streamThreads,
                commitInterval, value, kafkaProperties);
    }
}
