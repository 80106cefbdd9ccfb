package io.ultralong.gateway;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.watch.WatchAnswer;
import io.ultralong.protocol.watch.WatchJson;
import io.ultralong.protocol.watch.WatchKeys;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerTestResource;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(KafkaBrokerTestResource.class)
class WatchApiTest {

    static final String ACME = "Bearer test-key-acme";

    @TestHTTPResource("/v1/sessions/app-log/watches/errors/events")
    URI eventsUri;

    @BeforeAll
    static void topics() {
        ScriptedResponder.shared();
    }

    @Test
    void watchesAreStoredInTheirSessionsPartitionListedAndDeleted() {
        given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"id\": \"w1\", \"question\": \"Any errors?\", \"trigger\": {\"everyTokens\": 256, \"minIntervalSeconds\": 10},"
                        + " \"notifyWhen\": \"(?i)error\"}")
                .post("/v1/sessions/watched/watches")
                .then().statusCode(201).body("id", equalTo("w1")).body("trigger.everyTokens", equalTo(256))
                .body("notifyWhen", equalTo("(?i)error"));
        given().header("Authorization", ACME).get("/v1/sessions/watched/watches")
                .then().statusCode(200).body("data", hasSize(1)).body("data[0].question", equalTo("Any errors?"));
        given().header("Authorization", "Bearer test-key-globex").get("/v1/sessions/watched/watches/w1")
                .then().statusCode(404);

        ConsumerRecord<String, byte[]> stored = lastRecord("ul.watches", WatchKeys.key("acme/watched", "w1"));
        assertThat(stored.partition()).isEqualTo(WatchKeys.partitionOf("acme/watched", 4));
        assertThat(WatchJson.decodeWatch(stored.value()).everyTokens()).isEqualTo(256);

        given().header("Authorization", ACME).delete("/v1/sessions/watched/watches/w1").then().statusCode(204);
        given().header("Authorization", ACME).get("/v1/sessions/watched/watches/w1").then().statusCode(404);
        assertThat(lastRecord("ul.watches", WatchKeys.key("acme/watched", "w1")).value()).as("tombstone").isNull();
    }

    @Test
    void invalidWatchesAreRefused() {
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", \"notifyWhen\": \"(\"}")
                .post("/v1/sessions/watched/watches").then().statusCode(400).body("error.message",
                        org.hamcrest.Matchers.startsWith("\"notifyWhen\" is not a valid RE2 regular expression"));
        // Look-around needs backtracking: RE2 has none, so such a pattern is refused rather than run.
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", \"notifyWhen\": \"(?=a)\"}")
                .post("/v1/sessions/watched/watches").then().statusCode(400).body("error.code", equalTo("invalid-request"));
        given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"question\": \"q\", \"notifyWhen\": \"" + "a".repeat(513) + "\"}")
                .post("/v1/sessions/watched/watches").then().statusCode(400)
                .body("error.message", equalTo("\"notifyWhen\" has 513 characters; the limit is 512."));
        given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"trigger\": {}}")
                .post("/v1/sessions/watched/watches").then().statusCode(400);
        given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"question\": \"q\", \"trigger\": {\"everyTokens\": -1}}")
                .post("/v1/sessions/watched/watches").then().statusCode(400);
        // Sampling fields as strict as a query's: no wrap-around, no coerced strings.
        for (String bad : java.util.List.of("\"maxTokens\": 4294967297", "\"temperature\": \"0.5\"", "\"topK\": 1e3")) {
            given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", " + bad + "}")
                    .post("/v1/sessions/watched/watches").then().statusCode(400)
                    .body("error.message", org.hamcrest.Matchers.startsWith(bad.substring(0, bad.indexOf(':'))));
        }
    }

    @Test
    void answersOfAWatchStreamToItsFollowers() throws Exception {
        given().header("Authorization", ACME).contentType(ContentType.JSON)
                .body("{\"id\": \"errors\", \"question\": \"Any errors?\"}")
                .post("/v1/sessions/app-log/watches").then().statusCode(201);

        // The events stream never ends by itself: read it on a thread, stop it by closing the body.
        HttpResponse<Stream<String>> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(eventsUri)
                .header("Authorization", ACME).header("Accept", "text/event-stream").build(), BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try {
                response.body().forEach(lines::add);
            } catch (RuntimeException e) {
                // closed by the test
            }
        });
        reader.start();
        try (var producer = new KafkaProducer<>(KafkaBroker.shared().clientProperties(), new StringSerializer(), new ByteArraySerializer())) {
            WatchAnswer other = new WatchAnswer("other", "acme/app-log", 1, "not this one", null, null, 1);
            WatchAnswer mine = new WatchAnswer("errors", "acme/app-log", 42, "ERROR at 12:00 ✓",
                    new ResponseEvent.Usage(300, 256, 44, 5), new ResponseEvent.Timings(0, 10, 12, 3), 2);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                producer.send(new ProducerRecord<>("ul.answers", "acme/app-log", WatchJson.encode(other)));
                producer.send(new ProducerRecord<>("ul.answers", "acme/app-log", WatchJson.encode(mine))).get();
                assertThat(lines).anyMatch(l -> l.startsWith("data: ") && l.contains("\"answer\":\"ERROR at 12:00 ✓\"")
                        && l.contains("\"coveredSeq\":42"));
            });
        } finally {
            response.body().close();
        }
        assertThat(lines).contains("event: answer").noneMatch(l -> l.contains("not this one"));
    }

    private static ConsumerRecord<String, byte[]> lastRecord(String topic, String key) {
        var props = KafkaBroker.shared().clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, KafkaBroker.uniqueName("check"));
        try (var consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            var ends = consumer.endOffsets(partitions);
            ConsumerRecord<String, byte[]> last = null;
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
                for (var record : consumer.poll(Duration.ofMillis(100))) {
                    if (key.equals(record.key())) {
                        last = record;
                    }
                }
            }
            assertThat(last).as("a record with key " + key).isNotNull();
            return last;
        }
    }
}
