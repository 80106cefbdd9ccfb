package io.ultralong.gateway;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.ultralong.testkit.KafkaBrokerTestResource;
import org.junit.jupiter.api.Test;

/** Rate limits (429 with the wait until the next token as Retry-After) and deadlines (504), under tight settings. */
@QuarkusTest
@TestProfile(GatewayLimitsTest.TightLimits.class)
@WithTestResource(KafkaBrokerTestResource.class)
class GatewayLimitsTest {

    public static class TightLimits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("ul.limits.requests-per-second", "0.05", "ul.limits.burst", "3",
                    "ul.query.timeout", "PT2S");
        }
    }

    @Test
    void aKeyOverItsRateGets429WithRetryAfter() {
        List<Response> responses = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            responses.add(given().header("Authorization", "Bearer test-key-globex").get("/v1/models"));
        }
        // one token per 20 s: the burst of 3 passes and nothing refills during the loop, however slow the machine
        Response limited = responses.stream().filter(r -> r.statusCode() == 429).findFirst().orElseThrow();
        assertThat(responses.stream().filter(r -> r.statusCode() == 200).count()).isEqualTo(3L);
        assertThat(Integer.parseInt(limited.header("Retry-After"))).isBetween(1, 20);
        assertThat(limited.jsonPath().getString("error.code")).isEqualTo("rate-limited");
        // Another key has its own bucket.
        given().header("Authorization", "Bearer test-key-acme").get("/v1/models").then().statusCode(200);
    }

    @Test
    void aQueryWithoutAnAnswerTimesOutWith504AndIsCancelled() {
        ScriptedResponder responder = ScriptedResponder.shared();
        given().header("Authorization", "Bearer test-key-acme").contentType(ContentType.JSON)
                .body("{\"question\": \"slow\"}")
                .post("/v1/sessions/s-timeout/query")
                .then().statusCode(504).body("error.code", equalTo("deadline-exceeded"));
        String requestId = responder.lastQuery().requestId();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(responder.cancels()).anyMatch(c -> c.cancelledRequestId().equals(requestId)));
    }
}
