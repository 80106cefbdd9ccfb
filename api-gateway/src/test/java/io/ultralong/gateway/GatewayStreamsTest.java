package io.ultralong.gateway;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.ultralong.gateway.security.TenantAdmission;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerTestResource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Open streams hold no thread, and what one tenant holds open is capped: 250 open event streams (more than the
 * worker pool's 200 threads) leave every endpoint answering, and a tenant over its stream, in-flight or watch
 * cap gets 429 while others go on. Records at the size limit answer 202 or 413, never 503.
 */
@QuarkusTest
@TestProfile(GatewayStreamsTest.StreamLimits.class)
@WithTestResource(KafkaBrokerTestResource.class)
class GatewayStreamsTest {

    static final String ACME = "Bearer test-key-acme";
    static final String GLOBEX = "Bearer test-key-globex";
    static final int STREAMS = 250;

    public static class StreamLimits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("ul.limits.max-streams-per-tenant", Integer.toString(STREAMS),
                    "ul.limits.max-in-flight-per-tenant", Integer.toString(STREAMS + 4),
                    "ul.limits.max-watches-per-tenant", "3",
                    "ul.limits.min-every-tokens", "256",
                    "ul.limits.requests-per-second", "0",
                    // the production record limit, against Kafka's own
                    "ul.limits.max-record-bytes", "1048576",
                    "ul.query.timeout", "PT30S");
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Inject
    TenantAdmission admission;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void topics() {
        ScriptedResponder.shared();
    }

    @Test
    void manyOpenStreamsLeaveEveryEndpointAnsweringAndATenantOverItsCapsGets429() throws Exception {
        createWatch(ACME, "streamed", "busy");
        List<HttpResponse<InputStream>> streams = new ArrayList<>();
        try {
            List<CompletableFuture<HttpResponse<InputStream>>> opening = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                opening.add(http.sendAsync(events(ACME, "streamed", "busy"), HttpResponse.BodyHandlers.ofInputStream()));
            }
            // Each stream answers its headers at once; with a worker thread pinned per stream (200 of them) the
            // last 50 would wait for ever.
            for (CompletableFuture<HttpResponse<InputStream>> open : opening) {
                HttpResponse<InputStream> stream = open.get(60, TimeUnit.SECONDS);
                streams.add(stream);
                assertThat(stream.statusCode()).isEqualTo(200);
                assertThat(stream.headers().firstValue("Content-Type")).hasValueSatisfying(
                        type -> assertThat(type).startsWith("text/event-stream"));
            }
            assertThat(admission.streams("acme")).isEqualTo(STREAMS);

            // Every endpoint still answers, blocking ones included, for the same tenant and another.
            long started = System.nanoTime();
            given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\"}")
                    .post("/v1/sessions/s-busy/query").then().statusCode(200).body("answer", equalTo(ScriptedResponder.ANSWER));
            given().header("Authorization", ACME).contentType(ContentType.TEXT).body("still here")
                    .post("/v1/sessions/s-busy/records").then().statusCode(202);
            given().header("Authorization", ACME).get("/v1/sessions/s-busy").then().statusCode(200)
                    .body("id", equalTo("s-busy"));
            given().header("Authorization", GLOBEX).contentType(ContentType.JSON).body("{\"question\": \"q\", \"stream\": true}")
                    .post("/v1/sessions/s-other/query").then().statusCode(200)
                    .contentType(startsWith("text/event-stream")).body(org.hamcrest.Matchers.containsString("event: done"));
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));

            // acme holds its 250 streams: one more is refused, with a JSON error; globex's streams are its own.
            HttpResponse<String> refused = http.send(events(ACME, "streamed", "busy"), HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.body()).contains("\"code\":\"too-many-streams\"");
            given().header("Authorization", ACME).contentType(ContentType.JSON).body("{\"question\": \"q\", \"stream\": true}")
                    .post("/v1/sessions/s-busy/query").then().statusCode(429).body("error.code", equalTo("too-many-streams"));
            createWatch(GLOBEX, "g", "w");
            HttpResponse<InputStream> globexStream = http.send(events(GLOBEX, "g", "w"), HttpResponse.BodyHandlers.ofInputStream());
            streams.add(globexStream);
            assertThat(globexStream.statusCode()).isEqualTo(200);

            // In flight: 250 streams and 4 slow queries fill acme's 254; its next request waits its turn (429).
            List<CompletableFuture<HttpResponse<String>>> slow = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                slow.add(http.sendAsync(HttpRequest.newBuilder(base.resolve("/v1/sessions/s-slow/query"))
                        .header("Authorization", ACME).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"question\": \"slow\"}")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> admission.inFlight("acme") == STREAMS + 4);
            Response busy = given().header("Authorization", ACME).get("/v1/models");
            assertThat(busy.statusCode()).isEqualTo(429);
            assertThat(busy.header("Retry-After")).isEqualTo("1");
            assertThat(busy.jsonPath().getString("error.code")).isEqualTo("too-many-requests");
            given().header("Authorization", GLOBEX).get("/v1/models").then().statusCode(200);
        } finally {
            for (HttpResponse<InputStream> stream : streams) {
                stream.body().close();
            }
            // globex's watch cap is the other test's
            given().header("Authorization", GLOBEX).delete("/v1/sessions/g/watches/w");
        }
        // Closed streams give their permits back: the tenant may open as many again.
        await().atMost(Duration.ofSeconds(30)).until(() -> admission.streams("acme") == 0 && admission.streams("globex") == 0);
        await().atMost(Duration.ofSeconds(40)).until(() -> admission.inFlight("acme") == 0);
        given().header("Authorization", ACME).get("/v1/models").then().statusCode(200);
    }

    @Test
    void watchesArePerTenantCappedAndTheirTriggerHasAMinimum() {
        // A watch re-evaluated every few tokens would keep the model busy: below the minimum is refused, and
        // a watch without a trigger gets the minimum.
        given().header("Authorization", GLOBEX).contentType(ContentType.JSON)
                .body("{\"id\": \"w0\", \"question\": \"q\", \"trigger\": {\"everyTokens\": 255}}")
                .post("/v1/sessions/capped/watches").then().statusCode(400).body("error.code", equalTo("invalid-request"))
                .body("error.message", equalTo("\"trigger.everyTokens\" must be at least 256; got 255."));
        given().header("Authorization", GLOBEX).contentType(ContentType.JSON)
                .body("{\"id\": \"w0\", \"question\": \"q\", \"trigger\": {\"minIntervalSeconds\": 5}}")
                .post("/v1/sessions/capped/watches").then().statusCode(201).body("trigger.everyTokens", equalTo(256));
        for (int i = 0; i < 3; i++) {
            createWatch(GLOBEX, "capped", "w" + i);
        }
        given().header("Authorization", GLOBEX).contentType(ContentType.JSON).body("{\"id\": \"w3\", \"question\": \"q\"}")
                .post("/v1/sessions/capped/watches").then().statusCode(429).body("error.code", equalTo("too-many-watches"));
        // Replacing one adds none; another tenant has its own count.
        createWatch(GLOBEX, "capped", "w1");
        createWatch(ACME, "capped", "w3");
        given().header("Authorization", GLOBEX).delete("/v1/sessions/capped/watches/w0").then().statusCode(204);
        createWatch(GLOBEX, "capped", "w3");
        for (String id : List.of("w1", "w2", "w3")) {
            given().header("Authorization", GLOBEX).delete("/v1/sessions/capped/watches/" + id).then().statusCode(204);
        }
    }

    @Test
    void aRecordAtTheSizeLimitIsAcceptedAndOneOverIsRefusedWith413NeverWith503() throws Exception {
        String atLimit = "x".repeat(1048576 - "{\"text\":\"\"}".length());   // the value is exactly 1 MiB
        // A records topic whose max.message.bytes (the broker's default, ~1 MiB) is below what the gateway
        // accepts: Kafka's refusal is a size problem, 413, not an outage.
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body(atLimit)
                .post("/v1/sessions/s-big/records").then().statusCode(413).body("error.code", equalTo("too-large"))
                .body("error.message", org.hamcrest.Matchers.containsString("max.message.bytes"));

        // Sized as ingest and the compose file create it: the record limit plus room for key and framing.
        try (Admin admin = Admin.create(KafkaBroker.shared().clientProperties())) {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, "ul.records"),
                    List.of(new AlterConfigOp(new ConfigEntry("max.message.bytes", "1114112"), AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                given().header("Authorization", ACME).contentType(ContentType.TEXT).body(atLimit)
                        .post("/v1/sessions/s-big/records").then().statusCode(202).body("count", equalTo(1)));
        given().header("Authorization", ACME).contentType(ContentType.TEXT).body(atLimit + "x")
                .post("/v1/sessions/s-big/records").then().statusCode(413).body("error.code", equalTo("too-large"))
                .body("error.message", equalTo("Line 1: record of 1048577 bytes exceeds the maximum of 1048576 bytes."));
    }

    private HttpRequest events(String key, String session, String watch) {
        return HttpRequest.newBuilder(base.resolve("/v1/sessions/" + session + "/watches/" + watch + "/events"))
                .header("Authorization", key).header("Accept", "text/event-stream").build();
    }

    private static void createWatch(String key, String session, String id) {
        given().header("Authorization", key).contentType(ContentType.JSON)
                .body("{\"id\": \"" + id + "\", \"question\": \"Any errors?\"}")
                .post("/v1/sessions/" + session + "/watches").then().statusCode(201);
    }
}
