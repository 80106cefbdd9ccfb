package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.query.ResponseEvent;
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
 * One tenant's watch pattern must not stop the worker for the others: a pattern that backtracks for hours under
 * java.util.regex is matched in linear time, off the model thread, and the next tenant's query is answered.
 */
@ExtendWith(KafkaBrokerExtension.class)
class HostileWatchTest {

    /** Polynomial of degree 8 in the answer's length under a backtracking engine; linear under RE2. */
    static final String CATASTROPHIC = "(?s)(.*)(.*)(.*)(.*)(.*)(.*)(.*)(.*)\\x00";

    @Test
    void aCatastrophicPatternNeitherFreezesTheModelNorStopsOtherTenants(KafkaBroker broker, @TempDir Path dir) throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"));
             Worker worker = Worker.start(harness.settings("w1", dir.resolve("w1"), Duration.ofSeconds(10)),
                     WorkerHarness.model(modelDir))) {
            List<WatchAnswer> answers = new CopyOnWriteArrayList<>();
            try (TopicTail tail = harness.tailAnswers("answers-hostile", answers)) {
                int[] line = tokenizer.encode("[2026-11-25T10:00:00Z] api: GET /health 200 in 3 ms from 10.0.0.7\n");
                // Same session: both watches see the same (deterministic, greedy) answer.
                String session = "evil/log";
                harness.putWatch(new WatchDefinition("hostile", session, "Any errors?", sampling(), 1, 0, CATASTROPHIC, 1));
                harness.putWatch(new WatchDefinition("all", session, "Any errors?", sampling(), 1, 0, "(?s).", 2));
                // Written straight to Kafka, past the gateway's check: refused by the worker, never evaluated.
                harness.putWatch(new WatchDefinition("lookahead", session, "Any errors?", sampling(), 1, 0, "(?=x)", 3));
                await().atMost(Duration.ofSeconds(30)).until(() -> worker.node().watches().watches().size() == 3);

                harness.append(session, line);
                await().atMost(Duration.ofSeconds(60)).until(() -> worker.node().watches().evaluations() == 2);
                // The catch-all watch's answer shows the text the hostile pattern ran on was long enough to hurt.
                await().atMost(Duration.ofSeconds(60)).until(() -> answers.size() == 1);
                assertThat(answers.get(0).watchId()).isEqualTo("all");
                assertThat(answers.get(0).answer().length()).isGreaterThanOrEqualTo(8);

                // Another tenant's query is answered at once: the model thread is free.
                long seq = harness.append("good/log", line);
                String requestId = harness.ask("good/log", "What happened?", seq, 4);
                assertThat(harness.terminal(requestId, Duration.ofSeconds(60))).isInstanceOf(ResponseEvent.Done.class);
                assertThat(answers).extracting(WatchAnswer::watchId).containsExactly("all");
                assertThat(worker.node().watches().evaluations()).isEqualTo(2);
            }
        }
    }

    private static SamplingParams sampling() {
        return new SamplingParams(24, 0.0, 1.0, 0, 1L);
    }

}
