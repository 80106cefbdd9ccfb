package io.ultralong.worker.service;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.time.Duration;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerTestResource;
import org.junit.jupiter.api.Test;

/**
 * The worker as the Quarkus service: it loads the demo model, joins the group, reports ready once it
 * has read the watches topic, and exports its metrics for Prometheus.
 */
@QuarkusTest
@WithTestResource(KafkaBrokerTestResource.class)
class WorkerServiceTest {

    @Test
    void becomesReadyWithTheDemoModelAndExportsItsMetrics() {
        // The service's topics (test profile prefix "svc.") appear after it started: it waits for them.
        KafkaBroker.shared().createTopics(2, "svc.records", "svc.tokens", "svc.requests", "svc.responses", "svc.watches",
                "svc.answers");

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> given().get("/q/health/ready")
                .then().statusCode(200)
                .body("checks.find { it.name == 'ul-worker' }.data.demoModel", equalTo(true)));
        given().get("/q/health/live").then().statusCode(200);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().get("/q/metrics").then().statusCode(200)
                .body(containsString("ul_worker_partitions_owned 2.0"))
                .body(containsString("ul_worker_queue_depth"))
                // The platform's metric scheme (docs/operations.md): units in names, totals, tiers as labels.
                .body(containsString("ul_worker_queue_depth_queries{worker="))
                .body(containsString("ul_worker_prefill_tokens_total{worker="))
                .body(containsString("ul_worker_decode_tokens_total{worker="))
                .body(containsString("ul_worker_kv_bytes{device=\"disk\",tier=\"store\",worker="))
                // KV sharded over two CPU shards (test profile): one gauge per device
                .body(containsString("ul_worker_kv_bytes{device=\"cpu()\",tier=\"memory\",worker="))
                .body(containsString("ul_worker_kv_bytes{device=\"cpu()#1\",tier=\"memory\",worker="))
                .body(containsString("ul_worker_kv_lookups_total{result=\"miss\",tier=\"memory\",worker="))
                .body(containsString("ul_worker_ttft_seconds_bucket{worker=")));
    }
}
