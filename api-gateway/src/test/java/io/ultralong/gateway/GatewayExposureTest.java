package io.ultralong.gateway;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import java.util.Map;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.ultralong.gateway.security.ApiKeys;
import io.ultralong.testkit.KafkaBrokerTestResource;
import org.junit.jupiter.api.Test;

/** Keys given only as hashes, the Host allowlist, and the management endpoints behind the same keys. */
@QuarkusTest
@TestProfile(GatewayExposureTest.HashedKeysAndHosts.class)
@WithTestResource(KafkaBrokerTestResource.class)
class GatewayExposureTest {

    private static final String KEY = "initech-7f3a-secret";

    public static class HashedKeysAndHosts implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("ul.auth.api-key-hashes", ApiKeys.hashedEntry("initech", KEY),
                    "ul.auth.allowed-hosts", "localhost,api.example.com");
        }
    }

    @Test
    void aKeyConfiguredOnlyByItsHashAuthenticates() {
        given().header("Authorization", "Bearer " + KEY).get("/v1/models").then().statusCode(200);
        given().header("Authorization", "Bearer " + KEY + "x").get("/v1/models")
                .then().statusCode(401).body("error.code", equalTo("unauthenticated"));
    }

    @Test
    void metricsAndOpenApiNeedAKeyWhileHealthStaysOpen() {
        given().get("/q/metrics").then().statusCode(401).body("error.code", equalTo("unauthenticated"));
        given().get("/q/openapi").then().statusCode(401);
        given().header("Authorization", "Bearer wrong").get("/q/metrics").then().statusCode(401);
        given().header("Authorization", "Bearer " + KEY).get("/q/metrics").then().statusCode(200);
        given().get("/q/health/live").then().statusCode(200);
    }

    @Test
    void aHostOutsideTheAllowlistIsRefusedBeforeAnythingElse() {
        given().header("Host", "rebound.attacker.example").header("Authorization", "Bearer " + KEY)
                .get("/v1/models").then().statusCode(403).body("error.code", equalTo("host-not-allowed"));
        given().header("Host", "rebound.attacker.example").get("/q/health/live").then().statusCode(403);
        given().header("Host", "api.example.com:8443").header("Authorization", "Bearer " + KEY)
                .get("/v1/models").then().statusCode(200);
    }
}
