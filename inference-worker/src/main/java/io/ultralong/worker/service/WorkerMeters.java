package io.ultralong.worker.service;

import java.time.Duration;
import java.util.List;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.store.StoreStatistics;
import io.ultralong.worker.Worker;
import io.ultralong.worker.model.WorkerMetrics;

/**
 * The worker's metrics in the platform's naming scheme (docs/operations.md, "Metrics"): a unit in every
 * name, totals as counters so that Prometheus derives rates ({@code rate(ul_worker_prefill_tokens_total[1m])}
 * is prefill tokens/s), and one {@code tier} label for the KV cache tiers (memory: the resident caches on
 * the device or the host; store: this worker's RocksDB blocks; shared: the shared KV directory).
 * Every meter carries the worker's id as {@code worker}.
 */
final class WorkerMeters {

    private WorkerMeters() {
    }

    static void register(Worker worker, String workerId, MeterRegistry registry) {
        Tags tags = Tags.of("worker", workerId);
        WorkerMetrics metrics = worker.metrics();
        FunctionCounter.builder("ul.worker.prefill.tokens", metrics, WorkerMetrics::prefilledTokens).tags(tags)
                .baseUnit("tokens").description("Prompt tokens computed by prefill").register(registry);
        FunctionCounter.builder("ul.worker.decode.tokens", metrics, WorkerMetrics::decodedTokens).tags(tags)
                .baseUnit("tokens").description("Tokens generated").register(registry);
        FunctionCounter.builder("ul.worker.cached.tokens", metrics, WorkerMetrics::reusedTokens).tags(tags)
                .baseUnit("tokens").description("Prompt tokens taken from a KV cache instead of prefilled").register(registry);
        Gauge.builder("ul.worker.queue.depth.queries", worker.node().scheduler(), s -> s.queued()).tags(tags)
                .description("Queries waiting for the model").register(registry);

        List<LlamaRuntime.KvShardUsage> shards = worker.runtime().kvShards();
        if (shards.size() == 1) {
            String memoryDevice = worker.runtime().kvDevice();
            Gauge.builder("ul.worker.kv.bytes", worker.engine(), e -> e.kvMemoryBytes())
                    .tags(tags.and("tier", "memory", "device", memoryDevice)).baseUnit("bytes")
                    .description("KV cache bytes by tier and device").register(registry);
        } else {
            // sharded KV: the blocks in use on each device (tier memory) and in the host tier (tier host)
            for (int i = 0; i < shards.size(); i++) {
                int shard = i;
                Gauge.builder("ul.worker.kv.bytes", worker.runtime(), r -> r.kvShards().get(shard).usedBytes())
                        .tags(tags.and("tier", shards.get(i).host() ? "host" : "memory", "device", shards.get(i).name()))
                        .baseUnit("bytes").description("KV cache bytes by tier and device").register(registry);
            }
        }
        Gauge.builder("ul.worker.kv.bytes", worker, w -> store(w, StoreStatistics::kvBytesStored))
                .tags(tags.and("tier", "store", "device", "disk")).baseUnit("bytes")
                .description("KV cache bytes by tier and device").register(registry);

        // KV lookups by tier and result: hit ratio = rate(hit) / rate(hit + miss). Memory counts queries whose
        // session cache was resident; store and shared count blocks (shared hits are part of the store's).
        lookups(registry, tags, "memory", "hit", metrics, m -> m.memoryHits());
        lookups(registry, tags, "memory", "miss", metrics, m -> m.memoryMisses());
        lookups(registry, tags, "store", "hit", worker, w -> store(w, StoreStatistics::kvBlockHits) - store(w, StoreStatistics::kvSharedBlockHits));
        lookups(registry, tags, "store", "miss", worker, w -> store(w, StoreStatistics::kvBlockMisses));
        lookups(registry, tags, "shared", "hit", worker, w -> store(w, StoreStatistics::kvSharedBlockHits));

        // Faults: a store that cannot write, logs that no longer match the store, purges the shared tier still owes.
        Gauge.builder("ul.worker.store.writes.failing", worker.node(), n -> n.readinessProblem().isPresent() ? 1 : 0)
                .tags(tags).description("1 while the context store cannot write (readiness is DOWN with the reason)")
                .register(registry);
        FunctionCounter.builder("ul.worker.store.write.failures", worker.node().tokens(), t -> t.storeFailures()).tags(tags)
                .description("Token chunks the context store could not write (each retry that failed counts)").register(registry);
        FunctionCounter.builder("ul.worker.kv.persist.failures", worker.engine(), e -> e.kvPersistFailures()).tags(tags)
                .description("KV block writes that failed (the block is offered again; the query is unaffected)").register(registry);
        FunctionCounter.builder("ul.worker.kv.restore.failures", worker.engine(), e -> e.kvRestoreFailures()).tags(tags)
                .description("KV restores the store could not serve (recomputed instead)").register(registry);
        FunctionCounter.builder("ul.worker.partitions.rebuilt", worker.node().tokens(), t -> t.partitionsRebuilt()).tags(tags)
                .description("Tokens partitions whose stored position lay beyond the log end, rebuilt from the log").register(registry);
        FunctionCounter.builder("ul.worker.partitions.records.lost", worker.node().tokens(), t -> t.partitionsWithLostRecords())
                .tags(tags).description("Tokens partitions whose records were gone before they were applied").register(registry);
        Gauge.builder("ul.worker.shared.kv.purges.pending", worker.store(), st -> st.sharedPurgesPending()).tags(tags)
                .description("Deleted sessions whose shared KV blocks are still to be purged").register(registry);

        Timer ttft = Timer.builder("ul.worker.ttft").tags(tags)
                .description("Time to first token of each answered query, measured by the worker from the request's arrival")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(5)).maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry);
        worker.node().observe(event -> {
            if (event instanceof ResponseEvent.Done done && done.timings() != null) {
                ResponseEvent.Timings t = done.timings();
                ttft.record(Duration.ofMillis(t.queuedMs() + t.timeToFirstTokenMs()));
            }
        });
    }

    private static <T> void lookups(MeterRegistry registry, Tags tags, String tier, String result, T source, ToDoubleFunction<T> count) {
        FunctionCounter.builder("ul.worker.kv.lookups", source, count).tags(tags.and("tier", tier, "result", result))
                .description("KV cache lookups by tier and result").register(registry);
    }

    private static double store(Worker worker, ToDoubleFunction<StoreStatistics> field) {
        try {
            return field.applyAsDouble(worker.store().statistics());
        } catch (Exception e) {
            return Double.NaN;
        }
    }
}
