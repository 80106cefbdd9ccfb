package io.ultralong.gateway.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.ultralong.ingest.IngestApplication;
import io.ultralong.ingest.IngestSettings;
import io.ultralong.protocol.topics.TopicProvisioner;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.worker.ModelSettings;
import io.ultralong.worker.Worker;
import io.ultralong.worker.WorkerSettings;

/**
 * The real pipeline behind the gateway under test, in this JVM: topics under the prefix {@code e2e.},
 * the ingest Streams application and one worker serving a generated tiny model, on the shared broker.
 */
public final class RealPipelineTestResource implements QuarkusTestResourceLifecycleManager {

    static final String PREFIX = "e2e.";
    static Path modelDir;
    private Path dir;
    private IngestApplication ingest;
    private Worker worker;

    @Override
    public Map<String, String> start() {
        try {
            KafkaBroker broker = KafkaBroker.shared();
            dir = Files.createTempDirectory("gateway-e2e");
            modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
            Topics topics = new Topics(PREFIX);
            new TopicProvisioner(4, (short) 1, topics.defaultConfigs()).createMissing(broker.admin(), topics.all());
            ingest = IngestApplication.start(IngestSettings.defaults(broker.bootstrapServers(), modelDir)
                    .withApplicationId("e2e-ingest").withTopicPrefix(PREFIX).withTopics(false, 4)
                    .withStateDir(dir.resolve("ingest")));
            worker = Worker.start(new WorkerSettings(broker.bootstrapServers(), PREFIX, "e2e-workers", "e2e-1",
                    dir.resolve("worker"), Duration.ofSeconds(10), 64),
                    new ModelSettings(Optional.of(modelDir), "cpu", 64, 32, 64L << 20, 0, ModelSettings.DEFAULT_SYSTEM_PROMPT,
                            "ultralong-8b"), TestSpans.workerTelemetry());
            return Map.of("kafka.bootstrap.servers", broker.bootstrapServers(), "ul.topics.prefix", PREFIX);
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the pipeline", e);
        }
    }

    @Override
    public void stop() {
        try {
            if (worker != null) {
                worker.close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (ingest != null) {
                ingest.close();
            }
        }
    }
}
