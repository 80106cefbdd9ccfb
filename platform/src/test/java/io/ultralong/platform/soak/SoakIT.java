package io.ultralong.platform.soak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.platform.EmbeddedKafkaBroker;
import io.ultralong.protocol.topics.CoPartitioning;
import io.ultralong.protocol.topics.TopicProvisioner;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.protocol.watch.WatchJson;
import io.ultralong.runtime.synthetic.DemoModel;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

/**
 * The fault-injection soak: a Kafka broker, ingest, two workers and the gateway, each its own OS process, under a
 * steady load of appends, queries and watches ({@link SoakLoad}); each component in turn is SIGKILLed and started
 * again once the rest has carried on without it. At the end it proves that no acknowledged record was lost or
 * duplicated (each session's committed token log on {@code ul.tokens} decodes to exactly its acknowledged records,
 * in order, with gapless seqs, and its worker counts exactly those records), that every query was answered or failed
 * with a clear error, and that every watch announced answers.
 *
 * <p>Short form (in {@code ./mvnw verify}): 5 kills, one per component. Long form, see docs/operations.md:
 * {@code -Dsoak.kills=25 -Dsoak.seconds=600}. Output and figures: {@code platform/target/soak/}.
 */
class SoakIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "soak.";
    private static final int PARTITIONS = 4;
    private static final Duration START_WITHIN = Duration.ofMinutes(3);

    private final int kills = Integer.getInteger("soak.kills", 5);
    /** Least run time: kills are spread over it (the short form just goes as fast as recovery allows). */
    private final Duration minimum = Duration.ofSeconds(Integer.getInteger("soak.seconds", 0));

    @Test
    void acknowledgedRecordsSurviveSigkillOfEveryComponentExactlyOnceAndInOrder() throws Exception {
        Path dir = Path.of("target", "soak").toAbsolutePath();
        deleteRecursively(dir);
        Files.createDirectories(dir);
        Path gatewayJar = Path.of("..", "api-gateway", "target", "quarkus-app", "quarkus-run.jar").toAbsolutePath().normalize();
        assertThat(gatewayJar).as("the packaged gateway (the reactor's package phase of api-gateway)").exists();
        Path model = DemoModel.ensure(dir.resolve("tiny-model"));
        int kafkaPort = EmbeddedKafkaBroker.freePort();
        int httpPort = EmbeddedKafkaBroker.freePort();
        String bootstrap = "localhost:" + kafkaPort;

        SoakProcess broker = new SoakProcess("broker", SoakProcess.java("768m", SoakComponent.class, "broker",
                dir.resolve("broker").toString(), Integer.toString(kafkaPort), Integer.toString(EmbeddedKafkaBroker.freePort())),
                SoakComponent.READY, dir);
        SoakProcess ingest = new SoakProcess("ingest", SoakProcess.java("384m", SoakComponent.class, "ingest",
                bootstrap, PREFIX, model.toString(), dir.resolve("ingest").toString()), SoakComponent.READY, dir);
        List<SoakProcess> workers = new ArrayList<>();
        for (String id : List.of("worker-a", "worker-b")) {
            workers.add(new SoakProcess(id, SoakProcess.java("768m", SoakComponent.class, "worker",
                    bootstrap, PREFIX, model.toString(), dir.resolve(id).toString(), id), SoakComponent.READY, dir));
        }
        SoakProcess gateway = new SoakProcess("gateway", List.of(SoakProcess.javaBinary(), "-Xmx384m",
                "-Dquarkus.http.port=" + httpPort, "-Dquarkus.http.host=127.0.0.1", "-Dkafka.bootstrap.servers=" + bootstrap,
                "-Dul.topics.prefix=" + PREFIX, "-Dul.auth.enabled=false", "-Dul.query.timeout=PT60S",
                // the tiny model's short records: watches every 48 tokens, below the production minimum of 256
                "-Dul.limits.min-every-tokens=1",
                "-jar", gatewayJar.toString()), "Listening on:", dir);
        List<SoakProcess> all = new ArrayList<>(List.of(broker, ingest, workers.get(0), gateway, workers.get(1)));
        // The order of the kills: the broker last in each round, so its restart is also tested under full load.
        List<SoakProcess> rotation = rotation(System.getProperty("soak.rotation", "ingest,worker-a,gateway,worker-b,broker"), all);

        String loadBefore = loadAverage();
        long started = System.nanoTime();
        List<String> killLog = new ArrayList<>();
        SoakLoad load = new SoakLoad("http://127.0.0.1:" + httpPort, 4);
        try {
            broker.start(START_WITHIN);
            createTopics(bootstrap);
            ingest.start(START_WITHIN);
            for (SoakProcess worker : workers) {
                worker.start(START_WITHIN);
            }
            gateway.start(START_WITHIN);
            load.prepare();
            load.start();
            awaitProgress(load, "the first appends and answers");

            long cycleNanos = minimum.toNanos() / Math.max(1, kills);
            for (int k = 0; k < kills; k++) {
                long cycleStart = System.nanoTime();
                SoakProcess victim = rotation.get(k % rotation.size());
                victim.killHard();
                long killed = System.nanoTime();
                victim.start(START_WITHIN);
                long restarted = System.nanoTime();
                awaitProgress(load, "recovery after killing " + victim.name());
                long recovered = System.nanoTime();
                killLog.add(String.format("kill %2d  %-8s  restart %5.1f s  recovered (3 batches and 1 answer later) %5.1f s",
                        k + 1, victim.name(), (restarted - killed) / 1e9, (recovered - killed) / 1e9));
                long left = cycleNanos - (System.nanoTime() - cycleStart);
                if (left > 0) {
                    await().pollDelay(Duration.ofNanos(left)).atMost(Duration.ofNanos(left).plusSeconds(5)).until(() -> true);
                }
            }
            load.stop();
            await("every batch acknowledged").atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1))
                    .until(load::finishPending);

            Map<String, List<String>> contexts = verifyTokenLogs(bootstrap, model, load);
            verifyWorkersCountExactlyTheAcknowledgedRecords(load);
            Map<String, Integer> watchAnswers = watchAnswers(bootstrap, load);
            double seconds = (System.nanoTime() - started) / 1e9;

            String report = report(load, killLog, contexts, watchAnswers, seconds, loadBefore, loadAverage());
            Files.writeString(dir.resolve("report.txt"), report, StandardCharsets.UTF_8);
            System.out.println(report);

            assertThat(load.unclear()).as("answers that were neither an answer nor a clear error").isEmpty();
            assertThat(load.queriesAnswered()).isPositive();
            watchAnswers.forEach((watch, count) -> assertThat(count).as("answers of watch " + watch).isPositive());
        } finally {
            for (SoakProcess process : all) {
                process.killHard();
            }
        }
    }

    /** The components named (comma-separated) in the order they are killed, round after round. */
    private static List<SoakProcess> rotation(String names, List<SoakProcess> all) {
        List<SoakProcess> rotation = new ArrayList<>();
        for (String name : names.split(",")) {
            rotation.add(all.stream().filter(p -> p.name().equals(name.trim())).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no component " + name + " in soak.rotation")));
        }
        return rotation;
    }

    /** Waits until 3 more batches are acknowledged and 1 more query is answered: the whole pipeline works again. */
    private static void awaitProgress(SoakLoad load, String what) {
        long batches = load.batchesAcknowledged();
        long answers = load.queriesAnswered();
        try {
            await(what).atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200))
                    .until(() -> load.batchesAcknowledged() >= batches + 3 && load.queriesAnswered() >= answers + 1);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("No " + what + " within 3 minutes: batches acknowledged " + batches + " -> "
                    + load.batchesAcknowledged() + ", queries answered " + answers + " -> " + load.queriesAnswered()
                    + ", query outcomes so far " + load.queryOutcomes() + "; logs in target/soak/", e);
        }
    }

    private static void createTopics(String bootstrap) throws Exception {
        Topics topics = new Topics(PREFIX);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            new TopicProvisioner(PARTITIONS, (short) 1, topics.defaultConfigs()).createMissing(admin, topics.all());
            assertThat(CoPartitioning.verify(admin, topics)).isEqualTo(PARTITIONS);
        }
    }

    /**
     * Reads every session's committed chunks from {@code ul.tokens} and checks them against what the load had
     * acknowledged: seqs 1..n without gap or repeat, and the text records, decoded, exactly the acknowledged ones in
     * order. Returns the number of duplicate markers (retries ingest dropped) per session.
     */
    private static Map<String, List<String>> verifyTokenLogs(String bootstrap, Path model, SoakLoad load) throws Exception {
        Map<String, List<io.ultralong.protocol.tokens.TokenChunk>> chunks = new HashMap<>();
        for (ConsumerRecord<String, byte[]> record : readAll(bootstrap, new Topics(PREFIX).tokens())) {
            chunks.computeIfAbsent(record.key(), k -> new ArrayList<>())
                    .add(record.value() == null ? null : io.ultralong.protocol.tokens.TokenChunkCodec.decode(record.value()));
        }
        Map<String, List<String>> markers = new LinkedHashMap<>();
        try (var tokenizer = io.ultralong.runtime.tokenizer.ModelTokenizer.load(model.resolve("tokenizer.json"))) {
            for (SoakLoad.SessionLoad session : load.sessions()) {
                String key = chunks.keySet().stream().filter(k -> k.endsWith("/" + session.id)).findFirst()
                        .orElseThrow(() -> new AssertionError("no chunks of " + session.id));
                List<io.ultralong.protocol.tokens.TokenChunk> log = chunks.get(key);
                assertThat(log).as(session.id + " was never deleted").doesNotContainNull();
                List<String> records = new ArrayList<>();
                List<String> sessionMarkers = new ArrayList<>();
                List<Integer> record = new ArrayList<>();
                for (int i = 0; i < log.size(); i++) {
                    var chunk = log.get(i);
                    assertThat(chunk.seq()).as(session.id + ": seqs are 1, 2, 3, ... without gap or repeat").isEqualTo(i + 1);
                    if (chunk.marker() != null) {
                        sessionMarkers.add(chunk.marker().getClass().getSimpleName());
                        continue;
                    }
                    for (int token : chunk.tokens()) {
                        record.add(token);
                    }
                    if (chunk.endOfRecord()) {
                        records.add(tokenizer.decode(record.stream().mapToInt(Integer::intValue).toArray(), false));
                        record.clear();
                    }
                }
                List<String> expected = new ArrayList<>();
                synchronized (session.acknowledged) {
                    session.acknowledged.forEach(text -> expected.add(text + "\n"));
                }
                assertThat(records).as(session.id + ": its context is its acknowledged records, each once, in order")
                        .containsExactlyElementsOf(expected);
                markers.put(session.id, sessionMarkers);
            }
        }
        return markers;
    }

    /** The owning worker's view: {@code records} of each session is exactly the number acknowledged. */
    private static void verifyWorkersCountExactlyTheAcknowledgedRecords(SoakLoad load) {
        for (SoakLoad.SessionLoad session : load.sessions()) {
            await(session.id + " fully applied").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(500))
                    .untilAsserted(() -> {
                        var response = load.get("/v1/sessions/" + session.id);
                        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                        assertThat(JSON.readTree(response.body()).path("records").asLong())
                                .isEqualTo(session.acknowledged.size());
                    });
        }
    }

    private static Map<String, Integer> watchAnswers(String bootstrap, SoakLoad load) throws Exception {
        Map<String, Integer> counts = new LinkedHashMap<>();
        load.sessions().forEach(s -> counts.put(s.watchId, 0));
        for (ConsumerRecord<String, byte[]> record : readAll(bootstrap, new Topics(PREFIX).answers())) {
            if (record.value() != null) {
                counts.computeIfPresent(WatchJson.decodeAnswer(record.value()).watchId(), (k, v) -> v + 1);
            }
        }
        return counts;
    }

    /** Every committed record of a topic, partition by partition in offset order. */
    private static List<ConsumerRecord<String, byte[]>> readAll(String bootstrap, String topic) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            await("reading " + topic).atMost(Duration.ofMinutes(1)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
                return partitions.stream().allMatch(p -> consumer.position(p) >= ends.get(p));
            });
        }
        return out;
    }

    private static String report(SoakLoad load, List<String> killLog, Map<String, List<String>> markers,
                                 Map<String, Integer> watchAnswers, double seconds, String loadBefore, String loadAfter) {
        StringBuilder out = new StringBuilder("\n=== soak: ").append(killLog.size()).append(" SIGKILLs in ")
                .append(String.format("%.0f", seconds)).append(" s ===\n");
        killLog.forEach(line -> out.append(line).append('\n'));
        long records = load.sessions().stream().mapToLong(s -> s.acknowledged.size()).sum();
        long duplicates = markers.values().stream().flatMap(List::stream).filter("Duplicate"::equals).count();
        out.append(String.format("appends: %d batches (%d records) acknowledged, %d attempts failed and were retried with"
                        + " their Idempotency-Key, %d retried records dropped by ingest as duplicates%n",
                load.batchesAcknowledged(), records, load.appendAttemptsFailed(), duplicates));
        out.append("records lost: 0, duplicated: 0 (every session's token log = its acknowledged records, in order)\n");
        out.append("queries: ").append(load.queryOutcomes()).append('\n');
        out.append("watch answers: ").append(watchAnswers).append('\n');
        out.append("load average before: ").append(loadBefore).append(", after: ").append(loadAfter).append('\n');
        return out.toString();
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static void deleteRecursively(Path dir) throws Exception {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
