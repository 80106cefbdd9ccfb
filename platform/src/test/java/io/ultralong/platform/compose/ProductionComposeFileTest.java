package io.ultralong.platform.compose;

import static io.ultralong.platform.compose.DeploymentFiles.deployDir;
import static io.ultralong.platform.compose.DeploymentFiles.map;
import static io.ultralong.platform.compose.DeploymentFiles.readYaml;
import static io.ultralong.platform.compose.DeploymentFiles.services;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * {@code deploy/docker-compose.production.yml} over the base file, merged as Compose merges an override (mappings
 * key by key): three brokers forming one KRaft quorum, every internal topic and every created topic with
 * replication factor 3 and {@code min.insync.replicas} 2. (A live
 * three-broker check is left to a Docker host: Kafka's in-JVM test kit with three combined KRaft nodes did not come
 * up reliably on the 2-core build machine.)
 */
class ProductionComposeFileTest {

    private static final List<String> BROKERS = List.of("kafka", "kafka-2", "kafka-3");
    private final Map<String, Map<String, Object>> merged = merge(
            services(readYaml(DeploymentFiles.composeFile())),
            services(readYaml(deployDir().resolve("docker-compose.production.yml"))));

    @Test
    void threeBrokersFormOneQuorumWithDistinctIdsAndOneClusterId() {
        String voters = "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093";
        for (int i = 0; i < BROKERS.size(); i++) {
            Map<String, Object> env = env(BROKERS.get(i));
            assertThat(env).as(BROKERS.get(i))
                    .containsEntry("KAFKA_NODE_ID", i + 1)
                    .containsEntry("KAFKA_CONTROLLER_QUORUM_VOTERS", voters)
                    .containsEntry("CLUSTER_ID", env("kafka").get("CLUSTER_ID"))
                    .containsEntry("KAFKA_PROCESS_ROLES", "broker,controller");
            assertThat((String) env.get("KAFKA_ADVERTISED_LISTENERS")).startsWith("INTERNAL://" + BROKERS.get(i) + ":9092,");
            assertThat(merged.get(BROKERS.get(i))).containsKeys("healthcheck", "volumes");
        }
        // Each broker keeps its own log directory.
        assertThat(merged.get("kafka-2").get("volumes").toString()).contains("kafka-2-data:");
        assertThat(merged.get("kafka-3").get("volumes").toString()).contains("kafka-3-data:");
    }

    @Test
    void everyTopicHasThreeReplicasAndNeedsTwoInSyncForAWrite() {
        for (String broker : BROKERS) {
            assertThat(env(broker)).as(broker)
                    .containsEntry("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", 3)
                    .containsEntry("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", 3)
                    .containsEntry("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", 2)
                    .containsEntry("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", 3)
                    .containsEntry("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", 2)
                    .containsEntry("KAFKA_DEFAULT_REPLICATION_FACTOR", 3)
                    .containsEntry("KAFKA_MIN_INSYNC_REPLICAS", 2)
                    .containsEntry("KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE", "false");
        }
        assertThat(env("topics")).containsEntry("REPLICATION_FACTOR", 3);
        assertThat(env("ingest")).containsEntry("UL_TOPICS_REPLICATION_FACTOR", 3);
        for (String service : List.of("topics", "ingest", "worker", "gateway")) {
            Object bootstrap = env(service).getOrDefault("KAFKA_BOOTSTRAP_SERVERS", env(service).get("BOOTSTRAP"));
            assertThat(bootstrap).as(service).isEqualTo("kafka:9092,kafka-2:9092,kafka-3:9092");
        }
        assertThat(map(merged.get("topics"), "depends_on")).containsKeys("kafka", "kafka-2", "kafka-3");
    }

    @Test
    void topicScriptGivesMinInsyncTwoFromReplicationThree() {
        // The base file's topic script derives min.insync.replicas from the replication factor (TopicScriptTest runs it).
        String script = DeploymentFiles.<String>list(merged.get("topics"), "command").get(0);
        assertThat(script).contains("MIN_ISR=$$(( REPLICATION_FACTOR >= 3 ? 2 : 1 ))")
                .contains("--config \"min.insync.replicas=$${MIN_ISR}\"");
    }

    private Map<String, Object> env(String service) {
        return map(merged.get(service), "environment");
    }

    /** Compose's override merge as far as these files need it: mappings merge key by key, anything else is replaced. */
    @SuppressWarnings("unchecked")
    private static <V> Map<String, V> merge(Map<String, V> base, Map<String, V> override) {
        Map<String, Object> result = new LinkedHashMap<>(base);
        override.forEach((key, value) -> {
            Object old = result.get(key);
            result.put(key, old instanceof Map && value instanceof Map
                    ? merge((Map<String, Object>) old, (Map<String, Object>) value) : value);
        });
        return (Map<String, V>) result;
    }
}
