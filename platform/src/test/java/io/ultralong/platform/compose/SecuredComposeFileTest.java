package io.ultralong.platform.compose;

import static io.ultralong.platform.compose.DeploymentFiles.deployDir;
import static io.ultralong.platform.compose.DeploymentFiles.list;
import static io.ultralong.platform.compose.DeploymentFiles.map;
import static io.ultralong.platform.compose.DeploymentFiles.readYaml;
import static io.ultralong.platform.compose.DeploymentFiles.services;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * Static checks of {@code deploy/docker-compose.secured.yml} (no Docker here): TLS and SASL on every client
 * listener, a principal per service, ACLs granting each service exactly the topics it uses, and nothing published
 * beyond the loopback interface by default.
 */
class SecuredComposeFileTest {

    private final Map<String, Map<String, Object>> base = services(readYaml(DeploymentFiles.composeFile()));
    private final Map<String, Map<String, Object>> secured = services(readYaml(deployDir().resolve("docker-compose.secured.yml")));

    @Test
    void everyClientListenerRequiresSaslOverTlsAndAclsDefaultToDeny() {
        Map<String, Object> kafka = map(secured.get("kafka"), "environment");
        assertThat(kafka.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"))
                .isEqualTo("INTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT,EXTERNAL:SASL_SSL");
        // The listener names are the base file's: the override secures them, it does not add others.
        assertThat(map(base.get("kafka"), "environment").get("KAFKA_LISTENERS"))
                .isEqualTo("INTERNAL://:9092,CONTROLLER://:9093,EXTERNAL://:29092");
        assertThat(kafka).containsEntry("KAFKA_AUTHORIZER_CLASS_NAME", "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
                .containsEntry("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", "false");
        String internalUsers = (String) kafka.get("KAFKA_LISTENER_NAME_INTERNAL_PLAIN_SASL_JAAS_CONFIG");
        for (String user : List.of("admin", "ingest", "worker", "gateway")) {
            assertThat(internalUsers).contains("user_" + user + "=\"${UL_KAFKA_" + user.toUpperCase() + "_PASSWORD:?}\"");
        }
        // Host-side clients on the published listener: only the admin and the records producer exist there.
        String externalUsers = (String) kafka.get("KAFKA_LISTENER_NAME_EXTERNAL_PLAIN_SASL_JAAS_CONFIG");
        assertThat(Pattern.compile("user_(\\w+)=").matcher(externalUsers).results().map(m -> m.group(1)).toList())
                .containsExactly("admin", "producer");
    }

    @Test
    void eachServiceLogsInAsItsOwnPrincipalOverTls() {
        for (String service : List.of("ingest", "worker", "gateway")) {
            Map<String, Object> env = map(secured.get(service), "environment");
            assertThat(env).as(service).containsEntry("UL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
                    .containsEntry("UL_KAFKA_SASL_MECHANISM", "PLAIN")
                    .containsEntry("UL_KAFKA_SSL_TRUSTSTORE_TYPE", "PEM");
            assertThat((String) env.get("UL_KAFKA_SASL_JAAS_CONFIG")).as(service)
                    .contains("username=\"" + service + "\"")
                    .contains("password=\"${UL_KAFKA_" + service.toUpperCase() + "_PASSWORD:?}\"");
            assertThat(map(map(secured.get(service), "depends_on"), "acls"))
                    .containsEntry("condition", "service_completed_successfully");
        }
        assertThat(map(secured.get("topics"), "environment")).containsEntry("CLIENT_CONFIG", "/etc/ultralong/kafka/admin.properties");
    }

    @Test
    void aclsGrantEachServiceExactlyTheTopicsItUses() {
        Map<String, Set<String>> grants = grants(list(secured.get("acls"), "command").get(0).toString());
        assertThat(grants.get("ingest")).containsExactlyInAnyOrder(
                "Read records", "Describe records", "Write tokens", "Describe tokens", "Write records.dlq", "Describe records.dlq");
        assertThat(grants.get("worker")).containsExactlyInAnyOrder(
                "Read tokens", "Describe tokens", "Read requests", "Describe requests", "Read watches", "Describe watches",
                "Write responses", "Describe responses", "Write answers", "Describe answers",
                "Write tokens.dlq", "Describe tokens.dlq", "Write watches",
                "Read watch-progress", "Describe watch-progress", "Write watch-progress",
                "DescribeConfigs tokens", "DescribeConfigs watches", "DescribeConfigs records");
        assertThat(grants.get("gateway")).containsExactlyInAnyOrder(
                "Write records", "Describe records", "Write requests", "Describe requests", "Write watches", "Describe watches",
                "Read responses", "Describe responses", "Read answers", "Describe answers", "Read watches");
        assertThat(grants.get("producer")).containsExactlyInAnyOrder("Write records", "Describe records");
        // Nobody but ingest writes tokens; nobody but the worker reads requests.
        grants.forEach((principal, granted) -> {
            if (!principal.equals("ingest")) {
                assertThat(granted).as(principal).doesNotContain("Write tokens");
            }
            if (!principal.equals("worker")) {
                assertThat(granted).as(principal).doesNotContain("Read requests");
            }
        });
    }

    @Test
    void portsArePublishedOnTheLoopbackInterfaceByDefault() {
        base.forEach((name, service) -> {
            if (service.containsKey("ports")) {
                assertThat(list(service, "ports")).as(name)
                        .allSatisfy(port -> assertThat(port.toString()).startsWith("${UL_BIND_ADDRESS:-127.0.0.1}:"));
            }
        });
        secured.forEach((name, service) -> assertThat(service).as(name).doesNotContainKey("ports"));
    }

    /** principal -> "Operation topic-suffix" for every literal topic ACL of the acls service's script. */
    private static Map<String, Set<String>> grants(String composeScript) {
        String script = composeScript.replace("$$", "$");   // Compose's escape of a literal $
        Map<String, Set<String>> grants = new HashMap<>();
        Matcher line = Pattern.compile("(?m)^\\s*acl (\\w+) ([\\w,]+) (.*)$").matcher(script);
        while (line.find()) {
            if (line.group(3).contains("prefixed")) {
                continue;   // the prefixed grants are checked by name below
            }
            Matcher topic = Pattern.compile("--topic \"\\$\\{PREFIX}([\\w.-]+)\"").matcher(line.group(3));
            while (topic.find()) {
                for (String op : line.group(2).split(",")) {
                    grants.computeIfAbsent(line.group(1), p -> new TreeSet<>()).add(op + " " + topic.group(1));
                }
            }
        }
        assertThat(script).contains("acl ingest All --topic \"$INGEST_APP\" --group \"$INGEST_APP\" --transactional-id \"$INGEST_APP\""
                + " --resource-pattern-type prefixed");
        assertThat(script).contains("acl worker Read --group \"$WORKER_GROUP\" --resource-pattern-type prefixed");
        // Watch answers and their progress are written in transactions named after the worker.
        assertThat(script).contains("acl worker Write,Describe --transactional-id \"ul-worker-watches-\" --resource-pattern-type prefixed");
        return grants;
    }
}
