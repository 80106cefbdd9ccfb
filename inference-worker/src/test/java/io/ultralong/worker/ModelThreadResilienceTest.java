package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.store.ContextStore;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import io.ultralong.worker.query.AnswerEngine;
import io.ultralong.worker.query.QueryJob;
import io.ultralong.worker.session.StoreSessionLedger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model thread outlives any one job's failure, and liveness sees a model thread that hangs. A worker node on the
 * real broker and a real store, with an engine that fails the way a broken job does: an exception, a
 * StackOverflowError, a call that never returns.
 */
@ExtendWith(KafkaBrokerExtension.class)
class ModelThreadResilienceTest {

    /** Answers "ok", and fails or hangs on the questions that say so. */
    static final class FaultyEngine implements AnswerEngine {
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public ResponseEvent answer(QueryJob job, Consumer<ResponseEvent> events) {
            String id = job.request().requestId();
            switch (job.request().question()) {
                case "throw" -> throw new IllegalStateException("a broken job");
                case "overflow" -> overflow(0);
                case "hang" -> {
                    try {
                        release.await(2, TimeUnit.MINUTES);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                default -> {
                }
            }
            events.accept(new ResponseEvent.Token(id, 0, "ok"));
            return new ResponseEvent.Done(id, "ok", "stop", new ResponseEvent.Usage(1, 0, 1, 1),
                    new ResponseEvent.Timings(0, 0, 0, 0), "faulty", true);
        }

        private static int overflow(int depth) {
            return overflow(depth + 1) + 1;
        }
    }

    @Test
    void failedJobsAreAnsweredWithAnErrorAndTheNextOneRuns(KafkaBroker broker, @TempDir Path dir) throws Exception {
        FaultyEngine engine = new FaultyEngine();
        try (WorkerHarness harness = new WorkerHarness(broker);
             ContextStore store = ContextStore.open(dir.resolve("store"));
             WorkerNode node = new WorkerNode(harness.settings("faulty", dir, Duration.ofSeconds(10)),
                     new StoreSessionLedger(store), engine).start()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.tokens().owned().size() == WorkerHarness.PARTITIONS);
            // only sessions that exist reach the engine (others answer session-not-found)
            long acme = harness.create("acme/s", "{}");
            long other = harness.create("other/s", "{}");

            ResponseEvent thrown = harness.terminal(harness.ask("acme/s", "throw", acme, 4), Duration.ofSeconds(30));
            assertThat(thrown).isInstanceOfSatisfying(ResponseEvent.Error.class, error -> {
                assertThat(error.code()).isEqualTo("internal");
                assertThat(error.message()).contains("a broken job");
            });
            // Today a StackOverflowError ends the model thread and every later query waits for ever.
            ResponseEvent overflowed = harness.terminal(harness.ask("acme/s", "overflow", acme, 4), Duration.ofSeconds(30));
            assertThat(overflowed).isInstanceOfSatisfying(ResponseEvent.Error.class,
                    error -> assertThat(error.message()).contains("StackOverflowError"));

            ResponseEvent next = harness.terminal(harness.ask("other/s", "hello", other, 4), Duration.ofSeconds(30));
            assertThat(next).isInstanceOf(ResponseEvent.Done.class);
            assertThat(node.scheduler().alive()).isTrue();
            assertThat(node.problem()).isEmpty();
        }
    }

    @Test
    void livenessTurnsDownWhileTheModelThreadHangsAndUpWhenItMovesAgain(KafkaBroker broker, @TempDir Path dir) throws Exception {
        FaultyEngine engine = new FaultyEngine();
        try (WorkerHarness harness = new WorkerHarness(broker);
             ContextStore store = ContextStore.open(dir.resolve("store"));
             WorkerNode node = new WorkerNode(harness.settings("hanging", dir, Duration.ofSeconds(10))
                     .withModelStallTimeout(Duration.ofSeconds(2)), new StoreSessionLedger(store), engine).start()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.tokens().owned().size() == WorkerHarness.PARTITIONS);
            // Idle for longer than the stall timeout is not a stall.
            await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> true);
            assertThat(node.problem()).isEmpty();

            String hung = harness.ask("acme/s", "hang", harness.create("acme/s", "{}"), 4);
            await().atMost(Duration.ofSeconds(30)).until(() -> node.problem().isPresent());
            assertThat(node.problem().get()).contains("no progress").contains(hung);
            assertThat(node.running()).isFalse();
            assertThat(node.scheduler().alive()).as("the thread lives; only the watchdog sees the hang").isTrue();

            engine.release.countDown();
            assertThat(harness.terminal(hung, Duration.ofSeconds(30))).isInstanceOf(ResponseEvent.Done.class);
            await().atMost(Duration.ofSeconds(10)).until(() -> node.problem().isEmpty());
        }
    }
}
