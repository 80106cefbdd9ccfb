package io.ultralong.worker.model;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
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

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
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
import io.ultralong.worker.query.QueryTrace;
import org.rocksdb.RocksDBException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers queries with the model over the session's whole context, computing only what no cache
 * holds. For a session the KV cache covers {@code chat prefix + context tokens}; a query
 *
 * <ol>
 * <li>checks that the session's KV fits the memory KV lives in, evicting other sessions' caches first,
 *     and refuses it ({@code context-exceeds-device-memory}) before any prefill when it cannot;</li>
 * <li>takes the session's cache from memory, or else restores its verified KV blocks from the context
 *     store (those whose chained token hashes still match the session's token log), reading and verifying
 *     on an I/O thread while the model thread imports ({@link KvRestorePipeline});</li>
 * <li>prefills the context tokens no cache holds, in chunks, with progress events, and hands the new full
 *     blocks to the write-behind persistence ({@link KvWriteBehind}): the store write never runs here;</li>
 * <li>appends the question on a fork of the cache (the session's cache never sees it) and generates.</li>
 * </ol>
 *
 * Runs on the scheduler's single model thread only.
 */
public final class ModelAnswerEngine implements AnswerEngine, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelAnswerEngine.class);
    /** How long a shutdown lets queued KV writes finish (at most the queue's bytes at disk speed). */
    private static final Duration DRAIN_ON_CLOSE = Duration.ofSeconds(30);
    /** Span attributes: where the session's KV came from, and the query's token counts. */
    static final String KV_SOURCE = "ul.kv.source";
    static final String TOKENS_CACHED = "ul.tokens.cached";
    static final String TOKENS_PREFILLED = "ul.tokens.prefilled";
    static final String TOKENS_GENERATED = "ul.tokens.generated";

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
    private final long blockBytes;
    private final SessionKvCaches caches;
    private final KvAdmission admission;
    private final KvWriteBehind writeBehind;
    private final KvRestorePipeline restorer;
    /** What the running query saw of deletes before reading its tokens ({@link KvWriteBehind#beginQuery}). */
    private long queryEpoch;
    /** How long the last restore from the store took (read, verify, import), for benchmarks and logs. */
    private volatile long lastRestoreMillis;
    private final Queue<String> deletedSessions = new ConcurrentLinkedQueue<>();
    private final Queue<Integer> releasedPartitions = new ConcurrentLinkedQueue<>();
    /** What the caches hold, published by the model thread for readers on other threads. */
    private volatile Map<String, Long> cachedLengths = Map.of();
    private final WorkerMetrics metrics;
    private final java.util.concurrent.atomic.AtomicLong restoreFailures = new java.util.concurrent.atomic.AtomicLong();

    /**
     * @param stopTokenIds the ids that end an answer ({@code StopTokens.of}: eos of the model's configs, eot, eom)
     */
    public ModelAnswerEngine(LlamaRuntime runtime, Set<Integer> stopTokenIds, ContextStore store, String systemPrompt,
                             String modelId, boolean demoModel, long kvMemoryBytes, WorkerMetrics metrics) {
        this(runtime, stopTokenIds, store, systemPrompt, modelId, demoModel, KvSettings.withMemory(kvMemoryBytes), metrics);
    }

    public ModelAnswerEngine(LlamaRuntime runtime, Set<Integer> stopTokenIds, ContextStore store, String systemPrompt,
                             String modelId, boolean demoModel, KvSettings kv, WorkerMetrics metrics) {
        this(runtime, stopTokenIds, store, systemPrompt, modelId, demoModel, kv, metrics, null,
                KvAdmission.of(runtime, kv.memoryBytes(), kv.deviceHeadroomBytes()));
    }

    /**
     * @param blockStore where persisted blocks are written; null: the context store itself (tests slow it down here)
     */
    ModelAnswerEngine(LlamaRuntime runtime, Set<Integer> stopTokenIds, ContextStore store, String systemPrompt,
                      String modelId, boolean demoModel, KvSettings kv, WorkerMetrics metrics,
                      KvWriteBehind.BlockStore blockStore, KvAdmission admission) {
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
        this.blockBytes = blockTokens * runtime.kvBytesPerToken();
        // An evicted session's blocks not yet persisted are offered once more: its next query restores them then.
        this.caches = new SessionKvCaches(kv.memoryBytes(), runtime.kvBytesPerToken(), entry -> persistSession(entry));
        this.admission = admission;
        this.writeBehind = new KvWriteBehind(blockStore != null ? blockStore
                : new StoreBlocks(store, fingerprint, blockTokens),
                kv.persistQueueBytes(), DRAIN_ON_CLOSE);
        this.restorer = new KvRestorePipeline(kv.restoreReadAheadBlocks());
        this.metrics = metrics;
    }

    /**
     * The store is about to delete the session: its queued KV writes are dropped and a write in flight finishes
     * first, so the delete leaves nothing behind (any thread).
     */
    @Override
    public void sessionDeleting(String session) {
        writeBehind.sessionDeleting(session);
    }

    /** The session was deleted: its in-memory cache goes before the next query (any thread). */
    @Override
    public void sessionDeleted(String session) {
        writeBehind.sessionDeleted(session);
        deletedSessions.add(session);
    }

    /** Partitions given up: their queued KV writes are dropped, their sessions' caches go before the next query (any thread). */
    @Override
    public void partitionsReleased(Collection<Integer> partitions) {
        writeBehind.partitionsReleased(partitions);
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
        // Before the tokens are read: a delete after this point voids the blocks this query computes.
        queryEpoch = writeBehind.beginQuery();
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

            // The session's KV grows to its context, the question and the answer, plus the fork's copy of a partial block.
            ResponseEvent.Error refused = admit(request, promptTokens + request.sampling().maxTokens() + blockTokens);
            if (refused != null) {
                return refused;
            }

            Base base;
            Span restore = job.trace().start(QueryTrace.RESTORE, job);
            try (Scope scope = restore.makeCurrent()) {
                base = sessionCache(request, job.partition(), sessionTokens);
                restore.setAttribute(TOKENS_CACHED, base.cachedTokens);
            } finally {
                restore.end();
            }
            long cached = base.cachedTokens;
            boolean failed = false;
            long toPrefill = sessionTokens.length - base.cache.length() + suffix.length;
            long prefillStarted = System.nanoTime();
            ProgressReporter progress = new ProgressReporter(request.requestId(), toPrefill, events, job);
            Span prefill = job.trace().start(QueryTrace.PREFILL, job).setAttribute(TOKENS_CACHED, cached)
                    .setAttribute(TOKENS_PREFILLED, toPrefill).setAttribute("ul.tokens.context", (long) context.length);
            try (KvCache fork = prefillContextAndFork(base, sessionTokens, progress)) {
                if (job.cancelled()) {
                    return null;
                }
                float[] logits = runtime.prefill(fork, suffix, progress.offset(toPrefill - suffix.length));
                prefill.end();
                long prefillMs = (System.nanoTime() - prefillStarted) / 1_000_000;
                metrics.prefilled(toPrefill, prefillMs);
                metrics.reused(cached);

                TokenStream stream = new TokenStream(request.requestId(), events, job, started);
                long decodeStarted = System.nanoTime();
                Span decode = job.trace().start(QueryTrace.DECODE, job);
                GenerationResult result;
                try {
                    result = runtime.generate(fork, logits, generationParams(request.sampling()), stream);
                    decode.setAttribute(TOKENS_GENERATED, (long) result.answerTokens().length)
                            .setAttribute("ul.finish_reason", result.finishReason());
                } finally {
                    decode.end();
                }
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
            } catch (CancellationException e) {
                throw e;
            } catch (RuntimeException e) {
                failed = true;
                throw e;
            } finally {
                if (prefill.isRecording()) {
                    prefill.end();   // the prefill failed or was cancelled
                }
                if (base.temporary) {
                    base.cache.close();
                } else if (!failed) {
                    // Blocks the write-behind queue had no room for during the prefill get another chance, and the
                    // unfinished last block goes too.
                    persistSession(base.entry);
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
            Span.current().setAttribute(KV_SOURCE, "memory");
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
            // Blocks of the old log still queued must not be written: track the cache afresh from what is durable.
            entry.persist.cancel();
            entry.persist = writeBehind.track(entry.session, entry.partition, Math.min(entry.persist.durable(), common / blockTokens));
            return new Base(entry.cache, entry, common, false);
        }
        metrics.memoryMiss();
        Span.current().setAttribute(KV_SOURCE, "store");
        KvCache cache = runtime.newCache();
        long restored;
        long restoreStarted = System.nanoTime();
        try {
            KvCache restoring = cache;
            restored = restorer.restore(
                    consumer -> store.readVerifiedKvBuffers(fingerprint, request.session(), sessionTokens, blockTokens, consumer),
                    block -> runtime.importBlock(restoring, block));
        } catch (RocksDBException | java.io.UncheckedIOException e) {
            // Persisted KV is only an optimisation: a store that cannot serve it (a failing disk) costs a recompute,
            // never the query.
            cache.close();
            LOG.warn("Could not restore the KV of {} from the context store, recomputing it: {}", request.session(), e.getMessage());
            restoreFailures.incrementAndGet();
            cache = runtime.newCache();
            restored = 0;
        } catch (RuntimeException e) {
            cache.close();
            throw e;
        }
        lastRestoreMillis = (System.nanoTime() - restoreStarted) / 1_000_000;
        // The last block restored may be a partial one (the session's unfinished block when it was stored).
        int restoredTokens = Math.toIntExact(cache.length());
        Span.current().setAttribute("ul.kv.blocks.restored", restored);
        if (restored > 0) {
            LOG.info("Restored {} KV blocks ({} tokens) of {} from the context store in {} ms", restored, restoredTokens,
                    request.session(), lastRestoreMillis);
        }
        if (request.asOfSeq() != null) {
            return new Base(cache, null, restoredTokens, true);
        }
        KvWriteBehind.Progress persisted = writeBehind.track(request.session(), partition, restoredTokens / blockTokens);
        persisted.partialDurable(restoredTokens);
        SessionKvCaches.Entry fresh = new SessionKvCaches.Entry(request.session(), partition, cache,
                Arrays.copyOf(sessionTokens, restoredTokens), persisted);
        caches.put(fresh);
        return new Base(cache, fresh, restoredTokens, false);
    }

    /**
     * Prefills the context no cache holds into the base cache and forks it. Full KV blocks go to the write-behind
     * persistence after every prefill chunk, so a long prefill that is cancelled or crashes keeps what it computed.
     */
    private KvCache prefillContextAndFork(Base base, int[] sessionTokens, ProgressReporter progress) {
        long have = base.cache.length();
        if (have < sessionTokens.length) {
            PrefillListener persisting = (done, total) -> {
                if (base.entry != null) {
                    base.entry.tokens = Arrays.copyOf(sessionTokens, Math.toIntExact(base.cache.length()));
                    persistNewBlocks(base.entry);
                }
                progress.onProgress(done, total);
            };
            runtime.prefill(base.cache, Arrays.copyOfRange(sessionTokens, Math.toIntExact(have), sessionTokens.length), persisting);
        }
        return base.cache.fork();
    }

    /** Hands the cache's full blocks not yet handed over to the writer, as far as its queue has room (model thread). */
    private void persistNewBlocks(SessionKvCaches.Entry entry) {
        writeBehind.offer(entry.persist, entry.cache.fullBlocks(), entry.tokens, blockBytes,
                index -> runtime.exportBlock(entry.cache, index), queryEpoch);
    }

    /**
     * {@link #persistNewBlocks}, then the unfinished last block: at the end of a query and when the session's cache is
     * evicted, so a restore recomputes none of its tokens (not after every prefill chunk: that block changes with each).
     */
    private void persistSession(SessionKvCaches.Entry entry) {
        persistNewBlocks(entry);
        writeBehind.offerPartial(entry.persist, entry.tokens, blockTokens, runtime.kvBytesPerToken(),
                () -> runtime.exportPartialBlock(entry.cache), queryEpoch);
    }

    /** The context store's KV block writes with this model's fingerprint and block size. */
    private record StoreBlocks(ContextStore store, byte[] fingerprint, int blockTokens) implements KvWriteBehind.BlockStore {
        @Override
        public void put(String session, long firstBlock, int[] sessionTokens, List<byte[]> blocks) throws Exception {
            store.putKvBlocks(fingerprint, session, firstBlock, sessionTokens, blockTokens, blocks);
        }

        @Override
        public void putPartial(String session, long blockIndex, int[] sessionTokens, int partialTokens, byte[] block)
                throws Exception {
            store.putKvPartialBlock(fingerprint, session, blockIndex, sessionTokens, blockTokens, partialTokens, block);
        }
    }

    /**
     * Makes room for a session whose KV will reach {@code tokens}: evicts other sessions' caches, least recently used
     * first, or, when even all of the room is too little, refuses the query before anything is computed.
     */
    private ResponseEvent.Error admit(QueryRequest request, long tokens) {
        long bytesPerToken = runtime.kvBytesPerToken();
        long needed = tokens * bytesPerToken;
        long capacity = admission.capacity(caches.bytes(), needed);
        if (needed > capacity) {
            metrics.refused();
            String shards = admission.limitingShards(capacity);
            String where = shards != null ? "the KV devices and tiers " + shards + " hold " + mib(capacity)
                    : admission.onDevice() && capacity < admission.kvMemoryBytes()
                    ? "the device " + runtime.kvDevice() + " has room for " + mib(capacity) + " of KV after the weights"
                    : "ul.worker.kv-memory-bytes allows " + mib(capacity);
            return new ResponseEvent.Error(request.requestId(), ErrorCode.CONTEXT_EXCEEDS_DEVICE_MEMORY.wireName(),
                    "The session's KV cache needs " + mib(needed) + " (" + tokens + " tokens of context, question and answer at "
                            + bytesPerToken + " bytes each) but " + where
                            + ". Ask about less of the session (asOfSeq), or run the worker with more KV memory"
                            + (runtime.options().kvOnHost() ? "." : " or with kv-on-host."));
        }
        int evicted = caches.makeRoom(request.session(), capacity - needed);
        if (evicted > 0) {
            metrics.evictedForRoom(evicted);
            cachedLengths = caches.lengths();
            LOG.info("Evicted {} sessions' KV caches from memory to make room for {}", evicted, request.session());
        }
        return null;
    }

    private static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }

    /** Waits until every KV block handed to the write-behind queue is durable (or dropped); whether it happened in time. */
    public boolean awaitPersisted(Duration timeout) throws InterruptedException {
        return writeBehind.awaitIdle(timeout);
    }

    /** Milliseconds the last restore from the context store took: read, verification and import (any thread). */
    public long lastRestoreMillis() {
        return lastRestoreMillis;
    }

    /** Host bytes of KV blocks waiting for the context store (any thread). */
    public long kvPersistQueueBytes() {
        return writeBehind.queuedBytes();
    }

    /** KV block writes to the context store that failed (the blocks are offered again later; any thread). */
    public long kvPersistFailures() {
        return writeBehind.failures();
    }

    /** Restores from the context store that failed and were recomputed instead (any thread). */
    public long kvRestoreFailures() {
        return restoreFailures.get();
    }

    /** KV blocks the write-behind queue made durable (any thread). */
    public long kvBlocksPersisted() {
        return writeBehind.written();
    }

    /** Sessions' unfinished last blocks made durable. */
    public long kvPartialBlocksPersisted() {
        return writeBehind.partialWritten();
    }

    /** Milliseconds the writer thread spent writing KV blocks to the store (any thread). */
    public long kvPersistMillis() {
        return writeBehind.writeMillis();
    }

    /** Times a block found the write-behind queue full and stayed in memory to be offered again (any thread). */
    public long kvPersistDeferred() {
        return writeBehind.deferred();
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

    /** Lets queued KV writes finish (bounded), then frees the caches; the store may close after this returns. */
    @Override
    public void close() {
        writeBehind.close();
        restorer.close();
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
