package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.WorkerRequest;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the operator console asks a worker, on a real broker: the sessions of a partition (each listed
 * once, by the owner of its partition, filtered by tenant and search text) and the worker's status.
 */
@ExtendWith(KafkaBrokerExtension.class)
class WorkerInspectionTest {

    @Test
    void listsEachTenantSessionOnceAndReportsItsStatus(KafkaBroker broker, @TempDir Path data) throws Exception {
        Path modelDir = SyntheticModelWriter.write(data.resolve("model"), SyntheticModelSpec.tiny());
        Files.writeString(modelDir.resolve("README.md"), "---\nlicense: cc-by-nc-4.0\nlibrary_name: transformers\n---\n# tiny\n");
        try (WorkerHarness harness = new WorkerHarness(broker);
             Worker worker = Worker.start(harness.settings("inspect-1", data.resolve("worker"), Duration.ofSeconds(10)),
                     WorkerHarness.model(modelDir))) {
            harness.append("acme/app-log", new int[] {1, 2, 3, 4, 5});
            harness.append("acme/app-log", new int[] {6, 7});
            harness.append("acme/billing", new int[] {8, 9, 10});
            harness.append("globex/app-log", new int[] {11});

            await().atMost(Duration.ofSeconds(60)).until(() -> listAll(harness, "acme/", "").size() == 2);
            List<ResponseEvent.SessionSummary> acme = listAll(harness, "acme/", "");
            assertThat(acme).extracting(ResponseEvent.SessionSummary::key).containsExactlyInAnyOrder("acme/app-log", "acme/billing");
            ResponseEvent.SessionSummary log = acme.stream().filter(s -> s.key().equals("acme/app-log")).findFirst().orElseThrow();
            assertThat(log.records()).isEqualTo(2);
            assertThat(log.tokens()).isEqualTo(7);
            assertThat(log.cachedTokens()).isZero();
            assertThat(log.kvLocation()).as("nothing resident before a query").isEmpty();
            assertThat(listAll(harness, "acme/", "BILL")).extracting(ResponseEvent.SessionSummary::key).containsExactly("acme/billing");
            assertThat(listAll(harness, "globex/", "")).extracting(ResponseEvent.SessionSummary::key).containsExactly("globex/app-log");

            String requestId = UUID.randomUUID().toString();
            harness.sendTo(5, new WorkerRequest.WorkerStatus(requestId, "", System.currentTimeMillis() + 30_000));
            ResponseEvent.WorkerStatus status = (ResponseEvent.WorkerStatus) harness.terminal(requestId, Duration.ofSeconds(30));
            assertThat(status.workerId()).isEqualTo("inspect-1");
            assertThat(status.partitions()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
            assertThat(status.queueDepth()).isZero();
            assertThat(status.model()).isEqualTo("test-model");
            assertThat(status.licence()).isEqualTo("cc-by-nc-4.0");
            assertThat(status.device()).isEqualTo("cpu()");
            assertThat(status.demoModel()).isFalse();
        }
    }

    /** Asks every partition, as the gateway does, and joins the answers. */
    private static List<ResponseEvent.SessionSummary> listAll(WorkerHarness harness, String prefix, String contains) throws Exception {
        List<String> requestIds = new ArrayList<>();
        for (int partition = 0; partition < WorkerHarness.PARTITIONS; partition++) {
            String requestId = UUID.randomUUID().toString();
            requestIds.add(requestId);
            harness.sendTo(partition, new WorkerRequest.ListSessions(requestId, prefix, contains, System.currentTimeMillis() + 30_000));
        }
        List<ResponseEvent.SessionSummary> sessions = new ArrayList<>();
        for (int partition = 0; partition < requestIds.size(); partition++) {
            ResponseEvent.SessionList list = (ResponseEvent.SessionList) harness.terminal(requestIds.get(partition), Duration.ofSeconds(30));
            assertThat(list.partition()).isEqualTo(partition);
            sessions.addAll(list.sessions());
        }
        return sessions;
    }
}
