package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code kv-disk-quota-bytes=0} means no quota: persisting one session's KV never evicts another's. */
@ExtendWith(KafkaBrokerExtension.class)
class KvDiskQuotaTest {

    @Test
    void aZeroQuotaKeepsEverySessionsPersistedKv(KafkaBroker broker, @TempDir Path dir) throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"));
             Worker worker = Worker.start(harness.settings("w1", dir.resolve("w1"), Duration.ofSeconds(10)),
                     WorkerHarness.model(modelDir))) {   // the harness's model settings have a quota of 0
            int[] line = tokenizer.encode("[2026-11-25T10:00:00Z] api: GET /health 200 in 3 ms from 10.0.0.7\n");
            for (String session : new String[] {"acme/a", "acme/b", "acme/c"}) {
                long seq = harness.append(session, line);
                assertThat(harness.terminal(harness.ask(session, "Any errors?", seq, 2), Duration.ofSeconds(60)))
                        .isInstanceOf(ResponseEvent.Done.class);
            }
            // Each session persisted at least one block (persistence may run behind the answer).
            await().atMost(Duration.ofSeconds(30)).until(() -> worker.store().statistics().kvBlocksWritten() >= 3);
            assertThat(worker.store().statistics().kvEvictions()).isZero();
        }
    }
}
