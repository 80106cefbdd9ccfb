package io.ultralong.ingest.service;

import java.nio.file.Path;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.quarkus.runtime.StartupEvent;
import io.ultralong.ingest.IngestApplication;
import io.ultralong.ingest.IngestSettings;
import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.runtime.synthetic.DemoModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the ingest Streams application for the life of the Quarkus process. A failure at start (co-partitioning,
 * missing tokenizer, unreachable broker) fails the start of the service with its message.
 */
@ApplicationScoped
public class IngestService {

    private static final Logger LOG = LoggerFactory.getLogger(IngestService.class);

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
        String records = config.topics().prefix() + "records";
        io.micrometer.core.instrument.Gauge.builder("ul.ingest.lag.records", application, app -> lag(app, records))
                .description("Records on the records topic not yet read by ingest (its stream threads' consumer lag)")
                .register(registry);
    }

    /** The sum of the stream threads' {@code records-lag} on the records topic, as their consumers measure it. */
    private static double lag(IngestApplication app, String recordsTopic) {
        return app.streams().metrics().values().stream()
                .filter(metric -> metric.metricName().name().equals("records-lag")
                        && metric.metricName().group().equals("consumer-fetch-manager-metrics")
                        && recordsTopic.equals(metric.metricName().tags().get("topic")))
                .mapToDouble(metric -> metric.metricValue() instanceof Number n && !Double.isNaN(n.doubleValue()) ? n.doubleValue() : 0)
                .sum();
    }

    IngestSettings settings() {
        IngestConfig.Topics topics = config.topics();
        IngestConfig.Ingest ingest = config.ingest();
        Path stateDir = ingest.stateDir().orElse(Path.of(System.getProperty("java.io.tmpdir"), "ul-ingest-state"));
        return new IngestSettings(ingest.applicationId(), bootstrapServers, topics.prefix(), topics.create(),
                topics.partitions(), topics.replicationFactor(), ingest.tokenizer().orElseGet(() -> demoTokenizer(stateDir)),
                ingest.maxRecordBytes(), ingest.maxChunkTokens(), ingest.template(), stateDir,
                ingest.streamThreads(), ingest.commitInterval(), ingest.streams())
                .withKafka(kafkaConnection());
    }

    private KafkaConnection kafkaConnection() {
        Config all = ConfigProvider.getConfig();
        return KafkaConnection.fromConfig(bootstrapServers, all.getPropertyNames(),
                name -> all.getOptionalValue(name, String.class), System.getenv());
    }

    /** Without a configured model, the demo model's tokenizer: written as workers without a model write it, so both tokenize alike. */
    private static Path demoTokenizer(Path stateDir) {
        LOG.warn("No tokenizer configured (ul.ingest.tokenizer / UL_INGEST_TOKENIZER): using the built-in demo model's,"
                + " which only workers running the demo model share.");
        return DemoModel.ensure(stateDir.resolve("demo-model"));
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
