package io.ultralong.ingest;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The ingest Streams application alone in a JVM, for the crash test to kill hard ({@code destroyForcibly}, i.e.
 * SIGKILL: no shutdown hook, no clean close, a transaction in flight).
 *
 * <p>Arguments: bootstrap servers, application id, topic prefix, tokenizer directory, state directory, max record
 * bytes, max chunk tokens.
 */
public final class IngestChildProcess {

    private IngestChildProcess() {
    }

    public static void main(String[] args) throws InterruptedException {
        IngestSettings settings = IngestSettings.defaults(args[0], Path.of(args[3]))
                .withApplicationId(args[1])
                .withTopicPrefix(args[2])
                .withStateDir(Path.of(args[4]))
                .withLimits(Integer.parseInt(args[5]), Integer.parseInt(args[6]))
                .withTopics(false, 1)
                .withStreamsOverrides(Map.of(
                        // The killed member's partitions are handed over once its session expires: keep that short.
                        StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), "6000",
                        StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), "1000"));
        IngestApplication.start(settings);
        System.out.println("ingest child started");
        new CountDownLatch(1).await();
    }
}
