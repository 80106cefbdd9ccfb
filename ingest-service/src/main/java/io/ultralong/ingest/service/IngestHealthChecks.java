package io.ultralong.ingest.service;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

import org.apache.kafka.streams.KafkaStreams;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

import io.ultralong.ingest.IngestApplication;

/**
 * Health of the Streams application: ready while RUNNING (a rebalance or state restore is not ready), alive unless
 * it stopped or failed (ERROR, PENDING_ERROR, NOT_RUNNING, PENDING_SHUTDOWN).
 */
@ApplicationScoped
public class IngestHealthChecks {

    private static final String NAME = "ingest-streams";

    private final IngestService service;

    public IngestHealthChecks(IngestService service) {
        this.service = service;
    }

    @Produces
    @Readiness
    HealthCheck ready() {
        return () -> check(state -> state == KafkaStreams.State.RUNNING);
    }

    @Produces
    @Liveness
    HealthCheck alive() {
        return () -> check(state -> state == KafkaStreams.State.CREATED || state.isRunningOrRebalancing());
    }

    private HealthCheckResponse check(java.util.function.Predicate<KafkaStreams.State> up) {
        IngestApplication application = service.application();
        if (application == null) {
            return HealthCheckResponse.named(NAME).down().withData("state", "NOT_STARTED").build();
        }
        KafkaStreams.State state = application.state();
        return HealthCheckResponse.named(NAME).status(up.test(state)).withData("state", state.name())
                .withData("topics", application.topics().records() + " -> " + application.topics().tokens())
                .build();
    }
}
