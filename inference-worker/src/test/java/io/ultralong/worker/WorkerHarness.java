package io.ultralong.worker;

import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import io.ultralong.protocol.kafka.TopicTail;
import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.SamplingParams;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.protocol.watch.WatchAnswer;
import io.ultralong.protocol.watch.WatchDefinition;
import io.ultralong.protocol.watch.WatchJson;
import io.ultralong.protocol.watch.WatchKeys;
import io.ultralong.testkit.KafkaBroker;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Plays the parts around the workers on a real broker: ingest (token chunks on {@code ul.tokens},
 * each session's seq and positions counted here) and the gateway (requests on {@code ul.requests},
 * events collected from {@code ul.responses}).
 */
final class WorkerHarness implements AutoCloseable {

    static final int PARTITIONS = 8;

    final String prefix = KafkaBroker.uniqueName("w") + ".";
    final String group = KafkaBroker.uniqueName("workers");
    private final KafkaBroker broker;
    private final KafkaProducer<String, byte[]> producer;
    private final Map<String, long[]> seqAndPosition = new HashMap<>();
    private final Map<String, List<ResponseEvent>> events = new ConcurrentHashMap<>();
    private final TopicTail responses;

    WorkerHarness(KafkaBroker broker) {
        this.broker = broker;
        broker.createTopics(PARTITIONS, prefix + "records", prefix + "tokens", prefix + "requests", prefix + "watches",
                prefix + "watch-progress");
        broker.createTopics(2, prefix + "responses", prefix + "answers", prefix + "tokens.dlq");
        this.producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(), new ByteArraySerializer());
        this.responses = new TopicTail(broker.bootstrapServers(), prefix + "responses", true, "harness-responses", record ->
                events.computeIfAbsent(record.key(), k -> new CopyOnWriteArrayList<>()).add(QueryJson.decodeEvent(record.value()))).start();
    }

    WorkerSettings settings(String workerId, Path dataDir, Duration sessionTimeout) {
        return new WorkerSettings(broker.bootstrapServers(), prefix, group, workerId, dataDir, sessionTimeout, 64);
    }

    static ModelSettings model(Path modelDir) {
        return new ModelSettings(Optional.of(modelDir), "cpu", 64, 32, 64L << 20, 0,
                ModelSettings.DEFAULT_SYSTEM_PROMPT, "test-model");
    }

    /** Appends one record's tokens to the session as ingest would: one chunk per 100 tokens, the last marked. */
    long append(String session, int[] tokens) throws Exception {
        long[] state = seqAndPosition.computeIfAbsent(session, s -> new long[] {0, 0});
        long sourceOffset = state[1] * 1000 + 7;   // increasing per session, like ul.records offsets
        for (int from = 0; from < tokens.length; from += 100) {
            int[] piece = java.util.Arrays.copyOfRange(tokens, from, Math.min(tokens.length, from + 100));
            boolean end = from + 100 >= tokens.length;
            TokenChunk chunk = new TokenChunk(++state[0], state[1], sourceOffset, end, piece);
            state[1] += piece.length;
            producer.send(new ProducerRecord<>(prefix + "tokens", session, TokenChunkCodec.encode(chunk))).get();
        }
        return sourceOffset;
    }

    /** Appends several records at once, without waiting between them (a burst); returns the last one's offset. */
    long appendAll(String session, List<int[]> records) {
        long[] state = seqAndPosition.computeIfAbsent(session, s -> new long[] {0, 0});
        long sourceOffset = -1;
        for (int[] tokens : records) {
            sourceOffset = state[1] * 1000 + 7;
            TokenChunk chunk = new TokenChunk(++state[0], state[1], sourceOffset, true, tokens);
            state[1] += tokens.length;
            producer.send(new ProducerRecord<>(prefix + "tokens", session, TokenChunkCodec.encode(chunk)));
        }
        producer.flush();
        return sourceOffset;
    }

    /** Writes the marker chunk ingest emits for a record it dead-lettered; returns the record's offset. */
    long reject(String session, String reason, String message) throws Exception {
        return marker(session, new TokenChunk.Marker.Rejected(reason, message));
    }

    /** Writes the marker chunk ingest emits for {@code POST /v1/sessions}; returns the record's offset. */
    long create(String session, String metadataJson) throws Exception {
        return marker(session, new TokenChunk.Marker.SessionCreated(metadataJson));
    }

    private long marker(String session, TokenChunk.Marker marker) throws Exception {
        long[] state = seqAndPosition.computeIfAbsent(session, s -> new long[] {0, 0});
        long sourceOffset = state[1] * 1000 + 7 + state[0];   // increasing per session, like ul.records offsets
        TokenChunk chunk = TokenChunk.marker(++state[0], state[1], sourceOffset, marker);
        producer.send(new ProducerRecord<>(prefix + "tokens", session, TokenChunkCodec.encode(chunk))).get();
        return sourceOffset;
    }

    /** Numbers the session's next chunk as its first again (its topic was recreated empty). */
    void restartNumbering(String session) {
        seqAndPosition.remove(session);
    }

    void delete(String session) throws Exception {
        producer.send(new ProducerRecord<>(prefix + "tokens", session, null)).get();
        seqAndPosition.remove(session);
    }

    /** Sends a greedy query and returns its request id. */
    String ask(String session, String question, long minSeq, int maxTokens) throws Exception {
        return ask(session, question, minSeq, maxTokens, Duration.ofMinutes(2));
    }

    String ask(String session, String question, long minSeq, int maxTokens, Duration deadline) throws Exception {
        String requestId = UUID.randomUUID().toString();
        QueryRequest request = new QueryRequest(requestId, session, question, null,
                new SamplingParams(maxTokens, 0.0, 1.0, 0, 1L), minSeq, null, System.currentTimeMillis() + deadline.toMillis(), true);
        producer.send(new ProducerRecord<>(prefix + "requests", session, QueryJson.encode(request))).get();
        return requestId;
    }

    /** Sends a greedy query whose record carries {@code headers} (a trace context, say); returns its request id. */
    String ask(String session, String question, long minSeq, int maxTokens, Duration deadline,
               Iterable<org.apache.kafka.common.header.Header> headers) throws Exception {
        String requestId = UUID.randomUUID().toString();
        QueryRequest request = new QueryRequest(requestId, session, question, null,
                new SamplingParams(maxTokens, 0.0, 1.0, 0, 1L), minSeq, null, System.currentTimeMillis() + deadline.toMillis(), true);
        producer.send(new ProducerRecord<>(prefix + "requests", null, session, QueryJson.encode(request), headers)).get();
        return requestId;
    }

    /** Sends {@code request} to one explicit partition of the requests topic (how the gateway inspects every partition). */
    void sendTo(int partition, io.ultralong.protocol.query.WorkerRequest request) throws Exception {
        producer.send(new ProducerRecord<>(prefix + "requests", partition, request.session(), QueryJson.encode(request))).get();
    }

    /** Waits for the request's terminal event. */
    ResponseEvent terminal(String requestId, Duration within) {
        return await().atMost(within).until(() -> events(requestId).stream().filter(ResponseEvent::terminal).findFirst(),
                Optional::isPresent).get();
    }

    /** Puts a watch definition on ul.watches, as the gateway does, and waits for the broker's acknowledgement. */
    void putWatch(WatchDefinition watch) throws Exception {
        producer.send(new ProducerRecord<>(prefix + "watches", WatchKeys.partitionOf(watch.session(), PARTITIONS),
                WatchKeys.key(watch.session(), watch.watchId()), WatchJson.encode(watch))).get();
    }

    /** Tails ul.answers from the start into {@code into}; the caller closes the tail. */
    TopicTail tailAnswers(String consumerGroup, List<WatchAnswer> into) {
        return new TopicTail(broker.bootstrapServers(), prefix + "answers", true, consumerGroup,
                record -> into.add(WatchJson.decodeAnswer(record.value()))).start();
    }

    List<ResponseEvent> events(String requestId) {
        List<ResponseEvent> list = events.get(requestId);
        return list == null ? List.of() : List.copyOf(list);
    }

    @Override
    public void close() {
        responses.close();
        producer.close();
    }
}
