package io.ultralong.platform;

import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.worker.Worker;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * The embedded worker's readiness in {@code /q/health/ready}: DOWN, with the reason, while its context store cannot
 * write (a full disk): new records wait, queries on what is applied are still answered, and it comes back by itself
 * once writes succeed. Not a liveness problem: a restart would not free the disk.
 */
@Readiness
@ApplicationScoped
public class EmbeddedWorkerReadiness implements HealthCheck {

    private final EmbeddedPlatform platform;

    public EmbeddedWorkerReadiness(EmbeddedPlatform platform) {
        this.platform = platform;
    }

    @Override
    public HealthCheckResponse call() {
        Worker worker = platform.worker();
        Optional<String> problem = worker == null ? Optional.empty() : worker.node().readinessProblem();
        return HealthCheckResponse.named("ul-embedded-worker-store").status(problem.isEmpty())
                .withData("problem", problem.orElse("none")).build();
    }
}
