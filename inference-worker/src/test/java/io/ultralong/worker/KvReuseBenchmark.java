package io.ultralong.worker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.SamplingParams;
import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.generate.StopTokens;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.TensorDType;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import io.ultralong.store.ContextStore;
import io.ultralong.worker.model.KvSettings;
import io.ultralong.worker.model.ModelAnswerEngine;
import io.ultralong.worker.model.WorkerMetrics;
import io.ultralong.worker.query.QueryJob;

/**
 * Time to first token of a query after 256 tokens were appended to a 16K-token session, with the
 * session's KV warm in memory, restored from the context store, restored by another worker (the
 * partition's next owner) from the shared KV directory, and recomputed from scratch; the warm case is
 * also what a standing query's evaluation costs after +256 tokens. A second table times the restore alone (read,
 * verification, import) with the store read on the model thread (read-ahead 0, the worker's earlier behaviour)
 * and read ahead on the I/O thread, alternated, median of three runs each. A third table asks a restoring engine
 * (restarted or successor) and the warm one right after each other, six rounds of +256 tokens: the ratios to warm that
 * the first table's single queries, minutes apart on a shared machine, cannot give.
 *
 * <pre>./mvnw -B -q -pl inference-worker -am test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.ultralong.worker.KvReuseBenchmark [-Dexec.args="16384 256"]</pre>
 *
 * The worker's path without Kafka: the engine, its store and the runtime, on a synthetic Llama
 * (hidden 512, 4 layers, 8 heads / 2 KV heads, YaRN to 128K) so that 16K tokens fit a CPU run.
 */
public final class KvReuseBenchmark {

    private static final int SIDE_BY_SIDE_ROUNDS = 3;
    /** The synthetic Llama of this benchmark and {@link KvImportBenchmark}: hidden 512, 4 layers, 8 heads / 2 KV heads. */
    static final SyntheticModelSpec MODEL = new SyntheticModelSpec(512, 1376, 4, 8, 2, 512, 4096, 32.0, TensorDType.F32, 1, 7L);

    private KvReuseBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int contextTokens = args.length > 0 ? Integer.parseInt(args[0]) : 16_384;
        int appended = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        Path dir = Files.createTempDirectory("kv-reuse-bench");
        Path modelDir = SyntheticModelWriter.write(dir.resolve("model"), MODEL);
        RuntimeOptions options = new RuntimeOptions("cpu", 512, 256, 1024);
        Random random = new Random(1);
        int[] base = random.ints(contextTokens, 0, 500).toArray();
        int[] more = random.ints(appended, 0, 500).toArray();

        List<String[]> rows = new ArrayList<>();
        List<String[]> restoreRows = new ArrayList<>();
        List<List<Long>> sideBySide = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        List<List<Long>> sideBySidePrefilled = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        List<List<Double>> ratios = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        long persistedBlocks;
        long persistMillis;
        try (LlamaRuntime runtime = LlamaRuntime.load(ModelDirectory.resolve(modelDir), options);
             ContextStore store = ContextStore.open(dir.resolve("store"), 64L << 20, Long.MAX_VALUE, dir.resolve("shared-kv"))) {
            String session = "bench/s";
            store.appendChunk(session, 1, 0, 0, base);
            Set<Integer> eos = StopTokens.of(ModelDirectory.resolve(modelDir), runtime.tokenizer());

            // The first query computes the 16K prefix, keeps it in memory and persists its full blocks.
            ModelAnswerEngine warm = engine(runtime, eos, store);
            ResponseEvent.Done first = ask(warm, session);
            // Persistence runs behind the model: what a restart or a successor finds is what became durable.
            if (!warm.awaitPersisted(java.time.Duration.ofMinutes(5))) {
                throw new IllegalStateException("the first query's KV blocks did not become durable");
            }
            persistedBlocks = warm.kvBlocksPersisted();
            persistMillis = warm.kvPersistMillis();
            store.appendChunk(session, 2, contextTokens, 1, more);
            // What the shared directory holds when this worker dies here: only the prefix's blocks.
            Path handedOver = copyTree(dir.resolve("shared-kv"), dir.resolve("shared-kv-at-death"));

            // Restored: a fresh engine (a restarted worker) takes the prefix's blocks back from the store.
            ModelAnswerEngine restored = engine(runtime, eos, store);
            rows.add(row("restored from store", ask(restored, session)));
            restored.close();

            // Handover: the partition's next owner, its store rebuilt from the token log, restores the shared blocks.
            try (ContextStore successorStore = ContextStore.open(dir.resolve("successor"), 64L << 20, Long.MAX_VALUE, handedOver)) {
                successorStore.appendChunk(session, 1, 0, 0, base);
                successorStore.appendChunk(session, 2, contextTokens, 1, more);
                ModelAnswerEngine successor = engine(runtime, eos, successorStore);
                rows.add(row("successor, shared KV dir", ask(successor, session)));
                successor.close();
            }

            // The restore alone, read on the model thread against read ahead on an I/O thread, alternated, median of 3.
            // The restored query above persisted the block its prefill completed: both read the same 65 blocks now.
            int[] readAheads = {0, 4};
            List<List<Long>> restoreMs = List.of(new ArrayList<>(), new ArrayList<>());
            List<List<Long>> ttftMs = List.of(new ArrayList<>(), new ArrayList<>());
            long[] restoredTokens = new long[2];
            for (int round = 0; round < 3; round++) {
                for (int variant = 0; variant < readAheads.length; variant++) {
                    ModelAnswerEngine engine = engine(runtime, eos, store, readAheads[variant]);
                    ResponseEvent.Done done = ask(engine, session);
                    restoreMs.get(variant).add(engine.lastRestoreMillis());
                    ttftMs.get(variant).add(done.timings().timeToFirstTokenMs());
                    restoredTokens[variant] = done.usage().cachedTokens();
                    engine.close();
                }
            }
            for (int variant = 0; variant < readAheads.length; variant++) {
                restoreRows.add(new String[] {
                        readAheads[variant] == 0 ? "read on the model thread" : "read-ahead " + readAheads[variant] + ", I/O thread",
                        Long.toString(restoredTokens[variant] / options.kvBlockTokens()),
                        Long.toString(restoredTokens[variant] * runtime.kvBytesPerToken() >> 20),
                        Long.toString(median(restoreMs.get(variant))), Long.toString(median(ttftMs.get(variant)))});
            }

            // Warm: the first engine still holds the prefix in memory.
            rows.add(0, row("warm in memory", ask(warm, session)));

            // Side by side: each round appends another 256 tokens, then ONE restoring engine and the warm engine
            // answer, one right after the other, so both see the same minute of a shared machine's load. The restoring
            // one goes first and alone: the block a query's prefill completes is persisted during that query, and would
            // let a restore after it prefill 92 tokens instead of the 348 a restore does. Restarted (a fresh engine on
            // the store) and successor (a fresh store on the live shared directory) alternate from round to round.
            List<int[]> chunks = new ArrayList<>(List.of(base, more));
            int length = contextTokens + appended;
            for (int round = 0; round < 2 * SIDE_BY_SIDE_ROUNDS; round++) {
                int[] extra = random.ints(appended, 0, 500).toArray();
                store.appendChunk(session, chunks.size() + 1, length, chunks.size(), extra);
                chunks.add(extra);
                length += appended;
                // The blocks completed so far are what a restart or a successor would find.
                if (!warm.awaitPersisted(java.time.Duration.ofMinutes(5))) {
                    throw new IllegalStateException("the warm engine's KV blocks did not become durable");
                }
                int restoring = 1 + round % 2;
                ResponseEvent.Done restoredDone;
                if (restoring == 1) {
                    ModelAnswerEngine restarted = engine(runtime, eos, store);
                    restoredDone = ask(restarted, session);
                    restarted.awaitPersisted(java.time.Duration.ofMinutes(5));
                    restarted.close();
                } else {
                    try (ContextStore successorStore = ContextStore.open(dir.resolve("successor-" + round), 64L << 20,
                            Long.MAX_VALUE, dir.resolve("shared-kv"))) {
                        int position = 0;
                        for (int c = 0; c < chunks.size(); c++) {
                            successorStore.appendChunk(session, c + 1, position, c, chunks.get(c));
                            position += chunks.get(c).length;
                        }
                        ModelAnswerEngine successor = engine(runtime, eos, successorStore);
                        restoredDone = ask(successor, session);
                        successor.awaitPersisted(java.time.Duration.ofMinutes(5));
                        successor.close();
                    }
                }
                ResponseEvent.Done warmDone = ask(warm, session);
                sideBySide.get(0).add(warmDone.timings().timeToFirstTokenMs());
                sideBySidePrefilled.get(0).add(warmDone.usage().prefilledTokens());
                sideBySide.get(restoring).add(restoredDone.timings().timeToFirstTokenMs());
                sideBySidePrefilled.get(restoring).add(restoredDone.usage().prefilledTokens());
                ratios.get(restoring).add((double) restoredDone.timings().timeToFirstTokenMs()
                        / warmDone.timings().timeToFirstTokenMs());
            }
            warm.close();

            // Recomputed: a session unknown to the store's KV (a new owner without a shared store).
            String fresh = "bench/fresh";
            store.appendChunk(fresh, 1, 0, 0, concat(base, more));
            ModelAnswerEngine recompute = engine(runtime, eos, store);
            rows.add(row("recomputed from scratch", ask(recompute, fresh)));
            recompute.close();
            rows.add(0, row("(first query, cold)", first));
        }

        double scratch = Double.parseDouble(rows.get(rows.size() - 1)[4]);
        System.out.printf("%nTTFT after +%d tokens on a %d-token session (CPU, %d cores, synthetic %d-layer hidden-%d Llama)%n",
                appended, contextTokens, Runtime.getRuntime().availableProcessors(), MODEL.layers(), MODEL.hiddenSize());
        System.out.printf("%-26s %10s %10s %10s %10s %10s%n", "case", "context", "cached", "prefilled", "TTFT ms", "vs scratch");
        for (String[] row : rows) {
            System.out.printf("%-26s %10s %10s %10s %10s %9.1fx%n", row[0], row[1], row[2], row[3], row[4],
                    scratch / Double.parseDouble(row[4]));
        }
        System.out.printf("%nFirst query: %d KV blocks written to the store (and the shared KV directory) in %d ms on the"
                + " writer thread, behind the model (its TTFT above does not include them)%n", persistedBlocks, persistMillis);
        System.out.printf("%nSide by side, %d rounds of +%d tokens, a restoring engine then warm in each (restarted and"
                + " successor alternate); TTFT ms and tokens prefilled per round, ratio to warm of that round%n",
                2 * SIDE_BY_SIDE_ROUNDS, appended);
        String[] names = {"warm in memory", "restored from store", "successor, shared KV dir"};
        for (int v = 0; v < 3; v++) {
            StringBuilder shown = new StringBuilder();
            List<Double> sorted = new ArrayList<>(ratios.get(v));
            sorted.sort(null);
            for (double r : ratios.get(v)) {
                shown.append(String.format(" %.2f", r));
            }
            System.out.printf("%-26s TTFT %s  prefilled %s%s%n", names[v], sideBySide.get(v), sideBySidePrefilled.get(v),
                    v == 0 ? "" : String.format("  ratio%s  median %.2fx", shown, sorted.get(sorted.size() / 2)));
        }
        System.out.printf("%nRestore from the store alone (read, verify, import), median of 3 alternated runs%n");
        System.out.printf("%-26s %10s %10s %10s %10s%n", "restore", "blocks", "MiB", "restore ms", "TTFT ms");
        for (String[] row : restoreRows) {
            System.out.printf("%-26s %10s %10s %10s %10s%n", row[0], row[1], row[2], row[3], row[4]);
        }
    }

    private static ModelAnswerEngine engine(LlamaRuntime runtime, Set<Integer> eos, ContextStore store) {
        return new ModelAnswerEngine(runtime, eos, store, ModelSettings.DEFAULT_SYSTEM_PROMPT, "bench", false, 8L << 30,
                new WorkerMetrics());
    }

    private static ModelAnswerEngine engine(LlamaRuntime runtime, Set<Integer> eos, ContextStore store, int readAhead) {
        KvSettings kv = new KvSettings(8L << 30, Long.parseLong(KvSettings.DEFAULT_PERSIST_QUEUE_BYTES), readAhead, 0);
        return new ModelAnswerEngine(runtime, eos, store, ModelSettings.DEFAULT_SYSTEM_PROMPT, "bench", false, kv,
                new WorkerMetrics());
    }

    private static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        sorted.sort(null);
        return sorted.get(sorted.size() / 2);
    }

    private static ResponseEvent.Done ask(ModelAnswerEngine engine, String session) {
        QueryRequest request = new QueryRequest("q-" + System.nanoTime(), session, "Any errors in the last minute?", null,
                new SamplingParams(1, 0.0, 1.0, 0, 1L), -1, null, Long.MAX_VALUE, false);
        Consumer<ResponseEvent> ignore = event -> { };
        return (ResponseEvent.Done) engine.answer(new QueryJob(request, 0, 0, 0), ignore);
    }

    private static String[] row(String name, ResponseEvent.Done done) {
        return new String[] {name, Long.toString(done.usage().contextTokens()), Long.toString(done.usage().cachedTokens()),
                Long.toString(done.usage().prefilledTokens()), Long.toString(done.timings().timeToFirstTokenMs())};
    }

    private static Path copyTree(Path from, Path to) throws java.io.IOException {
        try (var paths = Files.walk(from)) {
            for (Path path : paths.toList()) {
                Files.copy(path, to.resolve(from.relativize(path).toString()));
            }
        }
        return to;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
