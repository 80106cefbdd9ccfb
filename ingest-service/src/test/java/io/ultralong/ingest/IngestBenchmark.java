package io.ultralong.ingest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import io.ultralong.ingest.IngestWorkload.Valid;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;

/**
 * Sustained ingest throughput, produce -> committed on ul.tokens, against the tokenizer alone on the same context
 * texts. The broker is the in-JVM KRaft broker of the test kit, on the same machine. Not a test: run it with
 * {@code ./mvnw -B -q -pl ingest-service -am verify -DskipTests -Dquarkus.build.skip=true -Pingest-benchmark}
 * (options as system properties: {@code -Dbench.records}, {@code -Dbench.sessions}, {@code -Dbench.threads},
 * {@code -Dbench.partitions}, {@code -Dbench.tokenizer}=a model directory or tokenizer.json).
 */
public final class IngestBenchmark {

    private static final int MAX_RECORD_BYTES = 16 * 1024;

    private IngestBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int records = Integer.getInteger("bench.records", 200_000);
        int sessions = Integer.getInteger("bench.sessions", 1_000);
        int threads = Integer.getInteger("bench.threads", 1);
        int partitions = Integer.getInteger("bench.partitions", 4);
        String tokenizerOption = System.getProperty("bench.tokenizer", "");
        Path tokenizerPath = tokenizerOption.isBlank() ? TestTokenizer.directory() : Path.of(tokenizerOption);
        String tokenizerName = tokenizerOption.isBlank() ? "synthetic byte-level BPE, vocab 512" : tokenizerOption;

        List<IngestWorkload.InputRecord> warmup = IngestWorkload.generate(20_000, sessions, MAX_RECORD_BYTES, 1);
        List<IngestWorkload.InputRecord> measured = IngestWorkload.generate(records, sessions, MAX_RECORD_BYTES, 2);
        List<String> texts = measured.stream().filter(r -> r.expectation() instanceof Valid)
                .map(r -> ((Valid) r.expectation()).contextText()).toList();
        long inputBytes = measured.stream().mapToLong(r -> r.value() == null ? 0 : r.value().length).sum();

        Result alone;
        try (ModelTokenizer tokenizer = ModelTokenizer.load(tokenizerPath)) {
            tokenizeAll(tokenizer, texts.subList(0, Math.min(texts.size(), 20_000)));
            long start = System.nanoTime();
            long tokens = tokenizeAll(tokenizer, texts);
            alone = new Result(texts.size(), tokens, System.nanoTime() - start);
        }

        KafkaBroker broker = KafkaBroker.shared();
        String prefix = KafkaBroker.uniqueName("bench") + ".";
        Topics topics = new Topics(prefix);
        IngestSettings settings = IngestSettings.defaults(broker.bootstrapServers(), tokenizerPath)
                .withApplicationId(KafkaBroker.uniqueName("ingest-bench"))
                .withTopicPrefix(prefix)
                .withTopics(true, partitions)
                .withStreamThreads(threads)
                .withLimits(MAX_RECORD_BYTES, IngestSettings.DEFAULT_MAX_CHUNK_TOKENS)
                .withStateDir(Files.createTempDirectory("ul-ingest-bench-"));
        Result ingest;
        try (IngestApplication application = IngestApplication.start(settings);
             WorkloadProducer producer = new WorkloadProducer(broker.clientProperties(), MAX_RECORD_BYTES);
             OutputCounter output = new OutputCounter(broker.clientProperties(), topics.tokens())) {
            producer.send(topics.records(), warmup, 0, warmup.size(), new WorkloadProducer.Positions(warmup.size()));
            output.awaitRecordEnds(OutputVerifier.expectedTokenEvents(warmup));
            long tokensBefore = output.tokens;

            long start = System.nanoTime();
            Thread producing = new Thread(() -> producer.send(topics.records(), measured, 0, measured.size(),
                    new WorkloadProducer.Positions(measured.size())), "bench-producer");
            producing.start();
            output.awaitRecordEnds(OutputVerifier.expectedTokenEvents(warmup) + OutputVerifier.expectedTokenEvents(measured));
            long elapsed = System.nanoTime() - start;
            producing.join();
            ingest = new Result(texts.size(), output.tokens - tokensBefore, elapsed);
        }

        System.out.printf(Locale.ROOT, "%nIngest benchmark: %,d records (%,d valid, %.1f MB of values) over %,d sessions,"
                        + " %d partitions, %d stream thread(s), exactly_once_v2, commit 100 ms; tokenizer: %s; cores: %d%n",
                records, texts.size(), inputBytes / 1e6, sessions, partitions, threads, tokenizerName,
                Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "%-36s %12s %14s %10s%n", "measure", "records/s", "tokens/s", "seconds");
        print("tokenizer alone (1 thread)", alone);
        print("ingest produce -> ul.tokens", ingest);
        System.out.printf(Locale.ROOT, "%-36s %12.2f %14.2f%n", "ratio ingest / tokenizer",
                ingest.recordsPerSecond() / alone.recordsPerSecond(), ingest.tokensPerSecond() / alone.tokensPerSecond());
        System.exit(0);
    }

    private record Result(long records, long tokens, long nanos) {
        double recordsPerSecond() {
            return records / (nanos / 1e9);
        }

        double tokensPerSecond() {
            return tokens / (nanos / 1e9);
        }
    }

    private static void print(String name, Result result) {
        System.out.printf(Locale.ROOT, "%-36s %,12.0f %,14.0f %10.2f%n", name, result.recordsPerSecond(),
                result.tokensPerSecond(), result.nanos() / 1e9);
    }

    private static long tokenizeAll(ModelTokenizer tokenizer, List<String> texts) {
        long tokens = 0;
        for (String text : texts) {
            tokens += tokenizer.encode(text).length;
        }
        return tokens;
    }

    /** Reads ul.tokens as committed, counting record ends and tokens. */
    private static final class OutputCounter implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private long recordEnds;
        private long tokens;

        OutputCounter(Properties clientProperties, String topic) {
            Properties props = new Properties();
            props.putAll(clientProperties);
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
            consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
        }

        void awaitRecordEnds(long target) {
            long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
            while (recordEnds < target) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("ingest output stalled at " + recordEnds + " of " + target);
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    if (record.value() == null) {
                        recordEnds++;
                        continue;
                    }
                    TokenChunk chunk = TokenChunkCodec.decode(record.value());
                    tokens += chunk.tokens().length;
                    if (chunk.endOfRecord()) {
                        recordEnds++;
                    }
                }
            }
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
