package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * One tenant flooding a worker fills its share of the queue, not the queue: its excess is refused with
 * {@code unavailable}, another tenant's query is still taken, and it runs before the flooder's queued ones.
 * A worker node on the real broker and store; the engine holds the model on a latch so the queue fills.
 */
@ExtendWith(KafkaBrokerExtension.class)
class TenantQueueShareTest {

    /** Answers at once, except "hold", which keeps the model thread until released. Records what ran, in order. */
    static final class HoldingEngine implements AnswerEngine {
        final CountDownLatch holding = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final List<String> ran = new CopyOnWriteArrayList<>();

        @Override
        public ResponseEvent answer(QueryJob job, Consumer<ResponseEvent> events) {
            String id = job.request().requestId();
            ran.add(job.request().session() + ":" + job.request().question());
            if ("hold".equals(job.request().question())) {
                holding.countDown();
                try {
                    release.await(2, TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return new ResponseEvent.Done(id, "ok", "stop", new ResponseEvent.Usage(1, 0, 1, 1),
                    new ResponseEvent.Timings(0, 0, 0, 0), "holding", true);
        }
    }

    @Test
    void aFloodingTenantFillsItsShareAndAnotherTenantIsStillAnsweredFirst(KafkaBroker broker, @TempDir Path dir)
            throws Exception {
        HoldingEngine engine = new HoldingEngine();
        try (WorkerHarness harness = new WorkerHarness(broker);
             ContextStore store = ContextStore.open(dir.resolve("store"));
             WorkerNode node = new WorkerNode(harness.settings("share", dir, Duration.ofSeconds(10))
                     .withMaxQueuedQueriesPerTenant(2), new StoreSessionLedger(store), engine).start()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.tokens().owned().size() == WorkerHarness.PARTITIONS);
            long acme = harness.create("acme/flood", "{}");
            long globex = harness.create("globex/calm", "{}");

            String held = harness.ask("acme/flood", "hold", acme, 4);
            assertThat(engine.holding.await(30, TimeUnit.SECONDS)).as("the model took the first query").isTrue();
            List<String> flood = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                flood.add(harness.ask("acme/flood", "q" + i, acme, 4));
            }
            // acme holds its share of 2 (the running query and one queued): the other 6 are refused at once.
            await().atMost(Duration.ofSeconds(30)).until(() -> flood.stream()
                    .filter(id -> harness.events(id).stream().anyMatch(ResponseEvent::terminal)).count() == 6);
            List<String> refused = flood.stream()
                    .filter(id -> harness.events(id).stream().anyMatch(ResponseEvent::terminal)).toList();
            for (String id : refused) {
                assertThat(harness.terminal(id, Duration.ofSeconds(1))).isInstanceOfSatisfying(ResponseEvent.Error.class,
                        error -> {
                            assertThat(error.code()).isEqualTo("unavailable");
                            assertThat(error.message()).contains("Tenant 'acme' has 2 queries queued")
                                    .contains("its share of 2");
                        });
            }
            String queuedAcme = flood.stream().filter(id -> !refused.contains(id)).findFirst().orElseThrow();

            // The queue (64) has room for globex, though acme asked for 8.
            String calm = harness.ask("globex/calm", "hello", globex, 4);
            await().atMost(Duration.ofSeconds(30)).until(() -> node.scheduler().queued() == 3);
            assertThat(harness.events(calm)).noneMatch(ResponseEvent::terminal);

            engine.release.countDown();
            assertThat(harness.terminal(held, Duration.ofSeconds(30))).isInstanceOf(ResponseEvent.Done.class);
            assertThat(harness.terminal(calm, Duration.ofSeconds(30))).isInstanceOf(ResponseEvent.Done.class);
            assertThat(harness.terminal(queuedAcme, Duration.ofSeconds(30))).isInstanceOf(ResponseEvent.Done.class);
            // Tenants take turns: globex's first query goes ahead of acme's second, though it arrived later.
            assertThat(engine.ran).hasSize(3);
            assertThat(engine.ran.get(0)).isEqualTo("acme/flood:hold");
            assertThat(engine.ran.get(1)).isEqualTo("globex/calm:hello");
            assertThat(engine.ran.get(2)).startsWith("acme/flood:q");
            // Its share is free again once its queries are answered.
            await().atMost(Duration.ofSeconds(10)).until(() -> node.scheduler().queued() == 0);
            assertThat(harness.terminal(harness.ask("acme/flood", "again", acme, 4), Duration.ofSeconds(30)))
                    .isInstanceOf(ResponseEvent.Done.class);
        }
    }
}
