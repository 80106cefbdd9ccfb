package io.ultralong.ingest.service;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.ultralong.ingest.OutputVerifier;
import io.ultralong.ingest.TestTokenizer;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerTestResource;

/** The packaged service: topics created at start, records tokenized, health and metrics over HTTP. */
@QuarkusTest
@WithTestResource(KafkaBrokerTestResource.class)
@WithTestResource(IngestTestResource.class)
class IngestServiceTest {

    private final Topics topics = new Topics(IngestTestResource.PREFIX);

    @Test
    void serviceTokenizesRecordsAndReportsHealthAndMetrics() throws Exception {
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                given().get("/q/health/ready").then().statusCode(200)
                        .body("checks.find { it.name == 'ingest-streams' }.data.state", equalTo("RUNNING")));
        Properties props = KafkaBroker.shared().clientProperties();
        try (var producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>(topics.records(), "acme/s1", "{\"text\":\"Grüße\",\"source\":\"app\"}")).get();
            producer.send(new ProducerRecord<>(topics.records(), "acme/s1", "{\"source\":\"app\"}")).get();
        }

        OutputVerifier output = new OutputVerifier(props);
        List<ConsumerRecord<byte[], byte[]>> tokens = output.readCommitted(topics.tokens(), 2, false, Duration.ofSeconds(60));

        try (ModelTokenizer tokenizer = TestTokenizer.load()) {
            assertThat(tokens).hasSize(2);
            assertThat(new String(tokens.get(0).key(), StandardCharsets.UTF_8)).isEqualTo("acme/s1");
            int[] ids = tokenizer.encode("app: Grüße\n");
            assertThat(TokenChunkCodec.decode(tokens.get(0).value())).isEqualTo(new TokenChunk(1, 0, 0, true, ids));
            // The rejected record still takes the session's next seq, as a marker naming the reason.
            assertThat(TokenChunkCodec.decode(tokens.get(1).value())).isEqualTo(TokenChunk.marker(2, ids.length, 1,
                    new TokenChunk.Marker.Rejected("missing-text", "JSON record has no string field \"text\"")));
        }
        assertThat(output.readCommitted(topics.recordsDlq(), 1, false, Duration.ofSeconds(60))).hasSize(1);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> given().get("/q/metrics").then().statusCode(200)
                .body(containsString("ul_ingest_records_total 1.0"))
                .body(containsString("ul_ingest_rejected_total{reason=\"missing-text\"} 1.0"))
                .body(containsString("kafka_stream_"))
                .body(containsString("ul_ingest_lag_records 0.0")));
        given().get("/q/health/live").then().statusCode(200);
    }
}
