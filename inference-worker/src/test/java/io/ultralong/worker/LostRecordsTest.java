package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.protocol.watch.WatchKeys;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.store.ContextStore;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import io.ultralong.worker.kafka.TopicRetention;
import io.ultralong.worker.session.StoreSessionLedger;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker whose stored position no longer fits the tokens log, on the real broker: a topic recreated under it (the
 * stored position lies beyond the log end) is rebuilt from the new log, never answered from the old one; records
 * deleted before they were applied (the position lies before the log start) make the sessions that may lack them
 * answer {@code context-incomplete}, while a session written after the hole answers. And the retention rule checked at
 * start.
 */
@ExtendWith(KafkaBrokerExtension.class)
class LostRecordsTest {

    @Test
    void aTopicRecreatedUnderTheWorkerIsRebuiltFromTheNewLog(KafkaBroker broker, @TempDir Path dir) throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        String session = "acme/recreated";
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"))) {
            int[] old = tokenizer.encode("[t] api: an old record of the first topic\n");
            long last = 0;
            try (Worker worker = start(harness, dir, modelDir)) {
                for (int i = 0; i < 3; i++) {
                    last = harness.append(session, old);
                }
                long applied = last;
                await().atMost(Duration.ofSeconds(60)).until(() -> worker.ledger().appliedSeq(session) == applied);
                assertThat(worker.ledger().contextTokens(session)).isEqualTo(3L * old.length);
            }
            String tokens = harness.prefix + "tokens";
            broker.admin().deleteTopics(List.of(tokens)).all().get();
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
                broker.admin().createTopics(List.of(new NewTopic(tokens, WorkerHarness.PARTITIONS, (short) 1))).all().get();
                return true;
            });
            harness.restartNumbering(session);
            int[] fresh = tokenizer.encode("[t] db: the only record of the new topic, about backups\n");
            long freshSeq = harness.append(session, fresh);

            try (Worker worker = start(harness, dir, modelDir)) {
                ResponseEvent answer = harness.terminal(harness.ask(session, "Status?", freshSeq, 4), Duration.ofSeconds(90));
                assertThat(answer).isInstanceOf(ResponseEvent.Done.class);
                assertThat(worker.ledger().contextTokens(session)).as("only the new log's record").isEqualTo(fresh.length);
                assertThat(worker.store().readTokens(session)).containsExactly(fresh);
                assertThat(worker.node().tokens().partitionsRebuilt()).isEqualTo(1);
            }
        }
    }

    @Test
    void recordsDeletedBeforeTheyWereAppliedMakeTheirSessionsRefuseQueries(KafkaBroker broker, @TempDir Path dir)
            throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        String behind = "acme/behind";
        int partition = WatchKeys.partitionOf(behind, WorkerHarness.PARTITIONS);
        String later = sessionIn(partition, "acme/later-");
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"))) {
            int[] line = tokenizer.encode("[t] api: GET /health 200 in 3 ms\n");
            try (Worker worker = start(harness, dir, modelDir)) {
                long first = harness.append(behind, line);
                await().atMost(Duration.ofSeconds(60)).until(() -> worker.ledger().appliedSeq(behind) == first);
            }
            // While no worker runs: two more records of the session, then retention deletes the first of them.
            harness.append(behind, line);
            harness.append(behind, line);
            TopicPartition tokens = new TopicPartition(harness.prefix + "tokens", partition);
            long end = broker.admin().listOffsets(Map.of(tokens, OffsetSpec.latest())).all().get().get(tokens).offset();
            broker.admin().deleteRecords(Map.of(tokens, RecordsToDelete.beforeOffset(end - 1))).all().get();
            long laterSeq = harness.append(later, line);

            try (Worker worker = start(harness, dir, modelDir)) {
                ResponseEvent refused = harness.terminal(harness.ask(behind, "Status?", -1, 4), Duration.ofSeconds(90));
                assertThat(refused).isInstanceOf(ResponseEvent.Error.class);
                assertThat(((ResponseEvent.Error) refused).code()).isEqualTo(ErrorCode.CONTEXT_INCOMPLETE.wireName());
                assertThat(((ResponseEvent.Error) refused).message()).contains("tokens partition " + partition)
                        .contains("offsets 1 to " + (end - 2));
                assertThat(worker.node().tokens().partitionsWithLostRecords()).isEqualTo(1);

                ResponseEvent answered = harness.terminal(harness.ask(later, "Status?", laterSeq, 4), Duration.ofSeconds(90));
                assertThat(answered).as("a session written after the hole is whole").isInstanceOf(ResponseEvent.Done.class);
            }
        }
    }

    @Test
    void aFreshWorkerMarksASessionWhoseFirstRecordsWereDeletedIncomplete(KafkaBroker broker, @TempDir Path dir)
            throws Exception {
        String session = "acme/old";
        int partition = WatchKeys.partitionOf(session, WorkerHarness.PARTITIONS);
        try (WorkerHarness harness = new WorkerHarness(broker);
             ContextStore store = ContextStore.open(dir.resolve("store"))) {
            harness.append(session, new int[] {1, 2, 3});
            long second = harness.append(session, new int[] {4, 5});
            TopicPartition tokens = new TopicPartition(harness.prefix + "tokens", partition);
            broker.admin().deleteRecords(Map.of(tokens, RecordsToDelete.beforeOffset(1))).all().get();
            StoreSessionLedger ledger = new StoreSessionLedger(store);
            try (WorkerNode node = new WorkerNode(harness.settings("fresh", dir, Duration.ofSeconds(10)), ledger,
                    (job, events) -> null).start()) {
                await().atMost(Duration.ofSeconds(60)).until(() -> ledger.incomplete(session).isPresent());
                assertThat(ledger.incomplete(session).get()).contains("before seq 2").contains("offsets 0 to 0");
                assertThat(ledger.appliedSeq(session)).as("nothing applied over the hole").isLessThan(second);
                assertThat(ledger.contextTokens(session)).isZero();
            }
        }
    }

    @Test
    void aCompactedTokensTopicIsRefusedAndFiniteRetentionIsWarnedOf(KafkaBroker broker, @TempDir Path dir) {
        Topics compacted = new Topics(KafkaBroker.uniqueName("ret") + ".");
        broker.createTopics(List.of(
                new NewTopic(compacted.tokens(), 2, (short) 1).configs(Map.of("cleanup.policy", "compact")),
                new NewTopic(compacted.requests(), 2, (short) 1)));
        // A topic just created may take a moment to be described: until then it counts as absent (not checked).
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThatThrownBy(() -> TopicRetention.check(broker.admin(), compacted))
                        .isInstanceOf(TopicRetention.UnsafeRetentionException.class)
                        .hasMessageContaining("cleanup.policy=compact"));
        try (ContextStore store = ContextStore.open(dir.resolve("store"))) {
            WorkerSettings settings = new WorkerSettings(broker.bootstrapServers(), compacted.prefix(), "g", "w", dir,
                    Duration.ofSeconds(10), 8);
            assertThatThrownBy(() -> new WorkerNode(settings, new StoreSessionLedger(store), (job, events) -> null))
                    .isInstanceOf(TopicRetention.UnsafeRetentionException.class);
        } catch (org.rocksdb.RocksDBException e) {
            throw new IllegalStateException(e);
        }

        Topics finite = new Topics(KafkaBroker.uniqueName("ret") + ".");
        broker.createTopics(List.of(
                new NewTopic(finite.tokens(), 2, (short) 1).configs(Map.of("retention.ms", "604800000")),
                new NewTopic(finite.watches(), 2, (short) 1),
                new NewTopic(finite.records(), 2, (short) 1).configs(Map.of("retention.ms", "86400000"))));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(TopicRetention.check(broker.admin(), finite)).satisfiesExactlyInAnyOrder(
                    warning -> assertThat(warning).startsWith(finite.tokens()).contains("PT168H").contains("context-incomplete"),
                    warning -> assertThat(warning).startsWith(finite.watches()).contains("cleanup.policy=delete"));
            assertThat(TopicRetention.recordsRetention(broker.admin(), finite)).startsWith("PT24H");
        });

        Topics asCreated = new Topics(KafkaBroker.uniqueName("ret") + ".");
        broker.createTopics(asCreated.all().stream().map(name -> new NewTopic(name, 2, (short) 1)
                .configs(asCreated.defaultConfigs().getOrDefault(name, Map.of()))).toList());
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(TopicRetention.recordsRetention(broker.admin(), asCreated)).startsWith("forever");
            assertThat(TopicRetention.check(broker.admin(), asCreated)).as("the platform's own topics").isEmpty();
        });
    }

    private static Worker start(WorkerHarness harness, Path dir, Path modelDir) {
        return Worker.start(harness.settings("w1", dir.resolve("w1"), Duration.ofSeconds(10)), WorkerHarness.model(modelDir));
    }

    private static String sessionIn(int partition, String prefix) {
        for (int i = 0; ; i++) {
            if (WatchKeys.partitionOf(prefix + i, WorkerHarness.PARTITIONS) == partition) {
                return prefix + i;
            }
        }
    }
}
