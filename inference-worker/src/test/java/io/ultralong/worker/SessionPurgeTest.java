package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A session's delete (its tombstone on ul.tokens) purges it from the worker at once: the token log, the session row,
 * the local KV block files and the shared KV tier's copies; another session's data stays.
 */
@ExtendWith(KafkaBrokerExtension.class)
class SessionPurgeTest {

    @Test
    void aDeletedSessionLeavesNothingInTheStoreNorInTheSharedKvTier(KafkaBroker broker, @TempDir Path dir) throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        Path shared = dir.resolve("shared-kv");
        Path data = dir.resolve("w1");
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"));
             Worker worker = Worker.start(harness.settings("w1", data, Duration.ofSeconds(10)),
                     WorkerHarness.model(modelDir).withSharedKvDir(shared))) {
            int[] secret = tokenizer.encode("[t] hr: the salary review of employee 4711 was approved at a 12 percent raise\n");
            for (String session : new String[] {"acme/deleted", "acme/kept"}) {
                long seq = harness.append(session, secret);
                assertThat(harness.terminal(harness.ask(session, "Status?", seq, 4), Duration.ofSeconds(90)))
                        .isInstanceOf(ResponseEvent.Done.class);
            }
            assertThat(worker.engine().awaitPersisted(Duration.ofSeconds(30))).isTrue();
            String deletedDir = sessionDirectory("acme/deleted");
            String keptDir = sessionDirectory("acme/kept");
            assertThat(blockFiles(shared, deletedDir)).isPositive();
            assertThat(blockFiles(data.resolve("store"), deletedDir)).isPositive();

            harness.delete("acme/deleted");
            await().atMost(Duration.ofSeconds(30)).until(() -> !worker.ledger().exists("acme/deleted"));
            assertThat(worker.store().readTokens("acme/deleted")).isEmpty();
            assertThat(worker.store().session("acme/deleted")).isNull();
            assertThat(blockFiles(shared, deletedDir)).as("shared KV tier").isZero();
            assertThat(blockFiles(data.resolve("store"), deletedDir)).as("local KV files").isZero();
            assertThat(worker.store().sharedPurgesPending()).isZero();

            assertThat(blockFiles(shared, keptDir)).isPositive();
            assertThat(worker.store().readTokens("acme/kept")).hasSize(secret.length);
        }
    }

    /** The store's directory name for a session's KV blocks: the SHA-256 of its id, in hex. */
    private static String sessionDirectory(String session) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(session.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /** KV block files under {@code root} in directories named for the session (any fingerprint). */
    private static long blockFiles(Path root, String sessionDirectory) throws Exception {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".kv")
                    && f.getParent().getFileName().toString().equals(sessionDirectory)).count();
        }
    }
}
