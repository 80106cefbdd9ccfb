package io.ultralong.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.ultralong.ingest.IngestWorkload.Invalid;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.protocol.topics.TopicProvisioner;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;

/**
 * Exactly-once across hard crashes: the Streams application runs in a child JVM that is SIGKILLed twice while it
 * works through a backlog (and while more input arrives); each time a new process takes over the same state
 * directory. At the end, read_committed output has no duplicate and no gap in any session's seq, and every token,
 * position, offset and DLQ record is exactly what one clean run would give.
 */
@ExtendWith(KafkaBrokerExtension.class)
class IngestCrashRecoveryTest {

    private static final int RECORDS = 20_000;
    private static final int SESSIONS = 200;
    private static final int MAX_RECORD_BYTES = 16 * 1024;
    private static final int MAX_CHUNK_TOKENS = 64;

    private final List<Process> children = new ArrayList<>();

    @AfterEach
    void killChildren() {
        children.forEach(Process::destroyForcibly);
    }

    @Test
    void hardKilledIngestResumesWithoutDuplicateOrGap(KafkaBroker broker, @TempDir Path stateDir) throws Exception {
        String prefix = KafkaBroker.uniqueName("crash") + ".";
        Topics topics = new Topics(prefix);
        String applicationId = KafkaBroker.uniqueName("ingest-crash");
        new TopicProvisioner(4, (short) 1).createMissing(broker.admin(), topics.all());
        List<IngestWorkload.InputRecord> workload = IngestWorkload.generate(RECORDS, SESSIONS, MAX_RECORD_BYTES, 7);
        WorkloadProducer.Positions positions = new WorkloadProducer.Positions(RECORDS);
        int half = RECORDS / 2;

        try (WorkloadProducer producer = new WorkloadProducer(broker.clientProperties(), MAX_RECORD_BYTES);
             ProgressCounter progress = new ProgressCounter(broker.clientProperties(), topics.tokens());
             ModelTokenizer tokenizer = TestTokenizer.load()) {
            producer.send(topics.records(), workload, 0, half, positions);
            long firstHalfEvents = OutputVerifier.expectedTokenEvents(workload.subList(0, half));

            Process first = startChild(broker, applicationId, prefix, stateDir, 1);
            long killedAt = progress.awaitAtLeast(2_000);
            first.destroyForcibly().waitFor();
            assertThat(killedAt).as("first kill lands mid-backlog").isLessThan(firstHalfEvents);

            Process second = startChild(broker, applicationId, prefix, stateDir, 2);
            long resumedAt = progress.awaitAtLeast(killedAt + 2_000);
            producer.send(topics.records(), workload, half, RECORDS, positions);
            second.destroyForcibly().waitFor();

            startChild(broker, applicationId, prefix, stateDir, 3);
            OutputVerifier verifier = new OutputVerifier(broker.clientProperties());
            List<ConsumerRecord<byte[], byte[]>> tokens = verifier.readCommitted(topics.tokens(),
                    OutputVerifier.expectedTokenEvents(workload), true, Duration.ofMinutes(2));
            long invalid = workload.stream().filter(r -> r.expectation() instanceof Invalid).count();
            List<ConsumerRecord<byte[], byte[]>> dlq = verifier.readCommitted(topics.recordsDlq(), invalid, false,
                    Duration.ofMinutes(1));

            verifier.verifyTokens(tokens, workload, positions, tokenizer);
            verifier.verifyDlq(dlq, workload, positions, topics.records());
            System.out.printf("killed at %d and %d of %d record ends; %d chunks verified%n", killedAt, resumedAt,
                    OutputVerifier.expectedTokenEvents(workload), tokens.size());
        }
    }

    private Process startChild(KafkaBroker broker, String applicationId, String prefix, Path stateDir, int attempt)
            throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "-Xmx512m", "-Dai.djl.offline=true",
                "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                "-cp", System.getProperty("java.class.path"), IngestChildProcess.class.getName(),
                broker.bootstrapServers(), applicationId, prefix, TestTokenizer.directory().toString(),
                stateDir.toString(), Integer.toString(MAX_RECORD_BYTES), Integer.toString(MAX_CHUNK_TOKENS))
                .redirectErrorStream(true)
                .redirectOutput(Path.of("target", "ingest-crash-child-" + attempt + ".log").toFile());
        Process process = builder.start();
        children.add(process);
        return process;
    }

    /** Counts record ends (last chunks and tombstones) committed to ul.tokens so far. */
    private static final class ProgressCounter implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private long recordEnds;

        ProgressCounter(Properties clientProperties, String topic) {
            Properties props = new Properties();
            props.putAll(clientProperties);
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
        }

        long awaitAtLeast(long target) {
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ZERO).until(() -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    if (record.value() == null || TokenChunkCodec.decode(record.value()).endOfRecord()) {
                        recordEnds++;
                    }
                }
                return recordEnds >= target;
            });
            return recordEnds;
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
