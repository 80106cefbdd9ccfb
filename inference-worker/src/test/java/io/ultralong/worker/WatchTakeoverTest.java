package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.query.SamplingParams;
import io.ultralong.protocol.watch.WatchAnswer;
import io.ultralong.protocol.watch.WatchDefinition;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Partitions move with their watches: worker A evaluates the watches of two sessions twice each and is closed; while
 * no one owns them, a record arrives for one session; worker B (another store, empty) takes the partitions and rebuilds
 * both sessions from the log. B announces one answer for the busy session, over the record of the move (not nothing),
 * and none for the quiet one until it gets a new record (counting from its own empty view it would evaluate the
 * replayed history and announce A's answer again).
 */
@ExtendWith(KafkaBrokerExtension.class)
class WatchTakeoverTest {

    static final String QUIET = "acme/quiet-log";
    static final String BUSY = "acme/busy-log";

    @Test
    void theNextOwnerNeitherRepeatsNorSkipsAnAnnouncement(KafkaBroker broker, @TempDir Path dir) throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"))) {
            List<WatchAnswer> answers = new CopyOnWriteArrayList<>();
            try (TopicTail tail = harness.tailAnswers("takeover-answers", answers)) {
                int[] line = tokenizer.encode("[2026-11-25T10:00:00Z] api: GET /health 200 in 3 ms from 10.0.0.7\n");
                assertThat(line.length).as("each record crosses the watch's threshold").isGreaterThanOrEqualTo(30);
                Map<String, List<Long>> expected = new HashMap<>();
                try (Worker a = Worker.start(harness.settings("a", dir.resolve("a"), Duration.ofSeconds(6)),
                        WorkerHarness.model(modelDir))) {
                    await().atMost(Duration.ofSeconds(60)).until(() -> a.node().tokens().owned().size() == WorkerHarness.PARTITIONS);
                    for (String session : List.of(QUIET, BUSY)) {
                        harness.putWatch(watch(session));
                    }
                    await().atMost(Duration.ofSeconds(30)).until(() -> a.node().watches().watches().size() == 2);
                    for (int round = 0; round < 2; round++) {
                        for (String session : List.of(QUIET, BUSY)) {
                            expected.computeIfAbsent(session, s -> new ArrayList<>()).add(harness.append(session, line));
                        }
                        int announced = 2 * (round + 1);
                        await().atMost(Duration.ofSeconds(90)).until(() -> answers.size() == announced
                                && a.node().scheduler().queued() == 0 && a.node().scheduler().currentRequestId() == null);
                    }
                }
                assertThat(coveredSeqs(answers, QUIET)).isEqualTo(expected.get(QUIET));
                assertThat(coveredSeqs(answers, BUSY)).isEqualTo(expected.get(BUSY));

                // While the partition has no owner a record arrives for one session; none for the other.
                expected.get(BUSY).add(harness.append(BUSY, line));

                try (Worker b = Worker.start(harness.settings("b", dir.resolve("b"), Duration.ofSeconds(6)),
                        WorkerHarness.model(modelDir))) {
                    // B rebuilds both sessions from the log (its store is empty): the busy one's new record is
                    // evaluated, the quiet one's history is not evaluated again.
                    await().atMost(Duration.ofSeconds(90)).until(() -> coveredSeqs(answers, BUSY).size() == 3);
                    await().atMost(Duration.ofSeconds(60)).until(() -> b.ledger().appliedSeq(QUIET) == expected.get(QUIET).get(1)
                            && b.node().scheduler().queued() == 0 && b.node().scheduler().currentRequestId() == null);
                    // One more record for the quiet session: its answer comes after anything B could have repeated.
                    expected.get(QUIET).add(harness.append(QUIET, line));
                    await().atMost(Duration.ofSeconds(90)).until(() -> coveredSeqs(answers, QUIET).contains(expected.get(QUIET).get(2)));
                    await().atMost(Duration.ofSeconds(60)).until(() -> b.node().scheduler().queued() == 0
                            && b.node().scheduler().currentRequestId() == null);

                    assertThat(coveredSeqs(answers, QUIET)).as("nothing of A's announced again").isEqualTo(expected.get(QUIET));
                    assertThat(coveredSeqs(answers, BUSY)).as("the record of the move announced").isEqualTo(expected.get(BUSY));
                    assertThat(b.node().watches().announced()).isEqualTo(2);
                }
            }
        }
    }

    private static List<Long> coveredSeqs(List<WatchAnswer> answers, String session) {
        return answers.stream().filter(answer -> answer.session().equals(session)).map(WatchAnswer::coveredSeq).toList();
    }

    private static WatchDefinition watch(String session) {
        return new WatchDefinition("errors", session, "Any errors?", new SamplingParams(4, 0.0, 1.0, 0, 1L), 30, 0, null, 1);
    }
}
