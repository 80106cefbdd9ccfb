package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.watch.WatchKeys;
import io.ultralong.runtime.generate.ChatFormat;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two workers share 8 partitions; one is a separate JVM killed with SIGKILL. Its sessions move to
 * the survivor, which rebuilds them from {@code ul.tokens} and answers them exactly as before,
 * requests caught in the handover included: every one ends with an answer, none hangs. Each worker
 * has its own store, so the survivor recomputes their KV; with a shared KV directory it restores
 * their full KV blocks from what the dead worker persisted there.
 */
@ExtendWith(KafkaBrokerExtension.class)
class WorkerHandoverTest {

    @ParameterizedTest(name = "shared KV directory: {0}")
    @ValueSource(booleans = {false, true})
    void killingAWorkerMovesItsSessionsToTheOtherWhichAnswersThemIdentically(boolean sharedKv, KafkaBroker broker,
                                                                               @TempDir Path dir) throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        List<String> sessions = new ArrayList<>();
        for (int i = 0; sessions.size() < 8; i++) {
            sessions.add("acme/session-" + i);
        }
        try (WorkerHarness harness = new WorkerHarness(broker);
             ModelTokenizer tokenizer = ModelTokenizer.load(modelDir.resolve("tokenizer.json"))) {
            Map<String, Long> lastSeq = new HashMap<>();
            for (String session : sessions) {
                lastSeq.put(session, harness.append(session, tokenizer.encode("[t] " + session + ": the deploy of build "
                        + session.hashCode() + " finished with status OK\n")));
            }
            Path sharedKvDir = sharedKv ? dir.resolve("shared-kv") : null;
            Process doomed = startWorkerProcess(harness, broker, "doomed", dir.resolve("doomed"), modelDir, sharedKvDir);
            ModelSettings model = sharedKv ? WorkerHarness.model(modelDir).withSharedKvDir(sharedKvDir) : WorkerHarness.model(modelDir);
            int suffixTokens = new ChatFormat(tokenizer).questionSuffix("Status?").length;
            try (Worker survivor = Worker.start(harness.settings("survivor", dir.resolve("survivor"), Duration.ofSeconds(6)),
                    model)) {
                // Cooperative rebalancing moves partitions in steps, possibly back and forth: wait for the
                // balanced split, after which the sticky assignor moves nothing while the members stay.
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> survivor.node().tokens().owned().size() == WorkerHarness.PARTITIONS / 2);
                Set<Integer> survivorPartitions = survivor.node().tokens().owned();
                Map<String, String> before = new HashMap<>();
                Map<String, Long> blocksOf = new HashMap<>();
                for (String session : sessions) {
                    ResponseEvent answer = harness.terminal(harness.ask(session, "Status?", lastSeq.get(session), 6), Duration.ofSeconds(90));
                    assertThat(answer).isInstanceOf(ResponseEvent.Done.class);
                    before.put(session, ((ResponseEvent.Done) answer).answer());
                    long sessionTokens = ((ResponseEvent.Done) answer).usage().contextTokens() - suffixTokens;
                    // Its full blocks and, when it ends inside one, its unfinished last block.
                    blocksOf.put(session, (sessionTokens + WorkerAnswerTest.BLOCK - 1) / WorkerAnswerTest.BLOCK);
                }

                if (sharedKv) {
                    // KV is persisted behind the answers: kill the worker only once every block is in the shared directory.
                    long blocks = before.keySet().stream().mapToLong(session -> blocksOf.get(session)).sum();
                    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> sharedBlockFiles(sharedKvDir) >= blocks);
                }
                assertThat(survivor.node().tokens().owned()).as("the split held while answering").isEqualTo(survivorPartitions);
                List<String> doomedSessions = sessions.stream()
                        .filter(s -> !survivorPartitions.contains(WatchKeys.partitionOf(s, WorkerHarness.PARTITIONS)))
                        .toList();
                assertThat(doomedSessions).as("some sessions live on the worker to be killed").isNotEmpty();

                // A request's offset is committed just after its answer: wait for that, or the new owner would
                // rightly answer the doomed worker's last requests again (at least once) and cache their sessions.
                await().atMost(Duration.ofSeconds(30)).until(() -> allRequestsCommitted(broker, harness));

                // Requests in flight at the kill: those on the dead worker's partitions wait for the new owner.
                doomed.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                Map<String, String> requests = new HashMap<>();
                for (String session : sessions) {
                    requests.put(session, harness.ask(session, "Status?", lastSeq.get(session), 6));
                }
                for (String session : sessions) {
                    ResponseEvent answer = harness.terminal(requests.get(session), Duration.ofSeconds(120));
                    assertThat(answer).as(session).isInstanceOf(ResponseEvent.Done.class);
                    ResponseEvent.Done done = (ResponseEvent.Done) answer;
                    assertThat(done.answer()).as(session).isEqualTo(before.get(session));
                    if (doomedSessions.contains(session)) {
                        // Rebuilt from ul.tokens on the survivor: its KV recomputed, or all of it restored.
                        long sessionTokens = done.usage().contextTokens() - suffixTokens;
                        assertThat(done.usage().cachedTokens()).as(session).isEqualTo(sharedKv ? sessionTokens : 0);
                    }
                }
                assertThat(survivor.node().tokens().owned()).hasSize(WorkerHarness.PARTITIONS);
                assertThat(survivor.store().statistics().kvSharedBlockHits() > 0).isEqualTo(sharedKv);
            } finally {
                doomed.destroyForcibly();
            }
        }
    }

    /** Block files in the shared KV directory ({@code <fingerprint>/<session hash>/<index>.kv}). */
    private static long sharedBlockFiles(Path sharedKvDir) throws java.io.IOException {
        try (var files = java.nio.file.Files.walk(sharedKvDir)) {
            return files.filter(file -> file.getFileName().toString().endsWith(".kv")).count();
        }
    }

    private static boolean allRequestsCommitted(KafkaBroker broker, WorkerHarness harness) throws Exception {
        String topic = harness.prefix + "requests";
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (int partition = 0; partition < WorkerHarness.PARTITIONS; partition++) {
            latest.put(new TopicPartition(topic, partition), OffsetSpec.latest());
        }
        Map<TopicPartition, OffsetAndMetadata> committed = broker.admin()
                .listConsumerGroupOffsets(harness.group + ".requests").partitionsToOffsetAndMetadata().get();
        var ends = broker.admin().listOffsets(latest).all().get();
        return ends.entrySet().stream().allMatch(end -> end.getValue().offset() == 0
                || (committed.get(end.getKey()) != null && committed.get(end.getKey()).offset() == end.getValue().offset()));
    }

    private static Process startWorkerProcess(WorkerHarness harness, KafkaBroker broker, String id, Path data, Path modelDir,
                                              Path sharedKvDir) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-Dai.djl.default_engine=PyTorch",
                "-cp", System.getProperty("java.class.path"), WorkerMain.class.getName(),
                broker.bootstrapServers(), harness.prefix, harness.group, id, data.toString(), modelDir.toString()));
        if (sharedKvDir != null) {
            command.add(sharedKvDir.toString());
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<Void> started = new CompletableFuture<>();
        Thread pump = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.startsWith("WORKER STARTED")) {
                        started.complete(null);
                    }
                }
            } catch (Exception e) {
                // the process was killed
            }
            started.completeExceptionally(new IllegalStateException("the worker process exited before starting"));
        });
        pump.setDaemon(true);
        pump.start();
        started.get(120, TimeUnit.SECONDS);
        return process;
    }
}
