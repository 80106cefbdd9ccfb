package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.query.SamplingParams;
import io.ultralong.protocol.watch.WatchAnswer;
import io.ultralong.protocol.watch.WatchDefinition;
import io.ultralong.protocol.watch.WatchJson;
import io.ultralong.protocol.watch.WatchKeys;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A partition moves with its watches: worker A evaluates a watch twice and is closed, a record arrives while no one
 * owns the partition, worker B (another store, empty) takes the partition and rebuilds the session from the log. B
 * must announce exactly one answer, over the record that arrived during the move: none of A's again (it would, counting
 * from its own empty view, while replaying the log), and not nothing.
 */
@ExtendWith(KafkaBrokerExtension.class)
class WatchTakeoverTest {

    static final String SESSION = "acme/app-log";

    @Test
    void theNextOwnerNeitherRepeatsNorSkipsAnAnnouncement(KafkaBroker broker, @TempDir Path dir) throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"));
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                     new ByteArraySerializer())) {
            List<WatchAnswer> answers = new CopyOnWriteArrayList<>();
            try (TopicTail tail = new TopicTail(broker.bootstrapServers(), harness.prefix + "answers", true, "takeover-answers",
                    record -> answers.add(WatchJson.decodeAnswer(record.value()))).start()) {
                int[] line = tokenizer.encode("[2026-11-25T10:00:00Z] api: GET /health 200 in 3 ms from 10.0.0.7\n");
                assertThat(line.length).as("each record crosses the watch's threshold").isGreaterThanOrEqualTo(30);
                WatchDefinition watch = new WatchDefinition("errors", SESSION, "Any errors?",
                        new SamplingParams(4, 0.0, 1.0, 0, 1L), 30, 0, null, 1);
                long first;
                long second;
                try (Worker a = Worker.start(harness.settings("a", dir.resolve("a"), Duration.ofSeconds(6)),
                        WorkerHarness.model(modelDir))) {
                    await().atMost(Duration.ofSeconds(60)).until(() -> a.node().tokens().owned().size() == WorkerHarness.PARTITIONS);
                    producer.send(new ProducerRecord<>(harness.prefix + "watches", WatchKeys.partitionOf(SESSION, WorkerHarness.PARTITIONS),
                            WatchKeys.key(SESSION, watch.watchId()), WatchJson.encode(watch))).get();
                    await().atMost(Duration.ofSeconds(30)).until(() -> a.node().watches().watches().size() == 1);
                    first = harness.append(SESSION, line);
                    await().atMost(Duration.ofSeconds(60)).until(() -> answers.size() == 1);
                    await().atMost(Duration.ofSeconds(30)).until(() -> a.node().scheduler().queued() == 0);
                    second = harness.append(SESSION, line);
                    await().atMost(Duration.ofSeconds(60)).until(() -> answers.size() == 2);
                }
                assertThat(answers).extracting(WatchAnswer::coveredSeq).containsExactly(first, second);

                // Arrives while the partition has no owner.
                long during = harness.append(SESSION, line);

                try (Worker b = Worker.start(harness.settings("b", dir.resolve("b"), Duration.ofSeconds(6)),
                        WorkerHarness.model(modelDir))) {
                    await().atMost(Duration.ofSeconds(90)).until(() -> answers.size() >= 3);
                    // Let B finish everything it would do: the whole log applied, no evaluation queued or running.
                    await().atMost(Duration.ofSeconds(60)).until(() -> b.ledger().appliedSeq(SESSION) == during
                            && b.node().scheduler().queued() == 0 && b.node().scheduler().currentRequestId() == null);
                    assertThat(answers).extracting(WatchAnswer::coveredSeq).containsExactly(first, second, during);
                    assertThat(b.node().watches().announced()).isEqualTo(1);
                    // Its answer prefilled only what A had not covered... on B's empty store, from scratch: all of it.
                    assertThat(answers.get(2).usage().contextTokens()).isGreaterThan(3L * line.length);
                }
            }
        }
    }
}
