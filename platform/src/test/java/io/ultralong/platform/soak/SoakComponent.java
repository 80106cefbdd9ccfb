package io.ultralong.platform.soak;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

import io.ultralong.ingest.IngestApplication;
import io.ultralong.ingest.IngestSettings;
import io.ultralong.platform.EmbeddedKafkaBroker;
import io.ultralong.worker.ModelSettings;
import io.ultralong.worker.Worker;
import io.ultralong.worker.WorkerSettings;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * One component of the soak in its own JVM, for {@link SoakIT} to SIGKILL: nothing is closed, no shutdown hook
 * runs. Prints {@value #READY} once started, then runs until killed.
 *
 * <pre>
 * broker DATA_DIR PORT CONTROLLER_PORT
 * ingest BOOTSTRAP TOPIC_PREFIX MODEL_DIR STATE_DIR
 * worker BOOTSTRAP TOPIC_PREFIX MODEL_DIR DATA_DIR WORKER_ID
 * </pre>
 */
public final class SoakComponent {

    static final String READY = "SOAK-COMPONENT-READY";
    /** How soon a killed member's partitions move: short, so that a kill costs seconds, not the 45 s default. */
    static final Duration SESSION_TIMEOUT = Duration.ofSeconds(6);

    private SoakComponent() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "broker" -> EmbeddedKafkaBroker.start(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            case "ingest" -> IngestApplication.start(IngestSettings.defaults(args[1], Path.of(args[3]))
                    .withTopicPrefix(args[2])
                    .withTopics(false, 1)
                    .withStateDir(Path.of(args[4]))
                    .withStreamsOverrides(Map.of(
                            StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG),
                            Long.toString(SESSION_TIMEOUT.toMillis()),
                            StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), "1000")));
            case "worker" -> Worker.start(
                    new WorkerSettings(args[1], args[2], "soak-workers", args[5], Path.of(args[4]), SESSION_TIMEOUT, 256),
                    new ModelSettings(Optional.of(Path.of(args[3])), "cpu", 512, 256, 1L << 30, 0,
                            ModelSettings.DEFAULT_SYSTEM_PROMPT, "soak-tiny-model"));
            default -> throw new IllegalArgumentException("unknown component " + args[0]);
        }
        System.out.println(READY);
        System.out.flush();
        new CountDownLatch(1).await();
    }
}
