package io.ultralong.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.ultralong.protocol.topics.CoPartitioning.CoPartitioningException;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;

/** Topic creation and the co-partitioning check at start, on the real broker. */
@ExtendWith(KafkaBrokerExtension.class)
class IngestStartupTest {

    @Test
    void absentTopicsAreCreatedWithTheConfiguredPartitions(KafkaBroker broker, @TempDir Path stateDir) throws Exception {
        String prefix = KafkaBroker.uniqueName("startup") + ".";
        Topics topics = new Topics(prefix);

        try (IngestApplication ingest = IngestApplication.start(settings(broker, prefix, stateDir).withTopics(true, 3))) {
            Map<String, TopicDescription> described = broker.admin().describeTopics(topics.all()).allTopicNames()
                    .get(30, TimeUnit.SECONDS);
            assertThat(described).containsOnlyKeys(topics.all());
            described.values().forEach(d -> assertThat(d.partitions()).hasSize(3));
            // A record at the size limit (what the gateway accepts) and its token chunk fit the topics.
            for (String sized : List.of(topics.records(), topics.tokens())) {
                ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, sized);
                assertThat(broker.admin().describeConfigs(List.of(topic)).all().get(30, TimeUnit.SECONDS).get(topic)
                        .get("max.message.bytes").value()).as(sized)
                        .isEqualTo(String.valueOf(IngestApplication.maxRequestBytes(settings(broker, prefix, stateDir))));
            }
            assertThat(ingest.state()).isIn(KafkaStreams.State.REBALANCING, KafkaStreams.State.RUNNING);
        }
    }

    @Test
    void unequalPartitionCountsRefuseToStart(KafkaBroker broker, @TempDir Path stateDir) {
        String prefix = KafkaBroker.uniqueName("copart") + ".";
        Topics topics = new Topics(prefix);
        broker.createTopics(4, topics.records(), topics.requests());
        broker.createTopics(2, topics.tokens());

        assertThatThrownBy(() -> IngestApplication.start(settings(broker, prefix, stateDir).withTopics(true, 4)))
                .isInstanceOf(CoPartitioningException.class)
                .hasMessageContaining(topics.tokens() + "=2")
                .hasMessageContaining(topics.records() + "=4");
    }

    @Test
    void missingTopicsWithoutCreationRefuseToStart(KafkaBroker broker, @TempDir Path stateDir) {
        String prefix = KafkaBroker.uniqueName("absent") + ".";

        assertThatThrownBy(() -> IngestApplication.start(settings(broker, prefix, stateDir).withTopics(false, 4)))
                .isInstanceOf(CoPartitioningException.class)
                .hasMessageContaining(prefix + "records");
    }

    /** The tokenizer configured as a HF hub cache folder (models--org--name): ingest reads its refs/main snapshot. */
    @Test
    void hubCacheFolderTokenizesWithItsSnapshotsTokenizer(KafkaBroker broker, @TempDir Path stateDir) throws Exception {
        String prefix = KafkaBroker.uniqueName("hubcache") + ".";
        Topics topics = new Topics(prefix);
        String commit = "0123456789abcdef0123456789abcdef01234567";
        Path folder = stateDir.resolve("hub").resolve("models--org--Tiny");
        Path snapshot = Files.createDirectories(folder.resolve("snapshots").resolve(commit));
        Files.copy(TestTokenizer.directory().resolve("tokenizer.json"), snapshot.resolve("tokenizer.json"));
        Files.createDirectories(folder.resolve("refs"));
        Files.writeString(folder.resolve("refs/main"), commit);
        IngestSettings settings = IngestSettings.defaults(broker.bootstrapServers(), folder)
                .withApplicationId(KafkaBroker.uniqueName("ingest-hubcache"))
                .withTopicPrefix(prefix)
                .withTopics(true, 2)
                .withLimits(16 * 1024, 256)
                .withStateDir(stateDir.resolve("state"));
        List<IngestWorkload.InputRecord> workload = IngestWorkload.generate(300, 5, 16 * 1024, 7);
        WorkloadProducer.Positions positions = new WorkloadProducer.Positions(workload.size());

        try (IngestApplication ingest = IngestApplication.start(settings);
             WorkloadProducer producer = new WorkloadProducer(broker.clientProperties(), 16 * 1024);
             ModelTokenizer tokenizer = TestTokenizer.load()) {
            producer.send(topics.records(), workload, 0, workload.size(), positions);
            OutputVerifier verifier = new OutputVerifier(broker.clientProperties());
            List<ConsumerRecord<byte[], byte[]>> tokens = verifier.readCommitted(topics.tokens(),
                    OutputVerifier.expectedTokenEvents(workload), true, Duration.ofMinutes(2));
            assertThat(verifier.verifyTokens(tokens, workload, positions, tokenizer)).isGreaterThan(300);
        }
    }

    private static IngestSettings settings(KafkaBroker broker, String prefix, Path stateDir) {
        return IngestSettings.defaults(broker.bootstrapServers(), TestTokenizer.directory())
                .withApplicationId(KafkaBroker.uniqueName("ingest-startup"))
                .withTopicPrefix(prefix)
                .withStateDir(stateDir);
    }
}
