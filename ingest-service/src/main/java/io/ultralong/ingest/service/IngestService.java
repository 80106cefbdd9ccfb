package io.ultralong.ingest.service;

import java.nio.file.Path;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.quarkus.runtime.StartupEvent;
import io.ultralong.ingest.IngestApplication;
import io.ultralong.ingest.IngestSettings;

/**
 * Runs the ingest Streams application for the life of the Quarkus process. A failure at start (co-partitioning,
 * missing tokenizer, unreachable broker) fails the start of the service with its message.
 */
@ApplicationScoped
public class IngestService {

    private final IngestConfig config;
    private final String bootstrapServers;
    private final MeterRegistry registry;
    private IngestApplication application;
    private KafkaStreamsMetrics streamsMetrics;

    public IngestService(IngestConfig config,
                         @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers,
                         MeterRegistry registry) {
        this.config = config;
        this.bootstrapServers = bootstrapServers;
        this.registry = registry;
    }

    void onStart(@Observes StartupEvent event) {
        application = IngestApplication.start(settings(), new MicrometerIngestMetrics(registry));
        streamsMetrics = new KafkaStreamsMetrics(application.streams());
        streamsMetrics.bindTo(registry);
    }

    IngestSettings settings() {
        IngestConfig.Topics topics = config.topics();
        IngestConfig.Ingest ingest = config.ingest();
        return new IngestSettings(ingest.applicationId(), bootstrapServers, topics.prefix(), topics.create(),
                topics.partitions(), topics.replicationFactor(), ingest.tokenizer(), ingest.maxRecordBytes(),
                ingest.maxChunkTokens(), ingest.template(),
                ingest.stateDir().orElse(Path.of(System.getProperty("java.io.tmpdir"), "ul-ingest-state")),
                ingest.streamThreads(), ingest.commitInterval(), ingest.streams());
    }

    /** The running application, for health checks; null before start. */
    IngestApplication application() {
        return application;
    }

    @PreDestroy
    void stop() {
        if (streamsMetrics != null) {
            streamsMetrics.close();
        }
        if (application != null) {
            application.close();
        }
    }
}
