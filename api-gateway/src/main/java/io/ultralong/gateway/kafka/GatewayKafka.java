package io.ultralong.gateway.kafka;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.quarkus.runtime.StartupEvent;
import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.protocol.topics.CoPartitioning;
import io.ultralong.protocol.topics.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.eclipse.microprofile.config.Config;
import org.jboss.logging.Logger;

/**
 * How the gateway's Kafka clients connect ({@code kafka.bootstrap.servers} plus the {@code kafka.*} /
 * {@code ul.kafka.*} passthrough properties, see {@link KafkaConnection}), and its start-up check that the topics it
 * keys by session line up.
 */
@ApplicationScoped
public class GatewayKafka {

    private static final Logger LOG = Logger.getLogger(GatewayKafka.class);

    @Produces
    @Singleton
    KafkaConnection connection(Config config) {
        return KafkaConnection.fromConfig(config.getValue("kafka.bootstrap.servers", String.class), config.getPropertyNames(),
                name -> config.getOptionalValue(name, String.class), System.getenv());
    }

    /** Refuses to start when records and requests disagree: an append and a query of one session would part ways. */
    void checkTopics(@Observes StartupEvent startup, KafkaConnection kafka, Topics topics) {
        try (Admin admin = Admin.create(kafka.clientConfig(Map.of(AdminClientConfig.CLIENT_ID_CONFIG, "ul-gateway-admin")))) {
            OptionalInt partitions = verify(admin, topics);
            if (partitions.isEmpty()) {
                LOG.infof("%s or %s does not exist yet: the services that create them check their partitions",
                        topics.records(), topics.requests());
            }
        }
    }

    /**
     * @return the common partition count of records and requests, or empty when one does not exist yet
     * @throws CoPartitioning.CoPartitioningException when they differ
     */
    public static OptionalInt verify(Admin admin, Topics topics) {
        return CoPartitioning.verifyIfPresent(admin, List.of(topics.records(), topics.requests()));
    }
}
