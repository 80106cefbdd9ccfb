package io.ultralong.testkit;

import java.nio.file.Files;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.test.JaasUtils;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real single-node KRaft broker whose client listener requires SASL/PLAIN authentication ({@code SASL_PLAINTEXT}),
 * for tests that prove the platform's clients pass their credentials. Kafka's test kit writes the broker's JAAS file
 * with its users ({@link #USER}, {@link #ADMIN}) and runs the standard authorizer with {@link #ADMIN} as super user
 * (nothing allowed without an ACL); {@link #USER} is granted every topic, group and transactional id, so tests prove
 * authentication while the broker still authorizes. One per test class; close it.
 */
public final class SecuredKafkaBroker implements AutoCloseable {

    public static final String USER = JaasUtils.KAFKA_PLAIN_USER1;
    public static final String USER_PASSWORD = JaasUtils.KAFKA_PLAIN_USER1_PASSWORD;
    public static final String ADMIN = JaasUtils.KAFKA_PLAIN_ADMIN;
    public static final String ADMIN_PASSWORD = JaasUtils.KAFKA_PLAIN_ADMIN_PASSWORD;

    private final KafkaClusterTestKit cluster;

    private SecuredKafkaBroker(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
    }

    public static SecuredKafkaBroker start() {
        try {
            TestKitNodes nodes = new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .setBaseDirectory(Files.createTempDirectory("ul-kraft-sasl-"))
                    .setBrokerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT)
                    // The broker registers with the controller as the super user: over PLAINTEXT it would be
                    // ANONYMOUS and the authorizer refuses it (CLUSTER_AUTHORIZATION_FAILED).
                    .setControllerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT)
                    .build();
            KafkaClusterTestKit cluster = KafkaBroker.singleNode(nodes, 2).build();
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            SecuredKafkaBroker broker = new SecuredKafkaBroker(cluster);
            broker.grantEverythingTo(USER);
            return broker;
        } catch (Exception e) {
            throw new IllegalStateException("Could not start the in-JVM SASL Kafka broker", e);
        }
    }

    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    /** Client security properties (no bootstrap servers) that log in as {@code user}. */
    public static Map<String, String> credentials(String user, String password) {
        return Map.of(
                "security.protocol", "SASL_PLAINTEXT",
                "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                        + user + "\" password=\"" + password + "\";");
    }

    /** Creates topics (replication factor 1) as the admin user. */
    public void createTopics(int partitions, String... names) {
        createTopics(List.of(names).stream().map(n -> new NewTopic(n, partitions, (short) 1)).toList());
    }

    public void createTopics(Collection<NewTopic> topics) {
        try (Admin admin = Admin.create(adminConfig())) {
            admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("Could not create topics " + topics, e);
        }
    }

    private void grantEverythingTo(String user) throws Exception {
        AccessControlEntry all = new AccessControlEntry("User:" + user, "*", AclOperation.ALL, AclPermissionType.ALLOW);
        try (Admin admin = Admin.create(adminConfig())) {
            admin.createAcls(List.of(
                    new AclBinding(new ResourcePattern(ResourceType.TOPIC, "*", PatternType.LITERAL), all),
                    new AclBinding(new ResourcePattern(ResourceType.GROUP, "*", PatternType.LITERAL), all),
                    new AclBinding(new ResourcePattern(ResourceType.TRANSACTIONAL_ID, "*", PatternType.LITERAL), all),
                    new AclBinding(new ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL), all)))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    private Map<String, Object> adminConfig() {
        Map<String, Object> config = new java.util.HashMap<>(credentials(ADMIN, ADMIN_PASSWORD));
        config.put("bootstrap.servers", bootstrapServers());
        return config;
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }
}
