package io.ultralong.protocol.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class KafkaConnectionTest {

    @Test
    void takesKafkaAndUlKafkaKeysAndEnvironmentWithUlKafkaWinning() {
        Map<String, String> config = Map.of(
                "kafka.bootstrap.servers", "ignored:9092",
                "kafka.security.protocol", "SASL_PLAINTEXT",
                "kafka.sasl.mechanism", "PLAIN",
                "ul.kafka.sasl.mechanism", "SCRAM-SHA-512",
                "ul.worker.id", "w1",
                "kafka.devservices.enabled", "false");
        KafkaConnection connection = KafkaConnection.fromConfig("broker:9092", config.keySet(),
                name -> Optional.ofNullable(config.get(name)),
                Map.of("UL_KAFKA_SSL_TRUSTSTORE_LOCATION", "/etc/ul/truststore.p12", "KAFKA_HEAP_OPTS", "-Xmx1g",
                        "UL_KAFKA_PORT", "29092"));

        assertThat(connection.properties()).containsExactlyInAnyOrderEntriesOf(Map.of(
                "security.protocol", "SASL_PLAINTEXT",
                "sasl.mechanism", "SCRAM-SHA-512",
                "ssl.truststore.location", "/etc/ul/truststore.p12"));
        assertThat(connection.bootstrapServers()).isEqualTo("broker:9092");
    }

    @Test
    void clientSettingsWinOverPassthroughOnes() {
        KafkaConnection connection = new KafkaConnection("b:1", Map.of("acks", "0", "security.protocol", "SSL"));
        Map<String, Object> config = connection.clientConfig(Map.of("acks", "all"));
        assertThat(config).containsEntry("acks", "all").containsEntry("security.protocol", "SSL")
                .containsEntry("bootstrap.servers", "b:1");
    }

    @Test
    void neverPrintsSecrets() {
        KafkaConnection connection = new KafkaConnection("b:1", Map.of("sasl.jaas.config", "password=\"s3cret\";"));
        assertThat(connection.toString()).doesNotContain("s3cret").contains("sasl.jaas.config");
        assertThat(KafkaConnection.fromConfig("b:1", List.of(), n -> Optional.empty(), Map.of()).properties()).isEmpty();
    }
}
