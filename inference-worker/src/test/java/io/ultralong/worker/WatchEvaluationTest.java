package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.query.SamplingParams;
import io.ultralong.protocol.watch.WatchAnswer;
import io.ultralong.protocol.watch.WatchDefinition;
import io.ultralong.runtime.generate.ChatFormat;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Standing queries on a worker with the tiny model: evaluations at the token threshold, each
 * prefilling only the new tokens and the question; bursts coalesce; {@code notifyWhen} filters; a
 * watch survives its worker's restart.
 */
@ExtendWith(KafkaBrokerExtension.class)
class WatchEvaluationTest {

    static final String SESSION = "acme/app-log";
    static final String QUESTION = "Any errors?";

    @Test
    void watchesReanswerAsTheSessionGrows(KafkaBroker broker, @TempDir Path dir) throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"))) {
            List<WatchAnswer> answers = new CopyOnWriteArrayList<>();
            try (TopicTail tail = harness.tailAnswers("answers-test", answers)) {
                ChatFormat chat = new ChatFormat(tokenizer);
                int prefix = chat.sessionPrefix(ModelSettings.DEFAULT_SYSTEM_PROMPT).length;
                int suffix = chat.questionSuffix(QUESTION).length;
                int[] line = tokenizer.encode("[2026-11-25T10:00:00Z] api: GET /health 200 in 3 ms from 10.0.0.7\n");
                assertThat(line.length).isGreaterThanOrEqualTo(30);
                int[] shortLine = tokenizer.encode("[2026-11-25T10:00:05Z] db: slow query\n");
                assertThat(shortLine.length).as("half the threshold or more, below it").isBetween(15, 29);

                try (Worker worker = Worker.start(harness.settings("w1", dir.resolve("w1"), Duration.ofSeconds(10)),
                        WorkerHarness.model(modelDir))) {
                    harness.putWatch(new WatchDefinition("errors", SESSION, QUESTION, sampling(), 30, 0, null, 1));
                    await().atMost(Duration.ofSeconds(30)).until(() -> worker.node().watches().watches().size() == 1);

                    // One record over the threshold: one evaluation, over everything.
                    long first = harness.append(SESSION, line);
                    await().atMost(Duration.ofSeconds(60)).until(() -> answers.size() == 1);
                    WatchAnswer one = answers.get(0);
                    assertThat(one.watchId()).isEqualTo("errors");
                    assertThat(one.coveredSeq()).isEqualTo(first);
                    assertThat(one.usage().cachedTokens()).isZero();
                    assertThat(one.usage().prefilledTokens()).isEqualTo(prefix + line.length + suffix);

                    // The next one prefills only the new record and the question.
                    await().atMost(Duration.ofSeconds(30)).until(() -> worker.node().scheduler().queued() == 0);
                    long second = harness.append(SESSION, line);
                    await().atMost(Duration.ofSeconds(60)).until(() -> answers.size() == 2);
                    WatchAnswer two = answers.get(1);
                    assertThat(two.coveredSeq()).isEqualTo(second);
                    assertThat(two.usage().cachedTokens()).isEqualTo(prefix + line.length);
                    assertThat(two.usage().prefilledTokens()).isEqualTo(line.length + suffix);

                    assertThat(worker.node().watches().evaluations()).isEqualTo(2);

                    // A second watch whose notifyWhen never matches: evaluated, never announced.
                    harness.putWatch(new WatchDefinition("never", SESSION, QUESTION, sampling(), 30, 0, "a\\bb", 2));
                    await().atMost(Duration.ofSeconds(30)).until(() -> worker.node().watches().watches().size() == 2);

                    // A burst of ten records coalesces into few evaluations, the last covering the last record.
                    await().atMost(Duration.ofSeconds(30)).until(() -> worker.node().scheduler().queued() == 0);
                    long evaluationsBefore = worker.node().watches().evaluations();
                    List<int[]> burst = new ArrayList<>();
                    for (int i = 0; i < 10; i++) {
                        burst.add(line);
                    }
                    long last = harness.appendAll(SESSION, burst);
                    await().atMost(Duration.ofSeconds(90)).until(() -> !answers.isEmpty()
                            && answers.get(answers.size() - 1).coveredSeq() == last && worker.node().scheduler().queued() == 0);
                    long burstEvaluations = worker.node().watches().evaluations() - evaluationsBefore;
                    assertThat(burstEvaluations).isBetween(2L, 8L);   // two watches, at least one each; far fewer than 20
                    assertThat(answers).allMatch(a -> a.watchId().equals("errors"));   // "a\\bb" never matches

                    // Half a threshold's worth: applied, not evaluated.
                    long evaluationsBeforeShort = worker.node().watches().evaluations();
                    long shortSeq = harness.append(SESSION, shortLine);
                    await().atMost(Duration.ofSeconds(30)).until(() -> worker.ledger().appliedSeq(SESSION) == shortSeq);
                    assertThat(worker.node().watches().evaluations()).isEqualTo(evaluationsBeforeShort);
                }

                // After a restart the watch is still there and counts from its last evaluation, which the store
                // kept: the second half-threshold record completes the threshold and triggers it.
                int before = answers.size();
                try (Worker restarted = Worker.start(harness.settings("w1", dir.resolve("w1"), Duration.ofSeconds(10)),
                        WorkerHarness.model(modelDir))) {
                    await().atMost(Duration.ofSeconds(30)).until(() -> restarted.node().watches().watches().size() == 2
                            && restarted.node().tokens().owned().size() == WorkerHarness.PARTITIONS);
                    long after = harness.append(SESSION, shortLine);
                    await().atMost(Duration.ofSeconds(60)).until(() -> answers.size() > before
                            && answers.get(answers.size() - 1).coveredSeq() == after);
                    // The restarted worker's cache comes back from its store whole (the last evaluation's session:
                    // the prefix and twelve lines); it computes only the two short records and the question.
                    WatchAnswer resumed = answers.get(answers.size() - 1);
                    assertThat(resumed.usage().cachedTokens()).isEqualTo(prefix + 12L * line.length);
                    assertThat(resumed.usage().prefilledTokens()).isEqualTo(2L * shortLine.length + suffix);
                }
            }
        }
    }

    private static SamplingParams sampling() {
        return new SamplingParams(6, 0.0, 1.0, 0, 1L);
    }

}
