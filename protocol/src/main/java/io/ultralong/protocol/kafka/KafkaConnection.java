package io.ultralong.protocol.kafka;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How every Kafka client of the platform reaches the brokers: the bootstrap servers plus the operator's passthrough
 * client properties (security above all: {@code security.protocol}, {@code sasl.mechanism}, {@code sasl.jaas.config},
 * {@code ssl.*}). Each service builds one from its configuration ({@link #fromConfig}) and hands it to all its clients
 * (producers, consumers, tails, admin, Kafka Streams), so a secured cluster needs the same few settings everywhere.
 *
 * <p>Where they come from: configuration keys {@code kafka.<client property>} and {@code ul.kafka.<client property>}
 * (the latter wins), e.g. {@code ul.kafka.security.protocol=SASL_SSL}, and environment variables
 * {@code UL_KAFKA_<PROPERTY>} with dots written as underscores, e.g. {@code UL_KAFKA_SASL_JAAS_CONFIG}.
 * Keys that are not Kafka producer, consumer or admin client properties are dropped with a warning. A client's own
 * settings (serializers, group ids, idempotence, isolation level) are applied over them: the platform's delivery
 * guarantees cannot be configured away by accident.
 *
 * @param bootstrapServers the brokers
 * @param properties       passthrough client properties, without prefix
 */
public record KafkaConnection(String bootstrapServers, Map<String, String> properties) {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaConnection.class);
    private static final String KAFKA_PREFIX = "kafka.";
    private static final String UL_KAFKA_PREFIX = "ul.kafka.";
    private static final String ENV_PREFIX = "UL_KAFKA_";
    private static final String BOOTSTRAP_SERVERS = "bootstrap.servers";

    public KafkaConnection {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        properties = Map.copyOf(new TreeMap<>(properties));
    }

    /** Plain connection without passthrough properties (tests, a local broker). */
    public static KafkaConnection of(String bootstrapServers) {
        return new KafkaConnection(bootstrapServers, Map.of());
    }

    /**
     * Collects the passthrough properties from a service's configuration.
     *
     * @param bootstrapServers the brokers (the service's own setting, e.g. {@code kafka.bootstrap.servers})
     * @param names            every configuration key the service knows
     * @param lookup           a key's value
     * @param environment      the process environment ({@code UL_KAFKA_*})
     */
    public static KafkaConnection fromConfig(String bootstrapServers, Iterable<String> names,
                                             Function<String, Optional<String>> lookup, Map<String, String> environment) {
        Map<String, String> fromKafka = new HashMap<>();
        Map<String, String> fromUl = new HashMap<>();
        for (String name : names) {
            if (name.startsWith(UL_KAFKA_PREFIX)) {
                lookup.apply(name).ifPresent(value -> fromUl.put(name.substring(UL_KAFKA_PREFIX.length()), value));
            } else if (name.startsWith(KAFKA_PREFIX)) {
                lookup.apply(name).ifPresent(value -> fromKafka.put(name.substring(KAFKA_PREFIX.length()), value));
            }
        }
        Map<String, String> properties = new HashMap<>(fromKafka);
        environment.forEach((name, value) -> {
            if (name.startsWith(ENV_PREFIX) && name.length() > ENV_PREFIX.length()) {
                properties.put(name.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.'), value);
            }
        });
        properties.putAll(fromUl);
        // The service's own bootstrap setting is the one that counts.
        properties.remove(BOOTSTRAP_SERVERS);
        // Only Kafka client properties pass (not, say, Compose's UL_KAFKA_PORT): a typo is named in the log.
        Set<String> known = clientConfigNames();
        properties.keySet().removeIf(name -> {
            boolean unknown = !known.contains(name);
            if (unknown) {
                LOG.warn("Ignoring '{}': not a Kafka producer, consumer or admin client property", name);
            }
            return unknown;
        });
        return new KafkaConnection(bootstrapServers, properties);
    }

    private static Set<String> clientConfigNames() {
        Set<String> names = new HashSet<>(ProducerConfig.configNames());
        names.addAll(ConsumerConfig.configNames());
        names.addAll(AdminClientConfig.configNames());
        return names;
    }

    /** This connection with more passthrough properties (they win over the present ones). */
    public KafkaConnection with(Map<String, String> more) {
        Map<String, String> merged = new HashMap<>(properties);
        merged.putAll(more);
        return new KafkaConnection(bootstrapServers, merged);
    }

    /** A client's configuration: the passthrough properties, the bootstrap servers, then the client's own settings. */
    public Map<String, Object> clientConfig(Map<String, ?> own) {
        Map<String, Object> config = new HashMap<>(properties);
        config.put(BOOTSTRAP_SERVERS, bootstrapServers);
        config.putAll(own);
        return config;
    }

    /** {@link #clientConfig} as {@link Properties} (Kafka Streams). */
    public Properties clientProperties(Map<String, ?> own) {
        Properties props = new Properties();
        props.putAll(clientConfig(own));
        return props;
    }

    /** For logs: the passthrough keys only, never their values (they hold passwords). */
    @Override
    public String toString() {
        return "KafkaConnection[" + bootstrapServers + ", properties " + properties.keySet() + "]";
    }
}
