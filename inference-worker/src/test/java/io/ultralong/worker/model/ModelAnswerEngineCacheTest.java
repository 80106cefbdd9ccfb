package io.ultralong.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;

import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.SamplingParams;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine's in-memory KV caches on a real runtime and store: a partition the worker gives up
 * takes its sessions' caches with it, the other sessions stay warm, and a session that comes back
 * restores its persisted full blocks from the store instead of its memory.
 */
class ModelAnswerEngineCacheTest {

    private static final int BLOCK = 32;

    @Test
    void releasingAPartitionDropsOnlyItsSessionsCaches(@TempDir Path dir) throws Exception {
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
        Random random = new Random(3);
        int[] released = random.ints(100, 0, 500).toArray();
        int[] kept = random.ints(70, 0, 500).toArray();
        try (LlamaRuntime runtime = LlamaRuntime.load(ModelDirectory.resolve(modelDir), new RuntimeOptions("cpu", 64, BLOCK, 1024));
             ContextStore store = ContextStore.open(dir.resolve("store"))) {
            store.appendChunk("t/released", 1, 0, 0, released);
            store.appendChunk("t/kept", 1, 0, 0, kept);
            Set<Integer> stop = StopTokens.of(ModelDirectory.resolve(modelDir), runtime.tokenizer());
            try (ModelAnswerEngine engine = new ModelAnswerEngine(runtime, stop, store, ModelSettings.DEFAULT_SYSTEM_PROMPT,
                    "test", false, 64L << 20, new WorkerMetrics())) {
                ResponseEvent.Done first = ask(engine, "t/released", 3);
                ask(engine, "t/kept", 5);
                long sessionTokens = new ChatFormat(runtime.tokenizer()).sessionPrefix(ModelSettings.DEFAULT_SYSTEM_PROMPT).length
                        + released.length;
                assertThat(engine.cachedTokens("t/released")).isEqualTo(sessionTokens);
                assertThat(engine.cachedTokens("t/kept")).isPositive();

                // Releasing a partition drops its queued KV writes: let the first query's blocks become durable first.
                assertThat(engine.awaitPersisted(java.time.Duration.ofSeconds(30))).isTrue();
                engine.partitionsReleased(List.of(3));
                ResponseEvent.Done keptAgain = ask(engine, "t/kept", 5);
                assertThat(engine.cachedTokens("t/released")).isZero();
                assertThat(keptAgain.usage().cachedTokens()).as("the kept session stays warm").isEqualTo(engine.cachedTokens("t/kept"));

                // The partition comes back: the persisted blocks return from the store, the unfinished last one too.
                assertThat(sessionTokens % BLOCK).as("the session ends inside a block").isPositive();
                ResponseEvent.Done back = ask(engine, "t/released", 3);
                assertThat(back.usage().cachedTokens()).isEqualTo(sessionTokens);
                assertThat(back.answer()).isEqualTo(first.answer());
            }
        }
    }

    private static ResponseEvent.Done ask(ModelAnswerEngine engine, String session, int partition) {
        QueryRequest request = new QueryRequest("q-" + System.nanoTime(), session, "Any errors?", null,
                new SamplingParams(4, 0.0, 1.0, 0, 1L), -1, null, Long.MAX_VALUE, false);
        ResponseEvent answer = engine.answer(new QueryJob(request, partition, 0, 0), event -> { });
        assertThat(answer).isInstanceOf(ResponseEvent.Done.class);
        return (ResponseEvent.Done) answer;
    }
}
