package io.ultralong.worker;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.ultralong.protocol.kafka.KafkaConnection;
import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.SamplingParams;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.store.ContextStore;
import io.ultralong.testkit.SecuredKafkaBroker;
import io.ultralong.worker.session.StoreSessionLedger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka is the trust boundary: on a broker that requires SASL, every Kafka client of a worker (token and request
 * feeds, response publisher, watch tail and answer producer, tokens DLQ producer, co-partitioning admin) logs in with
 * the passthrough properties of {@link KafkaConnection}, and a client without valid credentials is refused.
 */
class SecuredKafkaTest {

    static SecuredKafkaBroker broker;

    @BeforeAll
    static void start() {
        broker = SecuredKafkaBroker.start();
    }

    @AfterAll
    static void stop() throws Exception {
        broker.close();
    }

    @Test
    void theWorkerRunsOnASaslBrokerWithItsCredentials(@TempDir Path dir) throws Exception {
        String prefix = "sec.";
        broker.createTopics(2, prefix + "tokens", prefix + "requests", prefix + "watches", prefix + "responses",
                prefix + "answers", prefix + "tokens.dlq");
        KafkaConnection kafka = new KafkaConnection(broker.bootstrapServers(),
                SecuredKafkaBroker.credentials(SecuredKafkaBroker.USER, SecuredKafkaBroker.USER_PASSWORD));
        WorkerSettings settings = new WorkerSettings(broker.bootstrapServers(), prefix, "sec-workers", "sec-1", dir,
                Duration.ofSeconds(10), 8).withKafka(kafka);
        List<ResponseEvent> responses = new CopyOnWriteArrayList<>();
        List<String> deadLetters = new CopyOnWriteArrayList<>();
        try (ContextStore store = ContextStore.open(dir.resolve("store"));
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(kafka.clientConfig(Map.of()), new StringSerializer(),
                     new ByteArraySerializer());
             TopicTail responseTail = new TopicTail(kafka, prefix + "responses", true, "sec-responses",
                     r -> responses.add(QueryJson.decodeEvent(r.value()))).start();
             TopicTail dlqTail = new TopicTail(kafka, prefix + "tokens.dlq", true, "sec-dlq",
                     r -> deadLetters.add(new String(r.value(), UTF_8))).start()) {
            StoreSessionLedger ledger = new StoreSessionLedger(store);
            try (WorkerNode node = new WorkerNode(settings, ledger, (job, events) -> new ResponseEvent.Done(
                    job.request().requestId(), "tokens: " + ledger.contextTokens(job.request().session()), "stop",
                    new ResponseEvent.Usage(0, 0, 0, 0), new ResponseEvent.Timings(0, 0, 0, 0), "none", true)).start()) {
                producer.send(new ProducerRecord<>(prefix + "tokens", "acme/s",
                        TokenChunkCodec.encode(new TokenChunk(1, 0, 5, true, new int[] {1, 2, 3})))).get();
                producer.send(new ProducerRecord<>(prefix + "tokens", "acme/s", "garbage".getBytes(UTF_8))).get();
                QueryRequest request = new QueryRequest("sec-q1", "acme/s", "how many?", null,
                        new SamplingParams(4, 0.0, 1.0, 0, 1L), 5, null, System.currentTimeMillis() + 60_000, false);
                producer.send(new ProducerRecord<>(prefix + "requests", "acme/s", QueryJson.encode(request))).get();

                await().atMost(Duration.ofSeconds(60)).until(() -> responses.stream().anyMatch(ResponseEvent::terminal));
                assertThat(responses.stream().filter(ResponseEvent::terminal).findFirst().get())
                        .isInstanceOfSatisfying(ResponseEvent.Done.class, done -> assertThat(done.answer()).isEqualTo("tokens: 3"));
                await().atMost(Duration.ofSeconds(30)).until(() -> deadLetters.contains("garbage"));
                assertThat(node.problem()).isEmpty();
            }
        }
    }

    @Test
    void aClientWithoutValidCredentialsIsRefused() {
        Map<String, Object> wrong = new KafkaConnection(broker.bootstrapServers(),
                SecuredKafkaBroker.credentials(SecuredKafkaBroker.USER, "not-the-password")).clientConfig(Map.of(
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000));
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(wrong, new StringSerializer(), new ByteArraySerializer())) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("sec.tokens", "k", new byte[1])).get(30, TimeUnit.SECONDS))
                    .satisfiesAnyOf(
                            e -> assertThat(e).isInstanceOf(SaslAuthenticationException.class),
                            e -> assertThat(e).isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SaslAuthenticationException.class));
        }
        // No credentials at all: a plaintext client never gets an answer from the SASL listener.
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers(),
                "default.api.timeout.ms", 5_000, "request.timeout.ms", 4_000))) {
            assertThatThrownBy(() -> admin.listTopics().names().get(20, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
        }
    }
}
