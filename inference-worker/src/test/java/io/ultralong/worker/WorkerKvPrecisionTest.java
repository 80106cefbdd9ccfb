package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ul.worker.kv-precision=int8} end to end: the worker answers with quantised KV, persists its blocks (in the
 * unchanged f32 block format) and a restarted int8 worker restores them, while a worker at another precision never
 * reuses them (another fingerprint) and recomputes.
 */
@ExtendWith(KafkaBrokerExtension.class)
class WorkerKvPrecisionTest {

    private static final int BLOCK = 32;   // WorkerHarness.model

    @Test
    void int8KvIsRestoredByAnInt8WorkerAndRecomputedAtAnotherPrecision(KafkaBroker broker, @TempDir Path models,
            @TempDir Path data) throws Exception {
        Path modelDir = SyntheticModelWriter.write(models.resolve("tiny"), SyntheticModelSpec.tiny());
        ModelSettings int8 = WorkerHarness.model(modelDir).withPrecision("auto", "int8");
        String session = "acme/int8";
        String question = "Summarise.";
        try (WorkerHarness harness = new WorkerHarness(broker);
                ModelTokenizer tokenizer = ModelDirectory.resolve(modelDir).openTokenizer()) {
            long seq = harness.append(session,
                    tokenizer.encode("[2026-11-25T11:00:00Z] db: checkpoint complete; 4,096 pages written, 12 ms\n".repeat(4)));
            ResponseEvent.Done first;
            ResponseEvent.Done warm;
            try (Worker worker = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)), int8)) {
                first = done(harness.terminal(harness.ask(session, question, seq, 8), Duration.ofSeconds(60)));
                assertThat(first.usage().cachedTokens()).isZero();
                warm = done(harness.terminal(harness.ask(session, question, seq, 8), Duration.ofSeconds(60)));
            }
            try (Worker restarted = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)), int8)) {
                ResponseEvent.Done again = done(harness.terminal(harness.ask(session, question, seq, 8), Duration.ofSeconds(60)));
                assertThat(again.answer()).isEqualTo(first.answer());
                assertThat(again.usage().cachedTokens()).isPositive().isEqualTo(
                        (first.usage().contextTokens() - again.usage().prefilledTokens()));
                // Restored whole (its unfinished last block too): it computes only what a warm query computes.
                assertThat(again.usage().cachedTokens()).isEqualTo(warm.usage().cachedTokens());
                assertThat(again.usage().cachedTokens() % BLOCK).as("the session ends inside a block").isPositive();
                assertThat(restarted.store().statistics().kvBlockHits()).isEqualTo(again.usage().cachedTokens() / BLOCK + 1);
            }
            try (Worker f32 = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)), WorkerHarness.model(modelDir))) {
                ResponseEvent.Done plain = done(harness.terminal(harness.ask(session, question, seq, 8), Duration.ofSeconds(60)));
                assertThat(plain.usage().cachedTokens()).isZero();
                assertThat(plain.usage().prefilledTokens()).isEqualTo(plain.usage().contextTokens());
            }
        }
    }

    private static ResponseEvent.Done done(ResponseEvent event) {
        assertThat(event).isInstanceOf(ResponseEvent.Done.class);
        return (ResponseEvent.Done) event;
    }
}
