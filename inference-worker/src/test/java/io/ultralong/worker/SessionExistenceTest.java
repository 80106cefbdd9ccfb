package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker on a real broker with the generated tiny model: it answers only over sessions that exist,
 * and a record ingest dead-lettered (its marker chunk) releases the queries waiting for its offset,
 * which answer with a warning naming the reason instead of timing out.
 */
@ExtendWith(KafkaBrokerExtension.class)
class SessionExistenceTest {

    @TempDir
    static Path models;

    @Test
    void queriesOnMissingSessionsFailAndDeadLetteredRecordsDoNotStallQueries(KafkaBroker broker, @TempDir Path data)
            throws Exception {
        Path modelDir = SyntheticModelWriter.write(models.resolve("tiny"), SyntheticModelSpec.tiny());
        try (WorkerHarness harness = new WorkerHarness(broker);
             Worker worker = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)), WorkerHarness.model(modelDir))) {
            // Never written: an error, not an answer over an empty context.
            assertNotFound(harness.terminal(harness.ask("acme/never", "Anything?", -1, 4), Duration.ofSeconds(60)));

            // Created with no record: it exists, and its answer carries no warning.
            long created = harness.create("acme/empty", "{\"team\":\"sre\"}");
            ResponseEvent emptyAnswer = harness.terminal(harness.ask("acme/empty", "Anything?", created, 2), Duration.ofSeconds(60));
            assertThat(emptyAnswer).isInstanceOf(ResponseEvent.Done.class);
            assertThat(((ResponseEvent.Done) emptyAnswer).warnings()).isEmpty();

            // A record, then one ingest dead-lettered: a query waiting for the latter answers well before its deadline.
            harness.append("acme/log", new int[] {5, 6, 7});
            long rejected = harness.reject("acme/log", "invalid-field",
                    "\"ts\" must be an ISO-8601 string or epoch milliseconds, got \"yesterday\"");
            ResponseEvent answer = harness.terminal(
                    harness.ask("acme/log", "What failed?", rejected, 2, Duration.ofMinutes(5)), Duration.ofSeconds(60));
            assertThat(answer).isInstanceOf(ResponseEvent.Done.class);
            assertThat(((ResponseEvent.Done) answer).warnings()).singleElement().asString()
                    .contains("seq " + rejected, "invalid-field", "yesterday");

            // Deleted: gone for queries too.
            harness.delete("acme/log");
            ResponseEvent afterDelete = null;
            for (int attempt = 0; attempt < 50; attempt++) {   // the tombstone and the query race on separate topics
                afterDelete = harness.terminal(harness.ask("acme/log", "Still there?", -1, 2), Duration.ofSeconds(60));
                if (afterDelete instanceof ResponseEvent.Error) {
                    break;
                }
            }
            assertNotFound(afterDelete);
        }
    }

    private static void assertNotFound(ResponseEvent event) {
        assertThat(event).isInstanceOf(ResponseEvent.Error.class);
        assertThat(((ResponseEvent.Error) event).code()).isEqualTo("session-not-found");
    }
}
