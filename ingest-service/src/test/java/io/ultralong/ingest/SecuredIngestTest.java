package io.ultralong.ingest;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.testkit.SecuredKafkaBroker;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ingest service on a broker that requires SASL and authorizes: its admin client and every client of its
 * exactly-once Streams application (consumer, transactional producer, restore consumer) log in with the passthrough
 * properties of {@link KafkaConnection}.
 */
class SecuredIngestTest {

    @Test
    void ingestRunsExactlyOnceOnASaslBroker(@TempDir Path stateDir) throws Exception {
        try (SecuredKafkaBroker broker = SecuredKafkaBroker.start()) {
            KafkaConnection kafka = new KafkaConnection(broker.bootstrapServers(),
                    SecuredKafkaBroker.credentials(SecuredKafkaBroker.USER, SecuredKafkaBroker.USER_PASSWORD));
            Topics topics = new Topics("sec.");
            List<TokenChunk> chunks = new CopyOnWriteArrayList<>();
            IngestSettings settings = IngestSettings.defaults(broker.bootstrapServers(), TestTokenizer.directory())
                    .withApplicationId("sec-ingest")
                    .withTopicPrefix(topics.prefix())
                    .withTopics(true, 2)
                    .withStateDir(stateDir)
                    .withKafka(kafka);
            try (IngestApplication ingest = IngestApplication.start(settings);
                 KafkaProducer<String, byte[]> producer = new KafkaProducer<>(kafka.clientConfig(Map.of()),
                         new StringSerializer(), new ByteArraySerializer());
                 TopicTail tokens = new TopicTail(kafka, topics.tokens(), true, "sec-tokens",
                         r -> chunks.add(TokenChunkCodec.decode(r.value()))).start()) {
                producer.send(new ProducerRecord<>(topics.records(), "acme/s", "hello secured world".getBytes(UTF_8))).get();
                await().atMost(Duration.ofSeconds(90)).until(() -> !chunks.isEmpty());
                assertThat(chunks.get(0).seq()).isEqualTo(1);
                assertThat(chunks.get(0).tokens()).isNotEmpty();
            }
        }
    }
}
