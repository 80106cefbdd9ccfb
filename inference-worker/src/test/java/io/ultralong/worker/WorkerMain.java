package io.ultralong.worker;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/** A worker in a process of its own, for tests that kill it: {@code bootstrap prefix group id dataDir modelDir}. */
public final class WorkerMain {

    private WorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        WorkerSettings settings = new WorkerSettings(args[0], args[1], args[2], args[3], Path.of(args[4]),
                Duration.ofSeconds(6), 64);
        Worker worker = Worker.start(settings, WorkerHarness.model(Path.of(args[5])));
        System.out.println("WORKER STARTED " + worker.runtime().fingerprint());
        new CountDownLatch(1).await();   // until killed
    }
}
