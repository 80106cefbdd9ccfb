package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;

import io.ultralong.protocol.topics.CoPartitioning;
import io.ultralong.store.ContextStore;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import io.ultralong.worker.session.StoreSessionLedger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A worker refuses to run on tokens and requests topics whose partitions do not line up. */
@ExtendWith(KafkaBrokerExtension.class)
class WorkerCoPartitioningTest {

    @Test
    void refusesToStartWhenTokensAndRequestsDisagree(KafkaBroker broker, @TempDir Path dir) throws Exception {
        String prefix = KafkaBroker.uniqueName("skew") + ".";
        broker.createTopics(4, prefix + "tokens");
        broker.createTopics(3, prefix + "requests");
        WorkerSettings settings = new WorkerSettings(broker.bootstrapServers(), prefix, KafkaBroker.uniqueName("g"), "w1",
                dir, Duration.ofSeconds(10), 8);
        try (ContextStore store = ContextStore.open(dir.resolve("store"))) {
            assertThatThrownBy(() -> new WorkerNode(settings, new StoreSessionLedger(store), (job, events) -> null))
                    .isInstanceOf(CoPartitioning.CoPartitioningException.class)
                    .hasMessageContaining(prefix + "requests=3")
                    .hasMessageContaining(prefix + "tokens=4");
        }
    }

    @Test
    void aWorkerStartedBeforeItsTopicsChecksThemWhenTheyAppear(KafkaBroker broker, @TempDir Path dir) throws Exception {
        String prefix = KafkaBroker.uniqueName("late") + ".";
        WorkerSettings settings = new WorkerSettings(broker.bootstrapServers(), prefix, KafkaBroker.uniqueName("g"), "w1",
                dir, Duration.ofSeconds(10), 8);
        try (ContextStore store = ContextStore.open(dir.resolve("store"));
             WorkerNode node = new WorkerNode(settings, new StoreSessionLedger(store), (job, events) -> null).start()) {
            broker.createTopics(2, prefix + "requests", prefix + "watches", prefix + "responses", prefix + "answers");
            broker.createTopics(4, prefix + "tokens");
            await().atMost(Duration.ofSeconds(60)).until(() -> node.problem().isPresent());
            assertThat(node.problem().get()).startsWith("the token feed stopped: Topics")
                    .contains("must have the same number of partitions");
        }
    }
}
