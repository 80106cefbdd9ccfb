package io.ultralong.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.SamplingParams;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.generate.ChatFormat;
import io.ultralong.runtime.generate.StopTokens;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.store.ContextStore;
import io.ultralong.worker.ModelSettings;
import io.ultralong.worker.query.QueryJob;
import io.ultralong.worker.session.StoreSessionLedger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Write-behind KV persistence on a real runtime and a real context store (with a shared KV directory), whose writes a
 * gate holds back: a store that does not write at all stands for the slowest disk. The query's prefill must not
 * wait for it, the blocks must come back from the store once written, and a delete while writes wait must leave
 * nothing of the session behind.
 */
class ModelAnswerEngineWriteBehindTest {

    private static final int BLOCK = 32;
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    static Path shared;
    private static Path modelDir;
    private static LlamaRuntime runtime;
    private static Set<Integer> stop;
    private static int prefixTokens;

    @BeforeAll
    static void loadModel() {
        modelDir = SyntheticModelWriter.write(shared.resolve("model"), SyntheticModelSpec.tiny());
        runtime = LlamaRuntime.load(ModelDirectory.resolve(modelDir), new RuntimeOptions("cpu", 64, BLOCK, 1024));
        stop = StopTokens.of(ModelDirectory.resolve(modelDir), runtime.tokenizer());
        prefixTokens = new ChatFormat(runtime.tokenizer()).sessionPrefix(ModelSettings.DEFAULT_SYSTEM_PROMPT).length;
    }

    @AfterAll
    static void closeModel() {
        runtime.close();
    }

    /** The real store's block write, held at a gate until the test opens it. */
    private static final class GatedStore implements KvWriteBehind.BlockStore {
        final ContextStore store;
        final byte[] fingerprint;
        final CountDownLatch gate = new CountDownLatch(1);
        final AtomicInteger entered = new AtomicInteger();
        final AtomicInteger partialWrites = new AtomicInteger();
        /** Blocks in the last write: a write takes every consecutive block queued when it starts. */
        volatile int lastBatch;
        final Set<String> threads = ConcurrentHashMap.newKeySet();

        GatedStore(ContextStore store) {
            this.store = store;
            this.fingerprint = runtime.fingerprint().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        }

        @Override
        public void put(String session, long firstBlock, int[] sessionTokens, List<byte[]> blocks) throws Exception {
            threads.add(Thread.currentThread().getName());
            lastBatch = blocks.size();
            entered.incrementAndGet();
            if (!gate.await(2, TimeUnit.MINUTES)) {
                throw new IllegalStateException("the test never opened the gate");
            }
            store.putKvBlocks(fingerprint, session, firstBlock, sessionTokens, BLOCK, blocks);
        }

        @Override
        public void putPartial(String session, long blockIndex, int[] sessionTokens, int partialTokens, byte[] block)
                throws Exception {
            threads.add(Thread.currentThread().getName());
            partialWrites.incrementAndGet();
            store.putKvPartialBlock(fingerprint, session, blockIndex, sessionTokens, BLOCK, partialTokens, block);
        }
    }

    private static ModelAnswerEngine engine(ContextStore store, KvWriteBehind.BlockStore blocks, long queueBytes, WorkerMetrics metrics) {
        KvSettings kv = new KvSettings(64L << 20, queueBytes, 2, 0);
        return new ModelAnswerEngine(runtime, stop, store, ModelSettings.DEFAULT_SYSTEM_PROMPT, "test", false, kv, metrics,
                blocks, new KvAdmission(kv.memoryBytes(), 0, null, () -> { }));
    }

    @Test
    void aStoreThatDoesNotWriteNeverHoldsUpThePrefillAndItsBlocksComeBackOnceWritten(@TempDir Path dir) throws Exception {
        int[] context = new Random(11).ints(300, 0, 500).toArray();
        int sessionTokens = prefixTokens + context.length;
        int fullBlocks = sessionTokens / BLOCK;
        long blockBytes = BLOCK * runtime.kvBytesPerToken();
        try (ContextStore store = ContextStore.open(dir.resolve("store"), 8L << 20, Long.MAX_VALUE, dir.resolve("shared-kv"))) {
            store.appendChunk("t/slow", 1, 0, 0, context);
            GatedStore gated = new GatedStore(store);
            WorkerMetrics metrics = new WorkerMetrics();
            ResponseEvent.Done first;
            // Room for two blocks (with their headers), not three.
            long bound = 2 * blockBytes + blockBytes / 2;
            try (ModelAnswerEngine engine = engine(store, gated, bound, metrics)) {
                // The gate is shut: were any store write on the model's path, this query would never finish.
                first = ask(engine, "t/slow");
                assertThat(first.usage().prefilledTokens()).isEqualTo(first.usage().contextTokens());
                assertThat(engine.kvBlocksPersisted()).as("nothing is durable yet").isZero();
                assertThat(engine.kvPersistQueueBytes()).as("the queue holds its bound").isLessThanOrEqualTo(bound);
                assertThat(engine.kvPersistDeferred()).as("blocks beyond the bound stayed in memory").isPositive();
                assertThat(store.statistics().kvBlocksWritten()).isZero();

                gated.gate.countDown();
                assertThat(engine.awaitPersisted(WAIT)).isTrue();
                assertThat(engine.kvBlocksPersisted()).as("what the queue held").isEqualTo(2);
                // The next queries (warm in memory) offer the deferred blocks again, at least two each.
                for (int query = 0; query <= fullBlocks && (engine.kvBlocksPersisted() < fullBlocks
                        || gated.partialWrites.get() == 0); query++) {
                    ResponseEvent.Done warm = ask(engine, "t/slow");
                    assertThat(warm.usage().cachedTokens()).isEqualTo(sessionTokens);
                    assertThat(engine.awaitPersisted(WAIT)).isTrue();
                }
                assertThat(engine.kvBlocksPersisted()).isEqualTo(fullBlocks);
                assertThat(engine.kvPartialBlocksPersisted()).as("the unfinished block, once").isEqualTo(1);
            }
            assertThat(gated.threads).as("only the writer thread writes the store").containsExactly("ul-kv-writer");
            // Every full block, and the unfinished last one (offered at the end of the queries that had written all
            // blocks before it).
            assertThat(sessionTokens % BLOCK).isPositive();
            assertThat(gated.partialWrites.get()).isEqualTo(1);
            assertThat(store.statistics().kvBlocksWritten()).isEqualTo(fullBlocks + 1);

            // A restarted engine restores every block from the store, the partial one too, and answers the same.
            try (ModelAnswerEngine restarted = engine(store, null, bound, new WorkerMetrics())) {
                ResponseEvent.Done restored = ask(restarted, "t/slow");
                assertThat(restored.usage().cachedTokens()).isEqualTo(sessionTokens);
                assertThat(restored.answer()).isEqualTo(first.answer());
            }
        }
    }

    @Test
    void deletingASessionWhileItsBlocksWaitLeavesNothingBehind(@TempDir Path dir) throws Exception {
        int[] context = new Random(12).ints(200, 0, 500).toArray();
        Path sharedKv = dir.resolve("shared-kv");
        try (ContextStore store = ContextStore.open(dir.resolve("store"), 8L << 20, Long.MAX_VALUE, sharedKv)) {
            StoreSessionLedger ledger = new StoreSessionLedger(store);
            ledger.apply(0, 0, "t/gone", TokenChunkCodec.encode(new TokenChunk(1, 0, 0, true, context)));
            GatedStore gated = new GatedStore(store);
            try (ModelAnswerEngine engine = engine(store, gated, 64L << 20, new WorkerMetrics())) {
                ledger.onSessionDeleting(engine::sessionDeleting);
                ledger.onSessionDeleted(engine::sessionDeleted);
                ask(engine, "t/gone");
                // A write is in the store's hands (held at the gate), and blocks wait in the queue or in that write.
                await().atMost(WAIT).until(() -> gated.entered.get() == 1);
                assertThat(engine.kvPersistQueueBytes()).isGreaterThan(2 * BLOCK * runtime.kvBytesPerToken());
                int inFlightBlocks = gated.lastBatch;
                long inFlightBound = (inFlightBlocks + 1L) * BLOCK * runtime.kvBytesPerToken();

                // The tombstone arrives: the delete waits for the write in flight, then removes everything.
                Thread tombstone = new Thread(() -> ledger.apply(0, 1, "t/gone", null), "tombstone");
                tombstone.start();
                // Only the blocks in flight are left (their bytes and headers).
                await().atMost(WAIT).until(() -> engine.kvPersistQueueBytes() < inFlightBound);
                assertThat(tombstone.isAlive()).as("the delete waits for the write in flight").isTrue();
                gated.gate.countDown();
                tombstone.join(WAIT.toMillis());
                assertThat(tombstone.isAlive()).isFalse();
                assertThat(engine.awaitPersisted(WAIT)).isTrue();

                assertThat(gated.entered.get()).as("no queued block reached the store after the delete").isEqualTo(1);
                assertThat(store.statistics().kvBytesStored()).isZero();
                assertThat(blockFiles(sharedKv)).isZero();
                assertThat(store.session("t/gone")).isNull();

                // The session comes back with other records: nothing of the old one is reused.
                int[] other = new Random(13).ints(100, 0, 500).toArray();
                ledger.apply(0, 2, "t/gone", TokenChunkCodec.encode(new TokenChunk(1, 0, 2, true, other)));
                ResponseEvent.Done again = ask(engine, "t/gone");
                assertThat(again.usage().cachedTokens()).isZero();
                assertThat(engine.awaitPersisted(WAIT)).isTrue();
                // Its full blocks and its unfinished last one, after the blocks in flight at the delete.
                assertThat((prefixTokens + other.length) % BLOCK).isPositive();
                assertThat(store.statistics().kvBlocksWritten()).isEqualTo((prefixTokens + other.length) / BLOCK + 1 + inFlightBlocks);
            }
        }
    }

    private static long blockFiles(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (var files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).count();
        }
    }

    static ResponseEvent.Done ask(ModelAnswerEngine engine, String session) {
        QueryRequest request = new QueryRequest("q-" + System.nanoTime(), session, "Any errors?", null,
                new SamplingParams(4, 0.0, 1.0, 0, 1L), -1, null, Long.MAX_VALUE, false);
        ResponseEvent answer = engine.answer(new QueryJob(request, 0, 0, 0), event -> { });
        assertThat(answer).isInstanceOf(ResponseEvent.Done.class);
        return (ResponseEvent.Done) answer;
    }
}
