package io.ultralong.worker.service;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.worker.Worker;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the model is loaded and the worker's feeds run and its store writes; live while its threads keep running. */
public final class WorkerHealth {

    private WorkerHealth() {
    }

    @Readiness
    @ApplicationScoped
    public static class Ready implements HealthCheck {
        private final WorkerService service;

        public Ready(WorkerService service) {
            this.service = service;
        }

        @Override
        public HealthCheckResponse call() {
            Worker worker = service.worker();
            // A store that cannot write (a full disk) makes the worker unready, with the reason, until writes succeed.
            java.util.Optional<String> problem = worker == null ? java.util.Optional.empty() : worker.node().readinessProblem();
            boolean up = worker != null && worker.node().running() && worker.node().watches().caughtUp() && problem.isEmpty();
            return HealthCheckResponse.named("ul-worker")
                    .status(up)
                    .withData("problem", problem.orElse("none"))
                    .withData("model", worker == null ? "loading" : worker.runtime().config().architecture())
                    .withData("demoModel", worker != null && worker.demoModel())
                    .withData("partitions", worker == null ? "" : worker.node().tokens().owned().toString())
                    .build();
        }
    }

    @Liveness
    @ApplicationScoped
    public static class Live implements HealthCheck {
        private final WorkerService service;

        public Live(WorkerService service) {
            this.service = service;
        }

        @Override
        public HealthCheckResponse call() {
            Worker worker = service.worker();
            // Still loading counts as alive; a feed thread that died, or a model thread that hangs, does not.
            java.util.Optional<String> problem = worker == null ? java.util.Optional.empty() : worker.node().problem();
            return HealthCheckResponse.named("ul-worker").status(problem.isEmpty())
                    .withData("problem", problem.orElse("none")).build();
        }
    }
}
