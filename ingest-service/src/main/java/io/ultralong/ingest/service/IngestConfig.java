package io.ultralong.ingest.service;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * The ingest service's configuration ({@code application.properties}, or environment variables such as
 * {@code UL_INGEST_TOKENIZER}, {@code UL_TOPICS_PREFIX}, {@code KAFKA_BOOTSTRAP_SERVERS}).
 */
@ConfigMapping(prefix = "ul")
public interface IngestConfig {

    Topics topics();

    Ingest ingest();

    interface Topics {
        /** Prefix of every topic name. */
        @WithDefault("ul.")
        String prefix();

        /** Create absent topics at start. */
        @WithDefault("true")
        boolean create();

        /** Partitions of topics created at start (ul.records, ul.tokens and ul.requests must be equal). */
        @WithDefault("6")
        int partitions();

        /** Replication factor of created topics and of the counters' changelog. */
        @WithName("replication-factor")
        @WithDefault("1")
        short replicationFactor();
    }

    interface Ingest {
        /** Kafka Streams application id: consumer group, transactional ids, changelog topic names. */
        @WithName("application-id")
        @WithDefault("ul-ingest")
        String applicationId();

        /**
         * A model directory holding tokenizer.json, or the tokenizer.json file (the one the workers load).
         * Absent: the built-in demo model's tokenizer, the one workers without a model use.
         */
        Optional<Path> tokenizer();

        /** Record values larger than this go to the DLQ as too-large. */
        @WithName("max-record-bytes")
        @WithDefault("1048576")
        int maxRecordBytes();

        /** Most tokens per chunk on ul.tokens. */
        @WithName("max-chunk-tokens")
        @WithDefault("2048")
        int maxChunkTokens();

        /** Context template; placeholders {text}, {source}, {ts}, {id}; \n is a newline. */
        @WithDefault("[{ts}] {source}: {text}\\n")
        String template();

        /** Kafka Streams state directory (RocksDB of the counters); default: a directory under java.io.tmpdir. */
        @WithName("state-dir")
        Optional<Path> stateDir();

        @WithName("stream-threads")
        @WithDefault("1")
        int streamThreads();

        /** Transaction commit interval: the latency floor of exactly-once output. */
        @WithName("commit-interval")
        @WithDefault("PT0.1S")
        Duration commitInterval();

        /** Further Kafka Streams or client properties, e.g. ul.ingest.streams."producer.linger.ms"=20. */
        Map<String, String> streams();
    }
}
