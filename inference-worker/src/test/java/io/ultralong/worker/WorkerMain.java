package io.ultralong.worker;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * A worker in a process of its own, for tests that kill it:
 * {@code bootstrap prefix group id dataDir modelDir [sharedKvDir]}.
 */
public final class WorkerMain {

    private WorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        WorkerSettings settings = new WorkerSettings(args[0], args[1], args[2], args[3], Path.of(args[4]),
                Duration.ofSeconds(6), 64);
        ModelSettings model = WorkerHarness.model(Path.of(args[5]));
        Worker worker = Worker.start(settings, args.length > 6 ? model.withSharedKvDir(Path.of(args[6])) : model);
        System.out.println("WORKER STARTED " + worker.runtime().fingerprint());
        new CountDownLatch(1).await();   // until killed
    }
}
