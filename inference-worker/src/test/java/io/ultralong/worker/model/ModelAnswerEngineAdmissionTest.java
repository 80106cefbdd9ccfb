package io.ultralong.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.SamplingParams;
import io.ultralong.runtime.engine.KvPlacement;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Admission control on a real runtime and store: a session whose KV cannot fit is refused with
 * {@code context-exceeds-device-memory} (HTTP 413) before anything is computed, and a session that fits only once
 * the others are gone evicts them before its prefill instead of failing.
 */
class ModelAnswerEngineAdmissionTest {

    private static final int BLOCK = 32;
    private static final int MAX_TOKENS = 4;

    @TempDir
    static Path shared;
    private static LlamaRuntime runtime;
    private static Set<Integer> stop;
    private static int prefixTokens;
    private static int suffixTokens;

    @BeforeAll
    static void loadModel() {
        Path modelDir = SyntheticModelWriter.write(shared.resolve("model"), SyntheticModelSpec.tiny());
        runtime = LlamaRuntime.load(ModelDirectory.resolve(modelDir), new RuntimeOptions("cpu", 64, BLOCK, 1024));
        stop = StopTokens.of(ModelDirectory.resolve(modelDir), runtime.tokenizer());
        ChatFormat chat = new ChatFormat(runtime.tokenizer());
        prefixTokens = chat.sessionPrefix(ModelSettings.DEFAULT_SYSTEM_PROMPT).length;
        suffixTokens = chat.questionSuffix("Any errors?").length;
    }

    @AfterAll
    static void closeModel() {
        runtime.close();
    }

    /** What the engine reserves for a session: its context, the question, the answer and a partial block. */
    private static long needed(int contextTokens) {
        return (prefixTokens + contextTokens + suffixTokens + MAX_TOKENS + BLOCK) * runtime.kvBytesPerToken();
    }

    private static ModelAnswerEngine engine(ContextStore store, long kvMemoryBytes, WorkerMetrics metrics) {
        return new ModelAnswerEngine(runtime, stop, store, ModelSettings.DEFAULT_SYSTEM_PROMPT, "test", false,
                KvSettings.withMemory(kvMemoryBytes), metrics);
    }

    @Test
    void aSessionBeyondTheBudgetIsRefusedWith413BeforeAnyPrefill(@TempDir Path dir) throws Exception {
        int[] context = new Random(21).ints(400, 0, 500).toArray();
        try (ContextStore store = ContextStore.open(dir.resolve("store"))) {
            store.appendChunk("t/huge", 1, 0, 0, context);
            WorkerMetrics metrics = new WorkerMetrics();
            try (ModelAnswerEngine engine = engine(store, needed(context.length) - 1, metrics)) {
                List<ResponseEvent> events = new ArrayList<>();
                ResponseEvent answer = engine.answer(job("t/huge"), events::add);

                assertThat(answer).isInstanceOf(ResponseEvent.Error.class);
                ResponseEvent.Error error = (ResponseEvent.Error) answer;
                assertThat(error.code()).isEqualTo("context-exceeds-device-memory");
                assertThat(ErrorCode.fromWireName(error.code()).httpStatus()).isEqualTo(413);
                assertThat(error.message()).contains("ul.worker.kv-memory-bytes");
                assertThat(events).as("no progress, no token").isEmpty();
                assertThat(metrics.prefilledTokens()).as("nothing was prefilled").isZero();
                assertThat(metrics.refusedForMemory()).isEqualTo(1);
                assertThat(engine.cachedTokens("t/huge")).isZero();
                assertThat(engine.awaitPersisted(java.time.Duration.ofSeconds(30))).isTrue();
                assertThat(store.statistics().kvBlocksWritten()).as("nothing was computed to persist").isZero();
            }
            // One token of KV more and it is answered.
            try (ModelAnswerEngine engine = engine(store, needed(context.length), new WorkerMetrics())) {
                assertThat(engine.answer(job("t/huge"), event -> { })).isInstanceOf(ResponseEvent.Done.class);
            }
        }
    }

    @Test
    void aSecondSessionEvictsTheFirstBeforeItsPrefillRatherThanFailing(@TempDir Path dir) throws Exception {
        Random random = new Random(22);
        int[] first = random.ints(300, 0, 500).toArray();
        int[] second = random.ints(300, 0, 500).toArray();
        try (ContextStore store = ContextStore.open(dir.resolve("store"))) {
            store.appendChunk("t/first", 1, 0, 0, first);
            store.appendChunk("t/second", 1, 0, 0, second);
            WorkerMetrics metrics = new WorkerMetrics();
            // Room for one session's KV, not for two.
            long budget = needed(300) + needed(300) / 2;
            try (ModelAnswerEngine engine = engine(store, budget, metrics)) {
                assertThat(engine.answer(job("t/first"), event -> { })).isInstanceOf(ResponseEvent.Done.class);
                assertThat(engine.cachedTokens("t/first")).isEqualTo(prefixTokens + first.length);

                List<Long> firstCachedDuringPrefill = new ArrayList<>();
                ResponseEvent answer = engine.answer(job("t/second"), event -> {
                    if (event instanceof ResponseEvent.Progress) {
                        firstCachedDuringPrefill.add(engine.cachedTokens("t/first"));
                    }
                });
                assertThat(answer).isInstanceOf(ResponseEvent.Done.class);
                assertThat(firstCachedDuringPrefill).as("evicted before the second session's prefill began")
                        .isNotEmpty().containsOnly(0L);
                assertThat(metrics.evictedForRoom()).isEqualTo(1);
                assertThat(metrics.refusedForMemory()).isZero();
                assertThat(engine.cachedTokens("t/second")).isEqualTo(prefixTokens + second.length);
            }
        }
    }

    @Test
    void aSessionBeyondItsKvShardsIsRefusedWith413BeforeAnyPrefillAndOneThatSpansThemIsAnswered(@TempDir Path dir)
            throws Exception {
        // KV sharded over the CPU listed twice, 8 blocks (256 tokens) each, no host tier: 512 tokens in all
        long shardBytes = 8L * BLOCK * runtime.kvBytesPerToken();
        try (LlamaRuntime sharded = LlamaRuntime.load(ModelDirectory.resolve(shared.resolve("model")),
                runtime.options().withPlacement(KvPlacement.SINGLE.withDevices(List.of("cpu", "cpu")).withDeviceKvBytes(shardBytes)));
                ContextStore store = ContextStore.open(dir.resolve("store"))) {
            int[] huge = new Random(23).ints(600, 0, 500).toArray();
            int[] spanning = new Random(24).ints(350, 0, 500).toArray();
            store.appendChunk("t/huge", 1, 0, 0, huge);
            store.appendChunk("t/spanning", 1, 0, 0, spanning);
            WorkerMetrics metrics = new WorkerMetrics();
            // the configured budget is far larger: the shards are the limit
            try (ModelAnswerEngine engine = new ModelAnswerEngine(sharded, stop, store, ModelSettings.DEFAULT_SYSTEM_PROMPT,
                    "test", false, KvSettings.withMemory(1L << 30), metrics)) {
                List<ResponseEvent> events = new ArrayList<>();
                ResponseEvent answer = engine.answer(job("t/huge"), events::add);
                assertThat(answer).isInstanceOf(ResponseEvent.Error.class);
                ResponseEvent.Error error = (ResponseEvent.Error) answer;
                assertThat(ErrorCode.fromWireName(error.code()).httpStatus()).isEqualTo(413);
                assertThat(error.message()).contains("cpu(), cpu()#1").contains("hold " + (2 * shardBytes >> 20) + " MiB");
                assertThat(events).as("no progress, no token").isEmpty();
                assertThat(metrics.prefilledTokens()).as("nothing was prefilled").isZero();
                assertThat(sharded.kvBlocksInUse()).isZero();

                assertThat(engine.answer(job("t/spanning"), event -> { })).isInstanceOf(ResponseEvent.Done.class);
                assertThat(sharded.kvShards()).extracting(LlamaRuntime.KvShardUsage::usedBytes)
                        .as("the session fills the first shard, then the second").containsExactly(shardBytes,
                                (long) (prefixTokens + spanning.length - 8 * BLOCK + BLOCK - 1) / BLOCK * BLOCK * runtime.kvBytesPerToken());
            }
        }
    }

    private static QueryJob job(String session) {
        QueryRequest request = new QueryRequest("q-" + System.nanoTime(), session, "Any errors?", null,
                new SamplingParams(MAX_TOKENS, 0.0, 1.0, 0, 1L), -1, null, Long.MAX_VALUE, false);
        return new QueryJob(request, 0, 0, 0);
    }
}
