package io.ultralong.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import io.ultralong.ingest.IngestWorkload.Delete;
import io.ultralong.ingest.IngestWorkload.InputRecord;
import io.ultralong.ingest.IngestWorkload.Invalid;
import io.ultralong.ingest.IngestWorkload.Valid;
import io.ultralong.protocol.records.RejectReason;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.runtime.tokenizer.ModelTokenizer;

/**
 * Reads {@code ul.tokens} and {@code ul.records.dlq} as committed (read_committed) and checks them against a
 * workload: every session's chunks are numbered 1, 2, 3, ... without gap or duplicate (restarting after a delete),
 * positions add up, each record's chunks carry its ul.records offset and concatenate to exactly the tokenizer's
 * output for its expected context text; the DLQ holds exactly the invalid records with their reasons.
 */
public final class OutputVerifier {

    private final Properties clientProperties;

    public OutputVerifier(Properties clientProperties) {
        this.clientProperties = clientProperties;
    }

    /** Number of "record ends" (last chunk of a record, or a delete) the workload must produce on ul.tokens. */
    public static long expectedTokenEvents(List<InputRecord> records) {
        return records.stream().filter(OutputVerifier::onTokensTopic).count();
    }

    /** Valid records, deletes, and rejected records of a session (as a marker chunk naming the reason). */
    private static boolean onTokensTopic(InputRecord record) {
        return record.expectation() instanceof Valid || record.expectation() instanceof Delete
                || (record.expectation() instanceof Invalid invalid && invalid.reason() != RejectReason.MISSING_KEY
                        && invalid.reason() != RejectReason.INVALID_KEY);
    }

    /** Consumes {@code topic} from the beginning until {@code isComplete} holds for what was read, or fails. */
    public List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic, long expectedEvents, boolean countRecordEnds,
                                                              Duration timeout) {
        Properties props = new Properties();
        props.putAll(clientProperties);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        List<ConsumerRecord<byte[], byte[]>> read = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long[] events = {0};
            await().atMost(timeout).pollInterval(Duration.ZERO).until(() -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    read.add(record);
                    if (!countRecordEnds || record.value() == null || TokenChunkCodec.decode(record.value()).endOfRecord()) {
                        events[0]++;
                    }
                }
                return events[0] >= expectedEvents;
            });
            // Anything beyond the expected output (a duplicate) would arrive now.
            consumer.poll(Duration.ofSeconds(1)).forEach(read::add);
        }
        return read;
    }

    /** Checks ul.tokens against the workload; returns the number of tokens verified. */
    public long verifyTokens(List<ConsumerRecord<byte[], byte[]>> tokenRecords, List<InputRecord> workload,
                             WorkloadProducer.Positions positions, ModelTokenizer tokenizer) {
        Map<String, List<Integer>> expectedBySession = new HashMap<>();
        for (int i = 0; i < workload.size(); i++) {
            InputRecord record = workload.get(i);
            if (onTokensTopic(record)) {
                expectedBySession.computeIfAbsent(record.session(), s -> new ArrayList<>()).add(i);
            }
        }
        Map<String, List<ConsumerRecord<byte[], byte[]>>> actualBySession = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : tokenRecords) {
            actualBySession.computeIfAbsent(new String(record.key(), StandardCharsets.UTF_8), s -> new ArrayList<>())
                    .add(record);
        }
        assertThat(actualBySession.keySet()).as("sessions on ul.tokens").isEqualTo(expectedBySession.keySet());
        long tokens = 0;
        for (var entry : expectedBySession.entrySet()) {
            tokens += verifySession(entry.getKey(), entry.getValue(), actualBySession.get(entry.getKey()), workload,
                    positions, tokenizer);
        }
        return tokens;
    }

    private static long verifySession(String session, List<Integer> expectedIndexes,
                                      List<ConsumerRecord<byte[], byte[]>> actual, List<InputRecord> workload,
                                      WorkloadProducer.Positions positions, ModelTokenizer tokenizer) {
        int next = 0;
        long expectedSeq = 1;
        long expectedPosition = 0;
        long tokens = 0;
        int[] recordTokens = new int[1024];
        int recordLength = 0;
        for (ConsumerRecord<byte[], byte[]> record : actual) {
            assertThat(next).as("session %s has more output than input", session).isLessThan(expectedIndexes.size());
            int index = expectedIndexes.get(next);
            InputRecord input = workload.get(index);
            if (record.value() == null) {
                assertThat(input.expectation()).as("session %s: tombstone where record %d was expected", session, index)
                        .isInstanceOf(Delete.class);
                expectedSeq = 1;
                expectedPosition = 0;
                next++;
                continue;
            }
            TokenChunk chunk = TokenChunkCodec.decode(record.value());
            if (input.expectation() instanceof Invalid invalid) {
                assertThat(chunk).as("session %s: the marker of rejected record %d", session, index)
                        .isEqualTo(TokenChunk.marker(expectedSeq, expectedPosition, positions.offsets()[index],
                                new TokenChunk.Marker.Rejected(invalid.reason().code(),
                                        ((TokenChunk.Marker.Rejected) chunk.marker()).message())));
                expectedSeq++;
                next++;
                continue;
            }
            assertThat(input.expectation()).as("session %s: chunk %s where a delete was expected", session, chunk)
                    .isInstanceOf(Valid.class);
            assertThat(chunk.seq()).as("session %s seq (no gap, no duplicate)", session).isEqualTo(expectedSeq);
            assertThat(chunk.firstPosition()).as("session %s first position of seq %d", session, chunk.seq())
                    .isEqualTo(expectedPosition);
            assertThat(chunk.sourceOffset()).as("session %s seq %d source offset", session, chunk.seq())
                    .isEqualTo(positions.offsets()[index]);
            assertThat(record.partition()).as("session %s partition", session).isEqualTo(positions.partitions()[index]);
            expectedSeq++;
            expectedPosition += chunk.tokens().length;
            if (recordLength + chunk.tokens().length > recordTokens.length) {
                recordTokens = Arrays.copyOf(recordTokens, 2 * (recordLength + chunk.tokens().length));
            }
            System.arraycopy(chunk.tokens(), 0, recordTokens, recordLength, chunk.tokens().length);
            recordLength += chunk.tokens().length;
            if (chunk.endOfRecord()) {
                int[] expected = tokenizer.encode(((Valid) input.expectation()).contextText());
                int[] actualTokens = Arrays.copyOf(recordTokens, recordLength);
                // Arrays.equals first: AssertJ's element-wise comparison of ~10M tokens would dominate the test.
                if (!Arrays.equals(expected, actualTokens)) {
                    assertThat(actualTokens).as("session %s tokens of record %d", session, index).containsExactly(expected);
                }
                tokens += expected.length;
                recordLength = 0;
                next++;
            }
        }
        assertThat(next).as("session %s: records applied", session).isEqualTo(expectedIndexes.size());
        assertThat(recordLength).as("session %s ends inside a record", session).isZero();
        return tokens;
    }

    /** Checks that the DLQ holds exactly the workload's invalid records, unchanged, with reason and origin. */
    public void verifyDlq(List<ConsumerRecord<byte[], byte[]>> dlqRecords, List<InputRecord> workload,
                          WorkloadProducer.Positions positions, String recordsTopic) {
        Map<String, Integer> invalidByPosition = new HashMap<>();
        for (int i = 0; i < workload.size(); i++) {
            if (workload.get(i).expectation() instanceof Invalid) {
                invalidByPosition.put(positions.partitions()[i] + "@" + positions.offsets()[i], i);
            }
        }
        assertThat(dlqRecords).as("DLQ records").hasSize(invalidByPosition.size());
        for (ConsumerRecord<byte[], byte[]> dlq : dlqRecords) {
            assertThat(header(dlq, IngestTopology.HEADER_TOPIC)).isEqualTo(recordsTopic);
            String position = header(dlq, IngestTopology.HEADER_PARTITION) + "@" + header(dlq, IngestTopology.HEADER_OFFSET);
            Integer index = invalidByPosition.remove(position);
            assertThat(index).as("DLQ record from %s is one of the invalid inputs, once", position).isNotNull();
            InputRecord input = workload.get(index);
            assertThat(header(dlq, IngestTopology.HEADER_REASON)).as("reason of record %d", index)
                    .isEqualTo(((Invalid) input.expectation()).reason().code());
            assertThat(header(dlq, IngestTopology.HEADER_MESSAGE)).isNotBlank();
            assertThat(dlq.key()).isEqualTo(input.key());
            assertThat(dlq.value()).isEqualTo(input.value());
        }
        assertThat(invalidByPosition).as("invalid records missing from the DLQ").isEmpty();
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        var header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
