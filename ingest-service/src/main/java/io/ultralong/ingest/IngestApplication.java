package io.ultralong.ingest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.ultralong.ingest.record.ContextTemplate;
import io.ultralong.protocol.records.RecordParser;
import io.ultralong.protocol.topics.CoPartitioning;
import io.ultralong.protocol.topics.TopicProvisioner;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.runtime.model.ModelResolver;
import io.ultralong.runtime.tokenizer.ModelTokenizer;

/**
 * The running ingest service: owns the tokenizer (a native handle) and the {@link KafkaStreams} instance, and closes
 * both. Startable from plain Java ({@link #start}), which the Quarkus service, the embedded platform and the
 * crash-test child process all use.
 */
public final class IngestApplication implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(IngestApplication.class);
    /** Room for a rejected record's headers next to its value on the DLQ. */
    private static final int DLQ_HEADROOM_BYTES = 64 * 1024;

    private final ModelTokenizer tokenizer;
    private final KafkaStreams streams;
    private final Topics topics;

    private IngestApplication(ModelTokenizer tokenizer, KafkaStreams streams, Topics topics) {
        this.tokenizer = tokenizer;
        this.streams = streams;
        this.topics = topics;
    }

    /**
     * Creates absent topics (if configured), refuses to start when ul.records, ul.tokens and ul.requests are not
     * co-partitioned, loads the tokenizer and starts the Streams application.
     *
     * @throws CoPartitioning.CoPartitioningException when the partition counts differ
     */
    public static IngestApplication start(IngestSettings settings) {
        return start(settings, IngestMetrics.NONE);
    }

    /**
     * A tokenizer.json file as given; anything else (a model directory, a hub cache folder, a hub id) through the
     * {@link ModelResolver} the workers use too, so that both read the same snapshot.
     */
    static Path tokenizerPath(Path configured) {
        return Files.isRegularFile(configured) ? configured
                : ModelResolver.fromEnvironment().resolve(configured.toString()).directory();
    }

    /** As {@link #start(IngestSettings)}, counting records, rejects and deletes into {@code metrics}. */
    public static IngestApplication start(IngestSettings settings, IngestMetrics metrics) {
        Topics topics = new Topics(settings.topicPrefix());
        ContextTemplate template = ContextTemplate.parse(settings.template());
        prepareTopics(settings, topics);
        ModelTokenizer tokenizer = ModelTokenizer.load(tokenizerPath(settings.tokenizer()));
        try {
            Topology topology = IngestTopology.build(topics, new RecordParser(settings.maxRecordBytes()), template,
                    tokenizer::encode, settings.maxChunkTokens(), metrics);
            KafkaStreams streams = new KafkaStreams(topology, streamsProperties(settings));
            streams.setUncaughtExceptionHandler(e -> {
                LOG.error("Ingest stream thread failed; replacing it (the transaction in flight is aborted)", e);
                return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
                        .REPLACE_THREAD;
            });
            streams.start();
            LOG.info("Ingest started: {} -> {} (DLQ {}), application id {}, template \"{}\", chunks of at most {} tokens",
                    topics.records(), topics.tokens(), topics.recordsDlq(), settings.applicationId(), template,
                    settings.maxChunkTokens());
            return new IngestApplication(tokenizer, streams, topics);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    private static void prepareTopics(IngestSettings settings, Topics topics) {
        try (Admin admin = Admin.create(settings.kafka().clientConfig(Map.of(AdminClientConfig.CLIENT_ID_CONFIG,
                settings.applicationId() + "-admin")))) {
            if (settings.createTopics()) {
                // The platform's topic settings (retention, compaction of watches), and a DLQ that accepts a
                // rejected too-large record copied whole.
                Map<String, Map<String, String>> configs = new HashMap<>(topics.defaultConfigs());
                configs.put(topics.recordsDlq(), Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                        Integer.toString(maxRequestBytes(settings))));
                // A record at the size limit must be stored by the broker too (the gateway accepts it), and so
                // must its token chunk.
                for (String sized : List.of(topics.records(), topics.tokens())) {
                    Map<String, String> config = new HashMap<>(configs.getOrDefault(sized, Map.of()));
                    config.put(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxRequestBytes(settings)));
                    configs.put(sized, config);
                }
                var provisioner = new TopicProvisioner(settings.partitions(), settings.replicationFactor(), configs);
                List<String> created = provisioner.createMissing(admin, topics.all());
                if (!created.isEmpty()) {
                    LOG.info("Created topics {} with {} partitions", created, settings.partitions());
                }
            }
            int partitions = CoPartitioning.verify(admin, topics);
            LOG.info("Topics {} are co-partitioned with {} partitions", topics.coPartitioned(), partitions);
        }
    }

    static int maxRequestBytes(IngestSettings settings) {
        return Math.max(1024 * 1024, settings.maxRecordBytes() + DLQ_HEADROOM_BYTES);
    }

    static Properties streamsProperties(IngestSettings settings) {
        // Passthrough client properties (security) first: Streams hands unprefixed ones to all its clients.
        Properties props = settings.kafka().clientProperties(Map.of());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, settings.applicationId());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, settings.stateDir().toString());
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, settings.streamThreads());
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, settings.commitInterval().toMillis());
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) settings.replicationFactor());
        props.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), maxRequestBytes(settings));
        // Tokens of one record are produced back to back: batch them.
        props.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
        props.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4");
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 500);
        props.putAll(settings.streamsOverrides());
        return props;
    }

    public Topics topics() {
        return topics;
    }

    public KafkaStreams.State state() {
        return streams.state();
    }

    /** The Streams instance, for health checks and metrics binders. */
    public KafkaStreams streams() {
        return streams;
    }

    /** Whether the application is processing (or rebalancing towards it). */
    public boolean isRunning() {
        return streams.state().isRunningOrRebalancing();
    }

    @Override
    public void close() {
        // Streams first: its threads call the tokenizer until they stop.
        streams.close(Duration.ofSeconds(30));
        tokenizer.close();
    }
}
