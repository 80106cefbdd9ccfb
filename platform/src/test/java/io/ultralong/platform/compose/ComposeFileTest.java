package io.ultralong.platform.compose;

import static io.ultralong.platform.compose.DeploymentFiles.list;
import static io.ultralong.platform.compose.DeploymentFiles.map;
import static io.ultralong.platform.compose.DeploymentFiles.services;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * Static checks of {@code deploy/}: what would otherwise only show when someone runs
 * {@code docker compose up} on a Docker host (this machine and CI have none).
 */
class ComposeFileTest {

    /** The topics a session's partition number must mean the same thing in (DESIGN: co-partitioning). */
    private static final List<String> CO_PARTITIONED = List.of("records", "tokens", "requests", "watches");

    /** Every topic the services read or write. */
    private static final Set<String> ALL_TOPICS =
            Set.of("records", "tokens", "requests", "responses", "records.dlq", "tokens.dlq", "watches", "watch-progress",
                    "answers");

    private static final Pattern CREATE_LINE = Pattern.compile("(?m)^\\s*create\\s+(\\S+)\\s+(\\S+)(.*)$");

    private final Map<String, Object> compose = DeploymentFiles.readYaml(DeploymentFiles.composeFile());
    /** The services `docker compose up` starts: those of an opt-in profile (monitoring) are checked by MonitoringComposeTest. */
    private final Map<String, Map<String, Object>> services = withoutProfiles(services(compose));

    @Test
    void definesKafkaTopicSetupIngestWorkersAndGateway() {
        assertThat(services).containsOnlyKeys("kafka", "topics", "ingest", "worker", "gateway");
        assertThat(services.get("kafka").get("image")).isEqualTo("apache/kafka:4.1.2");
        assertThat(services.get("topics").get("image")).isEqualTo("apache/kafka:4.1.2");
    }

    @Test
    void everyLongRunningServiceHasAHealthcheckAndOnlyTheTopicSetupRunsOnce() {
        for (var service : services.entrySet()) {
            if (isOneShot(service.getValue())) {
                assertThat(service.getKey()).as("one-shot services").isEqualTo("topics");
                continue;
            }
            Map<String, Object> healthcheck = map(service.getValue(), "healthcheck");
            assertThat(list(healthcheck, "test")).as(service.getKey() + " healthcheck").isNotEmpty();
            assertThat(service.getValue().get("restart")).as(service.getKey() + " restart").isEqualTo("unless-stopped");
        }
    }

    @Test
    void servicesWaitForHealthyOrCompletedDependencies() {
        int dependencies = 0;
        for (var service : services.entrySet()) {
            if (!service.getValue().containsKey("depends_on")) {
                assertThat(service.getKey()).as("only Kafka depends on nothing").isEqualTo("kafka");
                continue;
            }
            Map<String, Map<String, Object>> dependsOn = map(service.getValue(), "depends_on");
            for (var dependency : dependsOn.entrySet()) {
                Map<String, Object> target = services.get(dependency.getKey());
                assertThat(target).as(service.getKey() + " depends on " + dependency.getKey()).isNotNull();
                String expected = isOneShot(target) ? "service_completed_successfully" : "service_healthy";
                assertThat(dependency.getValue().get("condition")).as(service.getKey() + " -> " + dependency.getKey())
                        .isEqualTo(expected);
                dependencies++;
            }
        }
        // topics -> kafka; ingest, worker, gateway -> topics
        assertThat(dependencies).isEqualTo(4);
    }

    @Test
    void kafkaIsASingleKraftNodeWithReplicationFactorOneForInternalTopics() {
        Map<String, Object> env = map(services.get("kafka"), "environment");
        assertThat(env.get("KAFKA_PROCESS_ROLES")).isEqualTo("broker,controller");
        assertThat(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS")).isEqualTo("1@kafka:9093");
        assertThat(String.valueOf(env.get("KAFKA_LISTENERS"))).contains("CONTROLLER://:9093", "INTERNAL://:9092");
        for (String setting : List.of("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR")) {
            assertThat(env.get(setting)).as(setting).isEqualTo(1);
        }
        assertThat(list(services.get("kafka"), "volumes")).containsExactly("kafka-data:/var/lib/kafka/data");
        assertThat(map(services.get("kafka"), "healthcheck").toString()).contains("kafka-broker-api-versions.sh");
        // The services reach the broker on its internal listener.
        for (String service : List.of("ingest", "worker", "gateway")) {
            assertThat(map(services.get(service), "environment").get("KAFKA_BOOTSTRAP_SERVERS")).isEqualTo("kafka:9092");
        }
    }

    @Test
    void coPartitionedTopicsAreCreatedWithTheSamePartitionCountAndVerified() {
        Map<String, String> partitions = new LinkedHashMap<>();
        topicCreations().forEach((topic, args) -> partitions.put(topic, args[0]));

        assertThat(partitions.keySet()).containsExactlyInAnyOrderElementsOf(ALL_TOPICS);
        assertThat(CO_PARTITIONED.stream().map(partitions::get).distinct()).containsExactly("$$PARTITIONS");
        assertThat(map(services.get("topics"), "environment").get("PARTITIONS")).isEqualTo("${UL_TOPICS_PARTITIONS:-8}");
        // --if-not-exists leaves an older topic as it is, so the script compares the counts afterwards.
        assertThat(topicScript()).contains("for suffix in " + String.join(" ", CO_PARTITIONED) + "; do")
                .contains("--create --if-not-exists");
    }

    @Test
    void topicScriptEscapesEveryShellVariableFromComposeInterpolation() {
        // Compose replaces ${X} and $X itself; a shell variable must be written $$X to reach bash.
        String unescaped = topicScript().replace("$$", "");
        assertThat(unescaped).doesNotContain("$");
    }

    @Test
    void workersScaleByAnEnvironmentVariableAndKeepTheirStoreOnAVolume() {
        Map<String, Object> worker = services.get("worker");
        assertThat(map(worker, "deploy").get("replicas")).isEqualTo("${UL_WORKERS:-2}");
        assertThat(list(worker, "volumes")).contains("worker-data:/var/lib/ultralong", "${UL_MODELS:-./models}:/models:ro",
                "${UL_HF_HOME:-hf-cache}:/hf");
        assertThat(map(compose, "volumes")).containsKeys("kafka-data", "worker-data", "hf-cache");
        // KV blocks also go to the volume all replicas mount, so a dead worker's successor restores them.
        assertThat(map(worker, "environment").get("UL_WORKER_SHARED_KV_DIR"))
                .isEqualTo("${UL_WORKER_SHARED_KV_DIR-/var/lib/ultralong/shared-kv}");
        // The base file must start on hosts without GPUs: no device reservation here.
        assertThat(worker.get("deploy").toString()).doesNotContain("nvidia");
    }

    @Test
    void gpuOverrideReservesAnNvidiaGpuAndBuildsTheCudaFlavour() {
        Map<String, Object> override = DeploymentFiles.readYaml(DeploymentFiles.gpuOverrideFile());
        Map<String, Object> worker = services(override).get("worker");
        assertThat(services(override)).containsOnlyKeys("worker");
        assertThat(map(map(worker, "build"), "args").get("FLAVOR")).isEqualTo("cuda");
        Map<String, Object> reservations = map(map(map(worker, "deploy"), "resources"), "reservations");
        List<Map<String, Object>> devices = list(reservations, "devices");
        assertThat(devices).hasSize(1);
        assertThat(devices.get(0)).containsEntry("driver", "nvidia").containsEntry("count", 1)
                .containsEntry("capabilities", List.of("gpu"));
        // The CPU build's 4 GiB KV budget would refuse GPU sessions beyond 32K tokens: the device measures instead.
        assertThat(String.valueOf(map(worker, "environment").get("UL_WORKER_KV_MEMORY_BYTES"))).contains("1099511627776");
    }

    @Test
    void multiGpuOverrideShowsEveryGpuToEveryWorkerAndLetsEachPickItsOwn() {
        Map<String, Object> override = DeploymentFiles.readYaml(DeploymentFiles.multiGpuOverrideFile());
        Map<String, Object> worker = services(override).get("worker");
        assertThat(services(override)).containsOnlyKeys("worker");
        assertThat(map(map(worker, "build"), "args").get("FLAVOR")).isEqualTo("cuda");
        // The entrypoint turns per-slot into cuda:<slot> (EntrypointScriptTest).
        assertThat(map(worker, "environment").get("UL_WORKER_DEVICE")).isEqualTo("per-slot");
        assertThat(String.valueOf(map(worker, "environment").get("UL_WORKER_KV_MEMORY_BYTES"))).contains("1099511627776");
        Map<String, Object> reservations = map(map(map(worker, "deploy"), "resources"), "reservations");
        assertThat(DeploymentFiles.<Map<String, Object>>list(reservations, "devices"))
                .containsExactly(Map.of("driver", "nvidia", "count", "all", "capabilities", List.of("gpu")));
    }

    @Test
    void shardedOverrideGivesOneWorkerEveryGpuAndSpreadsItsKvOverTheListedOnes() {
        Map<String, Object> override = DeploymentFiles.readYaml(DeploymentFiles.shardedOverrideFile());
        Map<String, Object> worker = services(override).get("worker");
        assertThat(services(override)).containsOnlyKeys("worker");
        assertThat(map(map(worker, "build"), "args").get("FLAVOR")).isEqualTo("cuda");
        Map<String, Object> environment = map(worker, "environment");
        assertThat(environment.get("UL_WORKER_DEVICES")).isEqualTo("${UL_WORKER_DEVICES:-cuda:0,cuda:1}");
        assertThat(environment).containsKeys("UL_WORKER_DEVICE_KV_BYTES", "UL_WORKER_HOST_KV_BYTES");
        Map<String, Object> reservations = map(map(map(worker, "deploy"), "resources"), "reservations");
        assertThat(DeploymentFiles.<Map<String, Object>>list(reservations, "devices"))
                .containsExactly(Map.of("driver", "nvidia", "count", "all", "capabilities", List.of("gpu")));
    }

    @Test
    void everyReferencedDockerfileAndBindMountExists() throws IOException {
        Path deploy = DeploymentFiles.deployDir();
        int dockerfiles = 0;
        for (Path file : List.of(DeploymentFiles.composeFile(), DeploymentFiles.gpuOverrideFile(),
                DeploymentFiles.multiGpuOverrideFile(), DeploymentFiles.shardedOverrideFile())) {
            for (var service : services(DeploymentFiles.readYaml(file)).entrySet()) {
                Object build = service.getValue().get("build");
                if (build instanceof Map<?, ?> && ((Map<?, ?>) build).containsKey("dockerfile")) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> spec = (Map<String, Object>) build;
                    Path context = deploy.resolve(String.valueOf(spec.get("context"))).normalize();
                    assertThat(context).isEqualTo(DeploymentFiles.repositoryRoot());
                    Path dockerfile = context.resolve(String.valueOf(spec.get("dockerfile")));
                    assertThat(dockerfile).as(service.getKey()).isRegularFile();
                    checkDockerfile(dockerfile);
                    dockerfiles++;
                }
            }
        }
        assertThat(dockerfiles).isEqualTo(3);
        // Default bind-mount sources, resolved against deploy/ as Compose does.
        assertThat(deploy.resolve("config/gateway.properties")).isRegularFile();
        assertThat(deploy.resolve("models")).isDirectory();
        assertThat(DeploymentFiles.repositoryRoot().resolve(".dockerignore")).isRegularFile();
    }

    /** A service Dockerfile builds an existing module and runs it as a non-root user with a healthcheck. */
    private static void checkDockerfile(Path dockerfile) throws IOException {
        String text = Files.readString(dockerfile);
        Matcher module = Pattern.compile("-pl (\\S+) -am package -DskipTests").matcher(text);
        assertThat(module.find()).as(dockerfile + " builds a module").isTrue();
        Path root = DeploymentFiles.repositoryRoot();
        assertThat(root.resolve(module.group(1)).resolve("pom.xml")).isRegularFile();
        assertThat(text).contains("FROM eclipse-temurin:17-jdk AS build")
                .contains("--mount=type=cache,target=/root/.m2")
                .contains("COPY --from=build --chown=ultralong:ultralong /src/" + module.group(1) + "/target/quarkus-app/ /app/")
                .contains("USER 10001:10001")
                .contains("HEALTHCHECK");
        Matcher copies = Pattern.compile("(?m)^COPY (?:--chmod=\\S+ )?(deploy/\\S+) ").matcher(text);
        while (copies.find()) {
            assertThat(root.resolve(copies.group(1))).as(dockerfile + " copies").isRegularFile();
        }
    }

    private String topicScript() {
        List<String> command = list(services.get("topics"), "command");
        assertThat(command).hasSize(1);
        return command.get(0);
    }

    /**
     * Topic suffix -> {partitions, configs}, from the {@code create} lines of the topics service
     * (TopicScriptTest runs the script against a broker and checks the configs it sets).
     */
    private Map<String, String[]> topicCreations() {
        Map<String, String[]> creations = new LinkedHashMap<>();
        Matcher line = CREATE_LINE.matcher(topicScript());
        while (line.find()) {
            creations.put(line.group(1), new String[] {line.group(2), line.group(3)});
        }
        return creations;
    }

    private static boolean isOneShot(Map<String, Object> service) {
        return "no".equals(service.get("restart"));
    }

    private static Map<String, Map<String, Object>> withoutProfiles(Map<String, Map<String, Object>> all) {
        Map<String, Map<String, Object>> core = new LinkedHashMap<>();
        all.forEach((name, service) -> {
            if (!service.containsKey("profiles")) {
                core.put(name, service);
            }
        });
        return core;
    }
}
