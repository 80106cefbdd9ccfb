package io.ultralong.platform;

import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.worker.Worker;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

/**
 * The embedded worker's liveness in {@code /q/health/live}: DOWN when one of its feeds stopped or its model thread
 * made no progress for {@code ul.worker.model-stall-timeout} (a hung job), with the reason.
 */
@Liveness
@ApplicationScoped
public class EmbeddedWorkerLiveness implements HealthCheck {

    private final EmbeddedPlatform platform;

    public EmbeddedWorkerLiveness(EmbeddedPlatform platform) {
        this.platform = platform;
    }

    @Override
    public HealthCheckResponse call() {
        Worker worker = platform.worker();
        // Still starting counts as alive.
        Optional<String> problem = worker == null ? Optional.empty() : worker.node().problem();
        return HealthCheckResponse.named("ul-embedded-worker").status(problem.isEmpty())
                .withData("problem", problem.orElse("none")).build();
    }
}
