package io.ultralong.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaBrokerExtension.class)
class KafkaBrokerTest {

    @Test
    void producedRecordsAreConsumedInOrderPerKey(KafkaBroker broker) throws Exception {
        String topic = KafkaBroker.uniqueName("smoke");
        broker.createTopics(3, topic);

        Properties producerProps = broker.clientProperties();
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        try (var producer = new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 300; i++) {
                producer.send(new ProducerRecord<>(topic, "session-" + (i % 7), Integer.toString(i))).get();
            }
        }

        Properties consumerProps = broker.clientProperties();
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, KafkaBroker.uniqueName("group"));
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<String, String>> received = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(consumerProps, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (received.size() < 300 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(received::add);
            }
            consumer.commitSync();
        }

        assertThat(received).hasSize(300);
        for (int key = 0; key < 7; key++) {
            String sessionKey = "session-" + key;
            List<Integer> values = received.stream().filter(r -> r.key().equals(sessionKey))
                    .map(r -> Integer.parseInt(r.value())).toList();
            assertThat(values).isSorted().allMatch(v -> v % 7 == Integer.parseInt(sessionKey.substring(8)));
            assertThat(received.stream().filter(r -> r.key().equals(sessionKey)).map(ConsumerRecord::partition).distinct())
                    .as("one key, one partition").hasSize(1);
        }
    }

    @Test
    void uniqueNamesNeverRepeat() {
        assertThat(List.of(KafkaBroker.uniqueName("t"), KafkaBroker.uniqueName("t"))).doesNotHaveDuplicates();
    }
}
