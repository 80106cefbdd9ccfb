package io.ultralong.platform.compose;

import static io.ultralong.platform.compose.DeploymentFiles.list;
import static io.ultralong.platform.compose.DeploymentFiles.services;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.ultralong.testkit.KafkaBroker;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the {@code topics} service's script from {@code deploy/docker-compose.yml}, as Compose would
 * hand it to bash, against a real KRaft broker. {@code /opt/kafka/bin/kafka-topics.sh} is replaced by
 * a launcher of the same tool's Java class ({@code org.apache.kafka.tools.TopicCommand}, Kafka 4.1.2,
 * the version of the compose file's image), so the arguments, the topic configs and the parsing of
 * {@code --describe} are the real ones.
 */
class TopicScriptTest {

    private static final int PARTITIONS = 3;
    private static final List<String> SUFFIXES =
            List.of("records", "tokens", "requests", "watches", "watch-progress", "responses", "answers", "records.dlq",
                    "tokens.dlq");

    @TempDir
    static Path tools;

    private static Path kafkaTopics;
    private final KafkaBroker broker = KafkaBroker.shared();

    @BeforeAll
    static void writeKafkaTopicsLauncher() throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        kafkaTopics = tools.resolve("kafka-topics.sh");
        // Client JVMs live for a second each: skip the optimizing compiler, as Kafka's scripts do not need it.
        Files.writeString(kafkaTopics, "#!/usr/bin/env bash\nexec '" + java + "' -XX:TieredStopAtLevel=1 -Xshare:auto"
                + " -cp '" + System.getProperty("java.class.path") + "' org.apache.kafka.tools.TopicCommand \"$@\"\n");
        Files.setPosixFilePermissions(kafkaTopics, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void createsEveryTopicWithItsRetentionAndTheSamePartitionCount() throws Exception {
        String prefix = KafkaBroker.uniqueName("fresh") + ".";

        ScriptRun run = runTopicScript(prefix);

        assertThat(run.exitCode()).as(run.output()).isZero();
        Map<String, TopicDescription> topics = broker.admin()
                .describeTopics(SUFFIXES.stream().map(s -> prefix + s).toList()).allTopicNames().get(30, TimeUnit.SECONDS);
        assertThat(topics).hasSize(SUFFIXES.size());
        topics.values().forEach(topic -> assertThat(topic.partitions()).as(topic.name()).hasSize(PARTITIONS));

        assertThat(config(prefix + "records", "retention.ms")).isEqualTo("-1");
        assertThat(config(prefix + "tokens", "retention.ms")).isEqualTo("-1");
        // a record at the gateway's 1 MiB limit fits, with room for key and framing
        assertThat(config(prefix + "records", "max.message.bytes")).isEqualTo(String.valueOf(1024 * 1024 + 64 * 1024));
        assertThat(config(prefix + "requests", "retention.ms")).isEqualTo("86400000");
        assertThat(config(prefix + "responses", "retention.ms")).isEqualTo("3600000");
        assertThat(config(prefix + "answers", "retention.ms")).isEqualTo("604800000");
        assertThat(config(prefix + "records.dlq", "retention.ms")).isEqualTo("604800000");
        assertThat(config(prefix + "records.dlq", "max.message.bytes")).isEqualTo(String.valueOf(1024 * 1024 + 64 * 1024));
        assertThat(config(prefix + "watches", "cleanup.policy")).isEqualTo("compact");
        assertThat(config(prefix + "watch-progress", "cleanup.policy")).isEqualTo("compact");
        assertThat(config(prefix + "tokens", "min.insync.replicas")).isEqualTo("1");
        assertThat(run.output()).contains(prefix + "tokens: " + PARTITIONS + " partitions");
    }

    @Test
    void refusesToFinishWhenAnExistingTopicBreaksTheCoPartitioning() throws Exception {
        String prefix = KafkaBroker.uniqueName("skewed") + ".";
        broker.createTopics(PARTITIONS - 1, prefix + "tokens");   // left over from an older deployment

        ScriptRun run = runTopicScript(prefix);

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.output()).contains(prefix + "tokens has " + (PARTITIONS - 1) + " partitions but "
                + prefix + "records has " + PARTITIONS + ":", "must be co-partitioned");
        // --if-not-exists left the old topic as it was.
        assertThat(broker.admin().describeTopics(List.of(prefix + "tokens")).allTopicNames().get(30, TimeUnit.SECONDS)
                .get(prefix + "tokens").partitions()).hasSize(PARTITIONS - 1);
    }

    private record ScriptRun(int exitCode, String output) {
    }

    /** The topics service: its entrypoint (bash -euo pipefail -c) and command, after Compose's {@code $$} unescaping. */
    private ScriptRun runTopicScript(String prefix) throws IOException, InterruptedException {
        Map<String, Object> topics = services(DeploymentFiles.readYaml(DeploymentFiles.composeFile())).get("topics");
        List<String> entrypoint = list(topics, "entrypoint");
        String script = DeploymentFiles.<String>list(topics, "command").get(0)
                .replace("$$", "$")
                .replace("/opt/kafka/bin/kafka-topics.sh", kafkaTopics.toString());
        List<String> command = new ArrayList<>(entrypoint);
        command.add(script);
        ProcessBuilder process = new ProcessBuilder(command).redirectErrorStream(true);
        process.environment().putAll(Map.of("BOOTSTRAP", broker.bootstrapServers(), "PREFIX", prefix,
                "PARTITIONS", String.valueOf(PARTITIONS), "REPLICATION_FACTOR", "1"));
        Process running = process.start();
        String output = new String(running.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(running.waitFor(3, TimeUnit.MINUTES)).as("topic script finished").isTrue();
        return new ScriptRun(running.exitValue(), output);
    }

    private String config(String topic, String name) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config config = broker.admin().describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource);
        return config.get(name).value();
    }
}
