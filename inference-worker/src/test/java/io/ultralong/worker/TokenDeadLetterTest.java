package io.ultralong.worker;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.store.ContextStore;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import io.ultralong.worker.kafka.TokenDeadLetters;
import io.ultralong.worker.session.StoreSessionLedger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records on {@code ul.tokens} that can never be applied go to {@code ul.tokens.dlq} with their reason, and the
 * partition goes on: the good chunks around them apply.
 */
@ExtendWith(KafkaBrokerExtension.class)
class TokenDeadLetterTest {

    static final String SESSION = "acme/broken-feed";

    @Test
    void badChunksGoToTheDeadLetterTopicAndTheGoodOnesApply(KafkaBroker broker, @TempDir Path dir) throws Exception {
        List<ConsumerRecord<String, byte[]>> dead = new CopyOnWriteArrayList<>();
        try (WorkerHarness harness = new WorkerHarness(broker);
             ContextStore store = ContextStore.open(dir.resolve("store"));
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                     new ByteArraySerializer());
             TopicTail dlq = new TopicTail(broker.bootstrapServers(), harness.prefix + "tokens.dlq", true, "dlq-test", dead::add)
                     .start()) {
            StoreSessionLedger ledger = new StoreSessionLedger(store);
            try (WorkerNode node = new WorkerNode(harness.settings("dlq", dir, Duration.ofSeconds(10)), ledger,
                    (job, events) -> null).start()) {
                String tokens = harness.prefix + "tokens";
                send(producer, tokens, TokenChunkCodec.encode(new TokenChunk(1, 0, 10, true, new int[] {1, 2, 3})));
                send(producer, tokens, "not a chunk at all".getBytes(UTF_8));
                send(producer, tokens, TokenChunkCodec.encode(new TokenChunk(3, 3, 30, true, new int[] {7})));      // seq gap
                send(producer, tokens, TokenChunkCodec.encode(new TokenChunk(2, 99, 20, true, new int[] {8})));     // wrong position
                send(producer, tokens, TokenChunkCodec.encode(new TokenChunk(2, 3, 20, true, new int[] {4, 5})));

                await().atMost(Duration.ofSeconds(60)).until(() -> ledger.appliedSeq(SESSION) == 20);
                assertThat(ledger.contextTokens(SESSION)).isEqualTo(5);
                assertThat(store.readTokens(SESSION)).containsExactly(1, 2, 3, 4, 5);

                await().atMost(Duration.ofSeconds(30)).until(() -> dead.size() == 3);
                assertThat(dead).extracting(r -> header(r, TokenDeadLetters.HEADER_REASON))
                        .containsExactly("unreadable-chunk", "seq-gap", "wrong-first-position");
                assertThat(dead).extracting(r -> header(r, TokenDeadLetters.HEADER_OFFSET)).containsExactly("1", "2", "3");
                assertThat(dead).allSatisfy(r -> {
                    assertThat(r.key()).isEqualTo(SESSION);
                    assertThat(header(r, TokenDeadLetters.HEADER_TOPIC)).isEqualTo(tokens);
                });
                assertThat(header(dead.get(2), TokenDeadLetters.HEADER_MESSAGE)).contains("starts at position 99");
                assertThat(new String(dead.get(0).value(), UTF_8)).isEqualTo("not a chunk at all");
                assertThat(node.tokens().deadLettered()).isEqualTo(3);
                assertThat(node.problem()).isEmpty();
            }
        }
    }

    private static void send(KafkaProducer<String, byte[]> producer, String topic, byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(topic, SESSION, value)).get();
    }

    private static String header(ConsumerRecord<String, byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), UTF_8);
    }
}
