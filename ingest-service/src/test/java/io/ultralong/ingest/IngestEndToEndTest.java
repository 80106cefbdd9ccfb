package io.ultralong.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.ultralong.ingest.IngestWorkload.Invalid;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.testkit.KafkaBroker;
import io.ultralong.testkit.KafkaBrokerExtension;

/**
 * The whole service on the real in-JVM broker: 100,000 records over 1,000 sessions (plain text and JSON, short lines
 * to multi-chunk pages, non-ASCII text, 1.5% invalid records of six kinds, 0.1% deletes) end with every session's
 * token sequence equal to tokenizing its valid records in order, and the DLQ holding exactly the invalid ones.
 */
@ExtendWith(KafkaBrokerExtension.class)
class IngestEndToEndTest {

    private static final int RECORDS = 100_000;
    private static final int SESSIONS = 1_000;
    private static final int MAX_RECORD_BYTES = 16 * 1024;
    private static final int MAX_CHUNK_TOKENS = 256;

    @Test
    void everySessionEndsWithItsValidRecordsTokenizedInOrder(KafkaBroker broker, @TempDir Path stateDir) throws Exception {
        String prefix = KafkaBroker.uniqueName("e2e") + ".";
        Topics topics = new Topics(prefix);
        IngestSettings settings = IngestSettings.defaults(broker.bootstrapServers(), TestTokenizer.directory())
                .withApplicationId(KafkaBroker.uniqueName("ingest-e2e"))
                .withTopicPrefix(prefix)
                .withTopics(true, 4)
                .withLimits(MAX_RECORD_BYTES, MAX_CHUNK_TOKENS)
                .withStateDir(stateDir);
        List<IngestWorkload.InputRecord> workload = IngestWorkload.generate(RECORDS, SESSIONS, MAX_RECORD_BYTES, 42);
        WorkloadProducer.Positions positions = new WorkloadProducer.Positions(RECORDS);

        try (IngestApplication ingest = IngestApplication.start(settings);
             WorkloadProducer producer = new WorkloadProducer(broker.clientProperties(), MAX_RECORD_BYTES);
             ModelTokenizer tokenizer = TestTokenizer.load()) {
            long start = System.nanoTime();
            producer.send(topics.records(), workload, 0, RECORDS, positions);
            long produced = System.nanoTime();

            OutputVerifier verifier = new OutputVerifier(broker.clientProperties());
            List<ConsumerRecord<byte[], byte[]>> tokens = verifier.readCommitted(topics.tokens(),
                    OutputVerifier.expectedTokenEvents(workload), true, Duration.ofMinutes(3));
            long invalid = workload.stream().filter(r -> r.expectation() instanceof Invalid).count();
            List<ConsumerRecord<byte[], byte[]>> dlq = verifier.readCommitted(topics.recordsDlq(), invalid, false,
                    Duration.ofMinutes(1));

            long consumed = System.nanoTime();
            long verifiedTokens = verifier.verifyTokens(tokens, workload, positions, tokenizer);
            verifier.verifyDlq(dlq, workload, positions, topics.records());
            assertThat(invalid).isGreaterThan(1000);
            assertThat(tokens.stream().filter(r -> r.value() == null).count()).as("deletes on ul.tokens")
                    .isEqualTo(workload.stream().filter(r -> r.expectation() instanceof IngestWorkload.Delete).count())
                    .isGreaterThan(50);
            assertThat(verifiedTokens).isGreaterThan(RECORDS);
            System.out.printf("verified %d chunks, %d tokens, %d DLQ records; produce %d ms, until all output %d ms,"
                    + " verification %d ms%n", tokens.size(), verifiedTokens, dlq.size(), (produced - start) / 1_000_000,
                    (consumed - start) / 1_000_000, (System.nanoTime() - consumed) / 1_000_000);
        }
    }
}
