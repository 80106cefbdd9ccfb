package io.ultralong.platform;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.opentelemetry.api.OpenTelemetry;
import io.ultralong.ingest.IngestApplication;
import io.ultralong.ingest.IngestSettings;
import io.ultralong.protocol.topics.CoPartitioning;
import io.ultralong.protocol.topics.TopicProvisioner;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.runtime.synthetic.DemoModel;
import io.ultralong.worker.ModelSettings;
import io.ultralong.worker.Worker;
import io.ultralong.worker.WorkerSettings;
import org.apache.kafka.clients.admin.Admin;
import io.ultralong.protocol.kafka.KafkaConnection;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded mode: before the gateway's beans start, brings up a single-node KRaft broker keeping its
 * data under the data directory, the platform's topics, the ingest Streams application and one worker,
 * all in this process; closes them in reverse order at shutdown. Everything lives under the data
 * directory, so a restart finds its sessions again.
 */
@ApplicationScoped
public class EmbeddedPlatform {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPlatform.class);

    private final Path dataDir;
    private final Optional<Path> modelDir;
    private final int kafkaPort;
    private final String device;
    private final int partitions;
    private final String topicPrefix;
    private final int httpPort;
    private final Duration modelStallTimeout;
    private final ModelSettings modelSettings;
    /** The gateway's SDK: the worker's spans join the same traces and the same export. */
    private final OpenTelemetry telemetry;
    private EmbeddedKafkaBroker broker;
    private IngestApplication ingest;
    private Worker worker;

    public EmbeddedPlatform(@ConfigProperty(name = "ul.embedded.data-dir", defaultValue = "ultralong-data") Path dataDir,
                            @ConfigProperty(name = "ul.embedded.model-dir") Optional<Path> modelDir,
                            @ConfigProperty(name = "ul.embedded.kafka-port", defaultValue = "9092") int kafkaPort,
                            @ConfigProperty(name = "ul.embedded.device", defaultValue = "auto") String device,
                            @ConfigProperty(name = "ul.embedded.partitions", defaultValue = "8") int partitions,
                            @ConfigProperty(name = "ul.topics.prefix", defaultValue = "ul.") String topicPrefix,
                            @ConfigProperty(name = "quarkus.http.port", defaultValue = "8080") int httpPort,
                            @ConfigProperty(name = "ul.worker.model-stall-timeout",
                                    defaultValue = WorkerSettings.DEFAULT_MODEL_STALL_TIMEOUT) Duration modelStallTimeout,
                            WorkerModelConfig worker, OpenTelemetry telemetry) {
        this.dataDir = dataDir.toAbsolutePath();
        this.modelDir = modelDir;
        this.kafkaPort = kafkaPort;
        this.device = device;
        this.partitions = partitions;
        this.topicPrefix = topicPrefix;
        this.httpPort = httpPort;
        this.modelStallTimeout = modelStallTimeout;
        this.modelSettings = worker.settings(modelDir, device);
        this.telemetry = telemetry;
    }

    /** Runs before every other startup observer: the gateway's Kafka clients find the broker up. */
    void start(@Observes @Priority(1) StartupEvent startup) throws Exception {
        LOG.info("[1/4] Starting the embedded Kafka broker on localhost:{} (data in {})", kafkaPort, dataDir.resolve("kafka"));
        broker = EmbeddedKafkaBroker.start(dataDir.resolve("kafka"), kafkaPort, EmbeddedKafkaBroker.freePort());

        Topics topics = new Topics(topicPrefix);
        // The same kafka.* / ul.kafka.* passthrough as the separate services (the embedded broker itself is plaintext).
        Config config = ConfigProvider.getConfig();
        KafkaConnection kafka = KafkaConnection.fromConfig(broker.bootstrapServers(), config.getPropertyNames(),
                name -> config.getOptionalValue(name, String.class), System.getenv());
        try (Admin admin = Admin.create(kafka.clientConfig(Map.of()))) {
            var created = new TopicProvisioner(partitions, (short) 1, topics.defaultConfigs()).createMissing(admin, topics.all());
            int actual = CoPartitioning.verify(admin, topics);
            LOG.info("[2/4] Topics ready: {} partitions{}", actual, created.isEmpty() ? "" : ", created " + created);
        }

        Path workerData = dataDir.resolve("worker");
        Path model = modelDir.orElseGet(() -> DemoModel.ensure(workerData.resolve("demo-model")));
        LOG.info("[3/4] Starting ingest with the tokenizer of {}", model);
        ingest = IngestApplication.start(IngestSettings.defaults(broker.bootstrapServers(), model)
                .withTopicPrefix(topicPrefix)
                .withTopics(false, partitions)
                .withStateDir(dataDir.resolve("ingest"))
                .withKafka(kafka));

        LOG.info("[4/4] Loading the model and starting the worker");
        WorkerSettings workerSettings = new WorkerSettings(broker.bootstrapServers(), topicPrefix, "ul-workers", "embedded",
                workerData, Duration.ofSeconds(10), 256).withKafka(kafka).withModelStallTimeout(modelStallTimeout);
        worker = Worker.start(workerSettings, modelSettings, telemetry);
        if (worker.demoModel()) {
            LOG.warn("*** {} ***", DemoModel.WARNING);
        }
        LOG.info("""
                UltraLong Stream is up.
                  API:        http://localhost:{}/v1  (OpenAPI UI: http://localhost:{}/q/swagger-ui)
                  Health:     http://localhost:{}/q/health   Metrics: http://localhost:{}/q/metrics
                  Kafka:      localhost:{}               Data: {}""", httpPort, httpPort, httpPort, httpPort, kafkaPort, dataDir);
    }

    /** The embedded worker, null until started: its liveness is the platform's. */
    Worker worker() {
        return worker;
    }

    void stop(@Observes ShutdownEvent shutdown) throws InterruptedException {
        if (worker != null) {
            worker.close();
        }
        if (ingest != null) {
            ingest.close();
        }
        if (broker != null) {
            broker.close();
        }
    }
}
