package io.ultralong.ingest;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.BytesSerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

import io.ultralong.ingest.record.ContextTemplate;
import io.ultralong.protocol.records.InputRecord;
import io.ultralong.protocol.records.ParseResult;
import io.ultralong.protocol.records.RecordId;
import io.ultralong.protocol.records.RecordParser;
import io.ultralong.protocol.records.RejectReason;
import io.ultralong.protocol.records.SessionControl;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.protocol.topics.Topics;

/**
 * The ingest data flow, top to bottom: {@code ul.records} -> validate (rejects to {@code ul.records.dlq}) ->
 * deduplicate by record id -> format
 * with the template and tokenize -> number with the session's counters and cut into chunks -> {@code ul.tokens}.
 *
 * <p>Keys are kept as the producer's bytes end to end and the sink uses Kafka's default (murmur2 of the key)
 * partitioner, so with equal partition counts a session's chunks land in the same partition number as its records
 * (when producers use the default partitioner, as the gateway does). The counters and record-id stores are the state; with
 * {@code exactly_once_v2} their changelogs, the output and the input offsets commit in one transaction, which is what
 * makes seq gapless and duplicate-free across crashes.
 */
public final class IngestTopology {

    public static final String SESSION_COUNTERS_STORE = "session-counters";
    /** Per session, the ids of the records it has (SHA-256 of each id, see {@link RecordIdKey}). */
    public static final String RECORD_IDS_STORE = "session-record-ids";

    /** DLQ headers: the reason code, a human message, and where the record came from. */
    public static final String HEADER_REASON = "ul.dlq.reason";
    public static final String HEADER_MESSAGE = "ul.dlq.message";
    public static final String HEADER_TOPIC = "ul.dlq.topic";
    public static final String HEADER_PARTITION = "ul.dlq.partition";
    public static final String HEADER_OFFSET = "ul.dlq.offset";

    private static final String SOURCE = "records";
    private static final String VALIDATE = "validate";
    private static final String DEDUPLICATE = "deduplicate";
    private static final String DLQ_SINK = "records-dlq";
    private static final String FORMAT_AND_TOKENIZE = "format-and-tokenize";
    private static final String NUMBER_AND_CHUNK = "number-and-chunk";
    private static final String TOKENS_SINK = "tokens";

    private IngestTopology() {
    }

    /**
     * @param maxChunkTokens the most tokens one chunk on {@code ul.tokens} holds; longer records give several chunks
     */
    public static Topology build(Topics topics, RecordParser parser, ContextTemplate template, TextTokenizer tokenizer,
                                 int maxChunkTokens) {
        return build(topics, parser, template, tokenizer, maxChunkTokens, IngestMetrics.NONE);
    }

    /** As {@link #build(Topics, RecordParser, ContextTemplate, TextTokenizer, int)}, counting into {@code metrics}. */
    public static Topology build(Topics topics, RecordParser parser, ContextTemplate template, TextTokenizer tokenizer,
                                 int maxChunkTokens, IngestMetrics metrics) {
        if (maxChunkTokens < 1) {
            throw new IllegalArgumentException("maxChunkTokens must be positive");
        }
        Topology topology = new Topology();
        topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), topics.records());
        topology.addProcessor(VALIDATE, () -> new Validate(parser, metrics), SOURCE);
        topology.addSink(DLQ_SINK, topics.recordsDlq(), new ByteArraySerializer(), new ByteArraySerializer(), VALIDATE);
        topology.addProcessor(DEDUPLICATE, () -> new Deduplicate(metrics), VALIDATE);
        topology.addStateStore(Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(RECORD_IDS_STORE), Serdes.Bytes(), Serdes.ByteArray()), DEDUPLICATE);
        topology.addProcessor(FORMAT_AND_TOKENIZE, () -> new FormatAndTokenize(template, tokenizer), DEDUPLICATE);
        topology.addProcessor(NUMBER_AND_CHUNK, () -> new NumberAndChunk(maxChunkTokens, metrics), FORMAT_AND_TOKENIZE);
        topology.addStateStore(Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(SESSION_COUNTERS_STORE), Serdes.Bytes(), Serdes.ByteArray()),
                NUMBER_AND_CHUNK);
        topology.addSink(TOKENS_SINK, topics.tokens(), new ByteArraySerializer(), new ByteArraySerializer(),
                NUMBER_AND_CHUNK);
        return topology;
    }

    /** Sends rejects to the DLQ (same key and value bytes, reason in headers); valid records and deletes go on. */
    private static final class Validate extends ContextualProcessor<byte[], byte[], byte[], Object> {
        private final RecordParser parser;
        private final IngestMetrics metrics;

        Validate(RecordParser parser, IngestMetrics metrics) {
            this.parser = parser;
            this.metrics = metrics;
        }

        @Override
        public void process(Record<byte[], byte[]> record) {
            ParseResult result = SessionControl.isSessionCreation(record.headers())
                    ? parser.parseSessionCreation(record.key(), record.value())
                    : parser.parse(record.key(), record.value());
            if (result instanceof ParseResult.Accepted accepted) {
                context().forward(record.withValue(accepted.record()), DEDUPLICATE);
            } else if (result instanceof ParseResult.SessionCreated created) {
                context().forward(record.withValue(new TokenChunk.Marker.SessionCreated(created.metadataJson())),
                        DEDUPLICATE);
            } else if (result instanceof ParseResult.Deleted) {
                context().forward(record.withValue(null), DEDUPLICATE);
            } else if (result instanceof ParseResult.Rejected rejected) {
                metrics.recordRejected(rejected.reason());
                context().forward(record.withHeaders(dlqHeaders(record.headers(), rejected)), DLQ_SINK);
                if (rejected.reason() != RejectReason.MISSING_KEY && rejected.reason() != RejectReason.INVALID_KEY) {
                    // The record's offset still takes the session's next seq, as an empty marker chunk, so that a
                    // query waiting for that offset answers (naming the reason) instead of timing out.
                    context().forward(record.withValue(new TokenChunk.Marker.Rejected(rejected.reason().code(),
                            rejected.message())), DEDUPLICATE);
                }
            }
        }

        private Headers dlqHeaders(Headers original, ParseResult.Rejected rejected) {
            // Record headers are shared with the input record: copy before adding ours.
            Headers headers = new RecordHeaders(original.toArray());
            headers.add(HEADER_REASON, utf8(rejected.reason().code()));
            headers.add(HEADER_MESSAGE, utf8(rejected.message()));
            context().recordMetadata().ifPresent(source -> {
                headers.add(HEADER_TOPIC, utf8(source.topic()));
                headers.add(HEADER_PARTITION, utf8(Integer.toString(source.partition())));
                headers.add(HEADER_OFFSET, utf8(Long.toString(source.offset())));
            });
            return headers;
        }
    }

    /**
     * Drops a record whose id ({@link RecordId}: the {@code ul.record-id} header, else the JSON {@code id}) its
     * session already has, forwarding a {@link TokenChunk.Marker.Duplicate} instead so that the offset still
     * becomes visible to readers waiting for it. This is what makes a retried append (after a 503 whose records
     * had in fact reached Kafka) add each record once. The ids live in a state store whose changelog commits in
     * the same exactly-once transaction as the chunks, so a crash can neither forget an id nor keep one whose
     * chunks were lost. A delete forgets the session's ids with its counters.
     */
    private static final class Deduplicate extends ContextualProcessor<byte[], Object, byte[], Object> {
        private final IngestMetrics metrics;
        private KeyValueStore<Bytes, byte[]> ids;

        Deduplicate(IngestMetrics metrics) {
            this.metrics = metrics;
        }

        @Override
        public void init(ProcessorContext<byte[], Object> context) {
            super.init(context);
            this.ids = context.getStateStore(RECORD_IDS_STORE);
        }

        @Override
        public void process(Record<byte[], Object> record) {
            if (record.value() == null) {
                try (KeyValueIterator<Bytes, byte[]> known = ids.prefixScan(RecordIdKey.sessionPrefix(record.key()),
                        new BytesSerializer())) {
                    known.forEachRemaining(entry -> ids.delete(entry.key));
                }
                context().forward(record);
                return;
            }
            if (record.value() instanceof InputRecord input) {
                Optional<String> id = RecordId.of(record.headers(), input);
                if (id.isPresent()) {
                    Bytes key = RecordIdKey.of(record.key(), id.get());
                    if (ids.get(key) != null) {
                        metrics.recordDuplicate();
                        context().forward(record.withValue(new TokenChunk.Marker.Duplicate(id.get())));
                        return;
                    }
                    long offset = context().recordMetadata().map(RecordMetadata::offset).orElse(-1L);
                    ids.put(key, ByteBuffer.allocate(Long.BYTES).putLong(offset).array());
                }
            }
            context().forward(record);
        }
    }

    /** Record -> context text (template) -> token ids of the whole record; a delete (null) and a marker pass as they are. */
    private static final class FormatAndTokenize extends ContextualProcessor<byte[], Object, byte[], Object> {
        private final ContextTemplate template;
        private final TextTokenizer tokenizer;

        FormatAndTokenize(ContextTemplate template, TextTokenizer tokenizer) {
            this.template = template;
            this.tokenizer = tokenizer;
        }

        @Override
        public void process(Record<byte[], Object> record) {
            if (!(record.value() instanceof InputRecord input)) {
                context().forward(record);
                return;
            }
            String text = template.render(input);
            context().forward(record.withValue(tokenizer.encode(text)));
        }
    }

    /**
     * Gives the record's tokens the session's next seq numbers and positions, in chunks of at most
     * {@code maxChunkTokens}; a delete resets the session's counters and becomes a tombstone on {@code ul.tokens}.
     * A record whose text gives no token still yields one empty chunk, so that its source offset becomes visible to
     * readers waiting for it; so does a marker (a session's creation, a dead-lettered record), with the marker.
     */
    private static final class NumberAndChunk implements Processor<byte[], Object, byte[], byte[]> {
        private final int maxChunkTokens;
        private final IngestMetrics metrics;
        private ProcessorContext<byte[], byte[]> context;
        private KeyValueStore<Bytes, byte[]> counters;

        NumberAndChunk(int maxChunkTokens, IngestMetrics metrics) {
            this.maxChunkTokens = maxChunkTokens;
            this.metrics = metrics;
        }

        @Override
        public void init(ProcessorContext<byte[], byte[]> context) {
            this.context = context;
            this.counters = context.getStateStore(SESSION_COUNTERS_STORE);
        }

        @Override
        public void process(Record<byte[], Object> record) {
            Bytes session = Bytes.wrap(record.key());
            if (record.value() == null) {
                counters.delete(session);
                context.forward(record.withValue((byte[]) null));
                metrics.sessionDeleted();
                return;
            }
            long sourceOffset = context.recordMetadata().map(RecordMetadata::offset)
                    .orElseThrow(() -> new IllegalStateException("a record from ul.records has an offset"));
            SessionCounters next = SessionCounters.fromBytes(counters.get(session));
            if (record.value() instanceof TokenChunk.Marker marker) {
                TokenChunk chunk = TokenChunk.marker(next.nextSeq(), next.nextPosition(), sourceOffset, marker);
                context.forward(record.withValue(TokenChunkCodec.encode(chunk)));
                counters.put(session, new SessionCounters(next.nextSeq() + 1, next.nextPosition()).toBytes());
                return;
            }
            int[] tokens = (int[]) record.value();
            long seq = next.nextSeq();
            long position = next.nextPosition();
            int from = 0;
            do {
                int to = Math.min(tokens.length, from + maxChunkTokens);
                TokenChunk chunk = new TokenChunk(seq, position, sourceOffset, to == tokens.length,
                        Arrays.copyOfRange(tokens, from, to));
                context.forward(record.withValue(TokenChunkCodec.encode(chunk)));
                seq++;
                position += to - from;
                from = to;
            } while (from < tokens.length);
            counters.put(session, new SessionCounters(seq, position).toBytes());
            metrics.recordTokenized((int) (seq - next.nextSeq()), tokens.length);
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
