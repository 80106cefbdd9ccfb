package io.ultralong.worker.model;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;

import io.ultralong.protocol.query.ChatMessage;
import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.SamplingParams;
import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.runtime.generate.ChatFormat;
import io.ultralong.runtime.generate.GenerationParams;
import io.ultralong.runtime.generate.GenerationResult;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.store.ContextStore;
import io.ultralong.store.SessionInfo;
import io.ultralong.worker.query.AnswerEngine;
import io.ultralong.worker.query.QueryJob;
import org.rocksdb.RocksDBException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers queries with the model over the session's whole context, computing only what no cache
 * holds. For a session the KV cache covers {@code chat prefix + context tokens}; a query
 *
 * <ol>
 * <li>takes the session's cache from memory, or else restores its verified KV blocks from the context
 *     store (those whose chained token hashes still match the session's token log);</li>
 * <li>prefills the context tokens no cache holds, in chunks, with progress events, and persists the
 *     new full blocks;</li>
 * <li>appends the question on a fork of the cache (the session's cache never sees it) and generates.</li>
 * </ol>
 *
 * Runs on the scheduler's single model thread only.
 */
public final class ModelAnswerEngine implements AnswerEngine, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelAnswerEngine.class);

    private final LlamaRuntime runtime;
    private final ContextStore store;
    private final ChatFormat chat;
    private final ModelTokenizer tokenizer;
    private final String modelId;
    private final boolean demoModel;
    private final int[] sessionPrefix;
    private final Set<Integer> stopTokenIds;
    private final byte[] fingerprint;
    private final int blockTokens;
    private final SessionKvCaches caches;
    private final Queue<String> deletedSessions = new ConcurrentLinkedQueue<>();
    private final Queue<Integer> releasedPartitions = new ConcurrentLinkedQueue<>();
    /** What the caches hold, published by the model thread for readers on other threads. */
    private volatile Map<String, Long> cachedLengths = Map.of();
    private final WorkerMetrics metrics;

    /**
     * @param stopTokenIds the ids that end an answer ({@code StopTokens.of}: eos of the model's configs, eot, eom)
     */
    public ModelAnswerEngine(LlamaRuntime runtime, Set<Integer> stopTokenIds, ContextStore store, String systemPrompt,
                             String modelId, boolean demoModel, long kvMemoryBytes, WorkerMetrics metrics) {
        this.runtime = runtime;
        this.store = store;
        this.tokenizer = runtime.tokenizer();
        this.chat = new ChatFormat(tokenizer);
        this.modelId = modelId;
        this.demoModel = demoModel;
        this.sessionPrefix = chat.sessionPrefix(systemPrompt);
        this.stopTokenIds = Set.copyOf(stopTokenIds);
        this.fingerprint = runtime.fingerprint().getBytes(StandardCharsets.US_ASCII);
        this.blockTokens = runtime.options().kvBlockTokens();
        this.caches = new SessionKvCaches(kvMemoryBytes, runtime.kvBytesPerToken());
        this.metrics = metrics;
    }

    /** The session was deleted: its in-memory cache goes before the next query (any thread). */
    public void sessionDeleted(String session) {
        deletedSessions.add(session);
    }

    /** Partitions given up: their sessions' caches go before the next query (any thread). */
    @Override
    public void partitionsReleased(Collection<Integer> partitions) {
        releasedPartitions.addAll(partitions);
    }

    /** Applies deletes and released partitions: only the model thread touches the caches. */
    private void forgetStaleCaches() {
        boolean dropped = false;
        for (String deleted = deletedSessions.poll(); deleted != null; deleted = deletedSessions.poll()) {
            dropped |= caches.drop(deleted);
        }
        Set<Integer> released = new HashSet<>();
        for (Integer partition = releasedPartitions.poll(); partition != null; partition = releasedPartitions.poll()) {
            released.add(partition);
        }
        dropped |= caches.dropPartitions(released);
        if (dropped) {
            cachedLengths = caches.lengths();
        }
    }

    @Override
    public ResponseEvent answer(QueryJob job, Consumer<ResponseEvent> events) {
        forgetStaleCaches();
        QueryRequest request = job.request();
        long started = System.nanoTime();
        long queuedMs = (started - job.arrivalNanos()) / 1_000_000;
        try {
            // Read the counters first: the token feed may append meanwhile, and the answer must say what it saw.
            SessionInfo info = store.session(request.session());
            long lastSeq = info == null ? -1 : info.lastSourceOffset();
            long asOf = request.asOfSeq() == null ? lastSeq : Math.min(lastSeq, request.asOfSeq());
            int[] context = info == null ? new int[0] : store.readTokensUpToSourceOffset(request.session(), asOf);
            job.covered(asOf, context.length);
            int[] sessionTokens = concat(sessionPrefix, context);
            int[] suffix = suffixTokens(request);
            long promptTokens = (long) sessionTokens.length + suffix.length;
            if (promptTokens + request.sampling().maxTokens() > runtime.config().maxPositionEmbeddings()) {
                return new ResponseEvent.Error(request.requestId(), ErrorCode.CONTEXT_TOO_LONG.wireName(),
                        "The context (" + promptTokens + " tokens) plus maxTokens exceeds the model's "
                                + runtime.config().maxPositionEmbeddings() + " positions.");
            }

            Base base = sessionCache(request, job.partition(), sessionTokens);
            long cached = base.cachedTokens;
            long toPrefill = sessionTokens.length - base.cache.length() + suffix.length;
            long prefillStarted = System.nanoTime();
            ProgressReporter progress = new ProgressReporter(request.requestId(), toPrefill, events, job);
            try (KvCache fork = prefillContextAndFork(base, sessionTokens, progress)) {
                if (job.cancelled()) {
                    return null;
                }
                float[] logits = runtime.prefill(fork, suffix, progress.offset(toPrefill - suffix.length));
                long prefillMs = (System.nanoTime() - prefillStarted) / 1_000_000;
                metrics.prefilled(toPrefill, prefillMs);
                metrics.reused(cached);

                TokenStream stream = new TokenStream(request.requestId(), events, job, started);
                long decodeStarted = System.nanoTime();
                GenerationResult result = runtime.generate(fork, logits, generationParams(request.sampling()), stream);
                long decodeMs = (System.nanoTime() - decodeStarted) / 1_000_000;
                metrics.decoded(result.answerTokens().length, decodeMs);
                if (job.cancelled()) {
                    return null;
                }
                if (job.pastDeadline() && "cancelled".equals(result.finishReason())) {
                    return new ResponseEvent.Error(request.requestId(), ErrorCode.DEADLINE_EXCEEDED.wireName(),
                            "The query's deadline passed while generating (" + result.tokens().length + " tokens in).");
                }
                ResponseEvent.Usage usage = new ResponseEvent.Usage(cached + toPrefill, cached, toPrefill, result.answerTokens().length);
                ResponseEvent.Timings timings = new ResponseEvent.Timings(queuedMs, prefillMs,
                        stream.firstTokenMs < 0 ? prefillMs : stream.firstTokenMs, decodeMs);
                return new ResponseEvent.Done(request.requestId(), result.text(), result.finishReason(), usage, timings,
                        modelId, demoModel);
            } finally {
                if (base.temporary) {
                    base.cache.close();
                }
                caches.shrink(request.session());
                cachedLengths = caches.lengths();
            }
        } catch (CancellationException e) {
            return null;   // the client went away mid-prefill; the chunks done stay cached
        } catch (RuntimeException e) {
            // A failure inside a forward pass may leave the cache half-appended: start this session afresh.
            caches.drop(request.session());
            cachedLengths = caches.lengths();
            throw e;
        } catch (RocksDBException e) {
            throw new IllegalStateException("the context store failed", e);
        }
    }

    /** The cache the query starts from and how many of its tokens came from a cache (memory or store). */
    private record Base(KvCache cache, SessionKvCaches.Entry entry, long cachedTokens, boolean temporary) {
    }

    private Base sessionCache(QueryRequest request, int partition, int[] sessionTokens) throws RocksDBException {
        SessionKvCaches.Entry entry = caches.get(request.session());
        if (entry != null) {
            int common = commonPrefix(entry.tokens, sessionTokens);
            if (common == entry.tokens.length) {
                metrics.memoryHit();
                return new Base(entry.cache, entry, common, false);
            }
            if (request.asOfSeq() != null) {
                // An answer about the past: a throw-away copy, so the session's cache keeps the present.
                KvCache past = entry.cache.fork();
                past.truncate(common);
                metrics.memoryHit();
                return new Base(past, null, common, true);
            }
            // The log changed under the cache (deleted and re-created): keep what still matches.
            entry.cache.truncate(common);
            entry.tokens = Arrays.copyOf(sessionTokens, common);
            entry.persistedBlocks = Math.min(entry.persistedBlocks, common / blockTokens);
            return new Base(entry.cache, entry, common, false);
        }
        metrics.memoryMiss();
        KvCache cache = runtime.newCache();
        long restored;
        try {
            restored = store.readVerifiedKvBlocks(fingerprint, request.session(), sessionTokens, blockTokens,
                    (index, block) -> runtime.importBlock(cache, block));
        } catch (RuntimeException | RocksDBException e) {
            cache.close();
            throw e;
        }
        int restoredTokens = Math.toIntExact(restored * blockTokens);
        if (restored > 0) {
            LOG.info("Restored {} KV blocks ({} tokens) of {} from the context store", restored, restoredTokens, request.session());
        }
        if (request.asOfSeq() != null) {
            return new Base(cache, null, restoredTokens, true);
        }
        SessionKvCaches.Entry fresh = new SessionKvCaches.Entry(request.session(), partition, cache,
                Arrays.copyOf(sessionTokens, restoredTokens), Math.toIntExact(restored));
        caches.put(fresh);
        return new Base(cache, fresh, restoredTokens, false);
    }

    /**
     * Prefills the context no cache holds into the base cache and forks it. Full KV blocks are persisted
     * after every prefill chunk, so a long prefill that is cancelled or crashes keeps what it computed.
     */
    private KvCache prefillContextAndFork(Base base, int[] sessionTokens, ProgressReporter progress) throws RocksDBException {
        long have = base.cache.length();
        if (have < sessionTokens.length) {
            PrefillListener persisting = (done, total) -> {
                if (base.entry != null) {
                    base.entry.tokens = Arrays.copyOf(sessionTokens, Math.toIntExact(base.cache.length()));
                    try {
                        persistNewBlocks(base.entry);
                    } catch (RocksDBException e) {
                        throw new IllegalStateException("the context store failed persisting KV blocks", e);
                    }
                }
                progress.onProgress(done, total);
            };
            runtime.prefill(base.cache, Arrays.copyOfRange(sessionTokens, Math.toIntExact(have), sessionTokens.length), persisting);
        }
        return base.cache.fork();
    }

    private void persistNewBlocks(SessionKvCaches.Entry entry) throws RocksDBException {
        int full = entry.cache.fullBlocks();
        for (int block = entry.persistedBlocks; block < full; block++) {
            store.putKvBlock(fingerprint, entry.session, block, entry.tokens, blockTokens, runtime.exportBlock(entry.cache, block));
            entry.persistedBlocks = block + 1;
        }
    }

    /** The prompt after the session's context: the question, or a conversation, then the assistant header. */
    private int[] suffixTokens(QueryRequest request) {
        if (request.question() != null) {
            return chat.questionSuffix(request.question());
        }
        List<ChatMessage> messages = request.messages();
        // The first user turn continues the context's user message; later turns get their own headers.
        StringBuilder first = new StringBuilder();
        int index = 0;
        for (; index < messages.size() && !messages.get(index).role().equals("assistant"); index++) {
            if (!first.isEmpty()) {
                first.append("\n\n");
            }
            first.append(messages.get(index).content());
        }
        if (index == messages.size()) {
            return chat.questionSuffix(first.toString());
        }
        int[] tokens = chat.questionSuffix(first.toString());
        for (ChatMessage message : messages.subList(index, messages.size())) {
            tokens = concat(tokens, message.role().equals("assistant")
                    // The assistant header is open already: its content closes that turn.
                    ? concat(tokenizer.encode(message.content()), new int[] {special("<|eot_id|>")})
                    : turn(message.role(), message.content()));
        }
        if (messages.get(messages.size() - 1).role().equals("assistant")) {
            tokens = concat(tokens, header("user"));
            tokens = concat(tokens, concat(tokenizer.encode("\n\n"), new int[] {special("<|eot_id|>")}));
        }
        return concat(tokens, concat(header("assistant"), tokenizer.encode("\n\n")));
    }

    /** {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>} */
    private int[] turn(String role, String content) {
        return concat(header(role), concat(tokenizer.encode("\n\n" + content), new int[] {special("<|eot_id|>")}));
    }

    private int[] header(String role) {
        return concat(concat(new int[] {special("<|start_header_id|>")}, tokenizer.encode(role)),
                new int[] {special("<|end_header_id|>")});
    }

    private int special(String token) {
        return tokenizer.requireSpecialTokenId(token);
    }

    private GenerationParams generationParams(SamplingParams sampling) {
        long seed = sampling.seed() == null ? System.nanoTime() : sampling.seed();
        return new GenerationParams(sampling.maxTokens(), sampling.temperature(), sampling.topP(), sampling.topK(), seed,
                stopTokenIds);
    }

    @Override
    public long cachedTokens(String session) {
        return cachedLengths.getOrDefault(session, 0L);
    }

    /** Bytes of KV held in memory (any thread). */
    public long kvMemoryBytes() {
        return cachedLengths.values().stream().mapToLong(Long::longValue).sum() * runtime.kvBytesPerToken();
    }

    @Override
    public void close() {
        caches.close();
    }

    private static int commonPrefix(int[] a, int[] b) {
        int mismatch = Arrays.mismatch(a, b);
        return mismatch < 0 ? a.length : mismatch;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
