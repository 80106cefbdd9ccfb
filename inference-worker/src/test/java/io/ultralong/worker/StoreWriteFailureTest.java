package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.store.ContextStore;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker whose context store cannot write, with a real fault: the kernel refuses to grow the store's WAL (a
 * file-size limit, EFBIG, the same failure path in RocksDB as ENOSPC on a full disk). The token feed neither dies nor
 * skips: it pauses, readiness goes DOWN with the reason, queries on what is applied are still answered (KV that cannot
 * be persisted never fails one), and once writes succeed it applies what waited, readiness comes back, and what it
 * wrote after the failure survives a reopen of the store.
 */
@ExtendWith(KafkaBrokerExtension.class)
class StoreWriteFailureTest {

    private static final int BALLAST_MIB = 12;

    @Test
    void aStoreThatCannotWriteMakesTheWorkerUnreadyAndItCatchesUpOnceItCan(KafkaBroker broker, @TempDir Path dir)
            throws Exception {
        assumeTrue(FileSizeLimit.available(), "prlimit (util-linux) is needed to set a file-size limit");
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        Path data = dir.resolve("w1");
        int expectedTokens;
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"));
             Worker worker = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)), WorkerHarness.model(modelDir))) {
            int[] first = tokenizer.encode("[t] api: the deploy of build 41 finished with status OK\n");
            int[] other = tokenizer.encode("[t] db: the nightly backup of the orders table took 42 minutes\n");
            int[] during = tokenizer.encode("[t] api: disk usage on the worker reached 100 percent\n");
            long a1 = harness.append("acme/a", first);
            long b1 = harness.append("acme/b", other);
            assertThat(harness.terminal(harness.ask("acme/a", "Status?", a1, 4), Duration.ofSeconds(90)))
                    .isInstanceOf(ResponseEvent.Done.class);
            await().atMost(Duration.ofSeconds(30)).until(() -> worker.ledger().appliedSeq("acme/b") == b1);

            // Grow the WAL past the broker's preallocated 10 MiB index files, then forbid any file to grow further.
            byte[] mib = new byte[1 << 20];
            for (int i = 0; i < BALLAST_MIB; i++) {
                worker.store().putRecord("ballast", i, mib);
            }
            long walBytes = largestWal(data.resolve("store"));
            assertThat(walBytes).isGreaterThan(BALLAST_MIB * (long) mib.length);
            long a2;
            try (FileSizeLimit limit = FileSizeLimit.set(walBytes)) {
                a2 = harness.append("acme/a", during);
                await().atMost(Duration.ofSeconds(30)).until(() -> worker.node().readinessProblem().isPresent());
                assertThat(worker.node().readinessProblem().get()).startsWith("store-writes-failing").contains("File too large");
                assertThat(worker.node().problem()).as("liveness: the feed lives on").isEmpty();
                assertThat(worker.ledger().appliedSeq("acme/a")).as("nothing applied past the failure").isEqualTo(a1);

                // A query on what is applied is answered although its KV blocks cannot be persisted.
                ResponseEvent answer = harness.terminal(harness.ask("acme/b", "Status?", b1, 4), Duration.ofSeconds(90));
                assertThat(answer).isInstanceOf(ResponseEvent.Done.class);
                await().atMost(Duration.ofSeconds(30)).until(() -> worker.engine().kvPersistFailures() > 0);
                assertThat(worker.node().tokens().storeFailures()).isPositive();
                assertThat(worker.ledger().appliedSeq("acme/a")).isEqualTo(a1);
            }

            // Writes succeed again: the waiting record is applied, readiness comes back by itself.
            await().atMost(Duration.ofSeconds(60)).until(() -> worker.node().readinessProblem().isEmpty()
                    && worker.ledger().appliedSeq("acme/a") == a2);
            ResponseEvent after = harness.terminal(harness.ask("acme/a", "Status?", a2, 4), Duration.ofSeconds(90));
            assertThat(after).isInstanceOf(ResponseEvent.Done.class);
            expectedTokens = first.length + during.length;
            assertThat(worker.ledger().contextTokens("acme/a")).isEqualTo(expectedTokens);
            assertThat(worker.node().tokens().alive()).isTrue();
        }
        // RocksDB's recovery would stop at the torn WAL record the failure left: what came after must not depend on it.
        try (ContextStore store = ContextStore.open(data.resolve("store"))) {
            assertThat(store.readTokens("acme/a")).hasSize(expectedTokens);
        }
    }

    private static long largestWal(Path store) throws Exception {
        try (Stream<Path> files = Files.list(store)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".log")).mapToLong(f -> f.toFile().length()).max()
                    .orElseThrow();
        }
    }
}
