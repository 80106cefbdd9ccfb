package io.ultralong.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One real single-node KRaft broker (combined controller + broker) per JVM, from Kafka's own
 * test kit. Started on first use, shared by every test in the JVM, stopped by a shutdown hook.
 *
 * <p>Tests share the broker, so each test names its own topics and groups with {@link #uniqueName}.
 */
public final class KafkaBroker {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaBroker.class);
    private static final AtomicInteger NAME_COUNTER = new AtomicInteger();
    private static volatile KafkaBroker shared;

    private final KafkaClusterTestKit cluster;
    private final Admin admin;

    private KafkaBroker(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
        this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers()));
    }

    /** The broker of this JVM, started on first call (about 3 s). */
    public static KafkaBroker shared() {
        KafkaBroker broker = shared;
        if (broker == null) {
            synchronized (KafkaBroker.class) {
                broker = shared;
                if (broker == null) {
                    broker = start();
                    shared = broker;
                    KafkaBroker toClose = broker;
                    Runtime.getRuntime().addShutdownHook(new Thread(toClose::close, "kafka-test-broker-shutdown"));
                }
            }
        }
        return broker;
    }

    /**
     * A one-node cluster's builder with what a single node needs: it cannot meet the default replication of internal
     * topics, and without these settings consumer groups and transactions hang without an error.
     */
    static KafkaClusterTestKit.Builder singleNode(TestKitNodes nodes, int internalTopicPartitions) {
        String partitions = Integer.toString(internalTopicPartitions);
        return new KafkaClusterTestKit.Builder(nodes)
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("offsets.topic.num.partitions", partitions)
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("transaction.state.log.num.partitions", partitions)
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                .setConfigProp("share.coordinator.state.topic.replication.factor", "1")
                .setConfigProp("share.coordinator.state.topic.min.isr", "1")
                .setDeleteOnClose(true);
    }

    private static KafkaBroker start() {
        long startNanos = System.nanoTime();
        try {
            Path baseDir = Files.createTempDirectory("ul-kraft-");
            TestKitNodes nodes = new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .setBaseDirectory(baseDir)
                    .build();
            KafkaClusterTestKit cluster = singleNode(nodes, 4).build();
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            LOG.info("In-JVM KRaft broker ready at {} in {} ms", cluster.bootstrapServers(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
            return new KafkaBroker(cluster);
        } catch (Exception e) {
            throw new IllegalStateException("Could not start the in-JVM Kafka broker", e);
        }
    }

    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    /** Client properties holding only the bootstrap servers, to extend per client. */
    public Properties clientProperties() {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        return props;
    }

    public Admin admin() {
        return admin;
    }

    /** A name no other test in this JVM uses: {@code prefix-N-random}. */
    public static String uniqueName(String prefix) {
        return prefix + "-" + NAME_COUNTER.incrementAndGet() + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Creates topics (replication factor 1) and waits until they exist; existing ones are kept. */
    public void createTopics(int partitions, String... names) {
        createTopics(List.of(names).stream().map(n -> new NewTopic(n, partitions, (short) 1)).toList());
    }

    public void createTopics(Collection<NewTopic> topics) {
        try {
            admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("Could not create topics " + topics, e.getCause());
            }
        } catch (Exception e) {
            throw new IllegalStateException("Could not create topics " + topics, e);
        }
    }

    private void close() {
        try {
            admin.close();
            cluster.close();
        } catch (Exception e) {
            LOG.warn("Closing the in-JVM broker failed", e);
        }
    }
}
