package io.ultralong.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import io.ultralong.gateway.kafka.GatewayKafka;
import io.ultralong.protocol.topics.CoPartitioning;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.testkit.KafkaBroker;
import org.junit.jupiter.api.Test;

/** The gateway's start-up check: records and requests must line up, or it refuses to start. */
class GatewayTopicCheckTest {

    @Test
    void refusesRecordsAndRequestsWithDifferentPartitionCounts() {
        KafkaBroker broker = KafkaBroker.shared();
        Topics topics = new Topics(KafkaBroker.uniqueName("gw") + ".");
        // Not there yet: the services that create topics check them; the gateway starts.
        assertThat(GatewayKafka.verify(broker.admin(), topics)).isEmpty();

        broker.createTopics(4, topics.records());
        broker.createTopics(2, topics.requests());
        // Topics just created may take a moment to be listed.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThatThrownBy(() -> GatewayKafka.verify(broker.admin(), topics))
                .isInstanceOf(CoPartitioning.CoPartitioningException.class)
                .hasMessageContaining(topics.records() + "=4")
                .hasMessageContaining(topics.requests() + "=2"));
    }

    @Test
    void acceptsCoPartitionedTopics() {
        KafkaBroker broker = KafkaBroker.shared();
        Topics topics = new Topics(KafkaBroker.uniqueName("gw") + ".");
        broker.createTopics(3, topics.records(), topics.requests());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(GatewayKafka.verify(broker.admin(), topics)).hasValue(3));
    }
}
