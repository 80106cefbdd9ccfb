package io.ultralong.worker.service;

import java.util.Optional;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.quarkus.runtime.StartupEvent;
import io.ultralong.runtime.engine.KvPlacement;
import io.ultralong.worker.ModelSettings;
import io.ultralong.worker.SharedKvObjectStore;
import io.ultralong.worker.Worker;
import io.ultralong.worker.WorkerSettings;
import io.ultralong.worker.model.WorkerMetrics;
import io.ultralong.protocol.kafka.KafkaConnection;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Runs the worker in the Quarkus service and publishes its metrics. */
@ApplicationScoped
public class WorkerService {

    private final WorkerConfig config;
    private final String bootstrapServers;
    private final String topicPrefix;
    private final MeterRegistry registry;
    private final OpenTelemetry telemetry;
    private volatile Worker worker;

    public WorkerService(WorkerConfig config, @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers,
                         @ConfigProperty(name = "ul.topics.prefix", defaultValue = "ul.") String topicPrefix,
                         MeterRegistry registry, OpenTelemetry telemetry) {
        this.config = config;
        this.bootstrapServers = bootstrapServers;
        this.topicPrefix = topicPrefix;
        this.registry = registry;
        this.telemetry = telemetry;
    }

    void start(@Observes StartupEvent startup) {
        Config all = ConfigProvider.getConfig();
        KafkaConnection kafka = KafkaConnection.fromConfig(bootstrapServers, all.getPropertyNames(),
                name -> all.getOptionalValue(name, String.class), System.getenv());
        WorkerSettings settings = new WorkerSettings(bootstrapServers, topicPrefix, config.groupId(), config.id(),
                config.dataDir(), config.sessionTimeout(), config.maxQueuedQueries())
                .withKafka(kafka)
                .withModelStallTimeout(config.modelStallTimeout())
                .withMaxQueuedQueriesPerTenant(config.maxQueuedQueriesPerTenant());
        worker = Worker.start(settings, modelSettings(config), telemetry);
        registerMeters(worker);
        WorkerMeters.register(worker, config.id(), registry);
    }

    /** The model side of the worker from its {@code ul.worker.*} settings. */
    static ModelSettings modelSettings(WorkerConfig config) {
        return new ModelSettings(config.modelDir(), config.device(), config.prefillChunkTokens(),
                config.kvBlockTokens(), config.kvMemoryBytes(), config.kvDiskQuotaBytes(),
                config.systemPrompt().orElse(ModelSettings.DEFAULT_SYSTEM_PROMPT), config.modelId(), config.kvOnHost(),
                config.sharedKvDir(), config.kvPersistQueueBytes(), config.kvRestoreReadAheadBlocks(),
                config.kvDeviceHeadroomBytes())
                .withKvPlacement(KvPlacement.SINGLE.withDevices(config.devices().orElse(java.util.List.of()))
                        .withDeviceKvBytes(config.deviceKvBytes()).withHostKvBytes(config.hostKvBytes()))
                .withPrecision(config.precision(), config.kvPrecision())
                .withSharedKvObjectStore(sharedKvObjectStore(config));
    }

    /** The bucket tier the {@code shared-kv-s3-*} settings name, if a bucket is set. */
    static Optional<SharedKvObjectStore> sharedKvObjectStore(WorkerConfig config) {
        return config.sharedKvS3Bucket().map(bucket -> new SharedKvObjectStore(bucket, config.sharedKvS3Prefix().orElse(""),
                config.sharedKvS3Endpoint(), config.sharedKvS3Region(), config.sharedKvS3PathStyle(),
                config.sharedKvS3AccessKeyId(), config.sharedKvS3SecretAccessKey()));
    }

    private void registerMeters(Worker worker) {
        WorkerMetrics metrics = worker.metrics();
        Gauge.builder("ul.worker.prefilled.tokens", metrics, WorkerMetrics::prefilledTokens)
                .description("Context and question tokens computed by prefill").register(registry);
        Gauge.builder("ul.worker.reused.tokens", metrics, WorkerMetrics::reusedTokens)
                .description("Prompt tokens taken from a KV cache instead of prefilled").register(registry);
        Gauge.builder("ul.worker.decoded.tokens", metrics, WorkerMetrics::decodedTokens).register(registry);
        Gauge.builder("ul.worker.prefill.tokens.per.second", metrics, WorkerMetrics::prefillTokensPerSecond).register(registry);
        Gauge.builder("ul.worker.decode.tokens.per.second", metrics, WorkerMetrics::decodeTokensPerSecond).register(registry);
        Gauge.builder("ul.worker.kv.memory.hits", metrics, WorkerMetrics::memoryHits).register(registry);
        Gauge.builder("ul.worker.kv.memory.misses", metrics, WorkerMetrics::memoryMisses).register(registry);
        Gauge.builder("ul.worker.kv.memory.bytes", worker.engine(), e -> e.kvMemoryBytes())
                .description("KV caches of recent sessions held on the device").register(registry);
        Gauge.builder("ul.worker.kv.persist.queue.bytes", worker.engine(), e -> e.kvPersistQueueBytes())
                .description("KV blocks exported and waiting for the context store (write-behind)").register(registry);
        Gauge.builder("ul.worker.kv.persisted.blocks", worker.engine(), e -> e.kvBlocksPersisted())
                .description("KV blocks made durable by the write-behind writer").register(registry);
        Gauge.builder("ul.worker.kv.persisted.partial.blocks", worker.engine(), e -> e.kvPartialBlocksPersisted())
                .description("Sessions' unfinished last KV blocks made durable (each replaced by the next or the full block)")
                .register(registry);
        Gauge.builder("ul.worker.kv.persist.deferred", worker.engine(), e -> e.kvPersistDeferred())
                .description("KV blocks that found the write-behind queue full and stayed in memory to be offered again")
                .register(registry);
        Gauge.builder("ul.worker.kv.refused", metrics, WorkerMetrics::refusedForMemory)
                .description("Queries refused before prefill: the session's KV does not fit (context-exceeds-device-memory)")
                .register(registry);
        Gauge.builder("ul.worker.kv.memory.evictions", metrics, WorkerMetrics::evictedForRoom)
                .description("Sessions' in-memory KV evicted to admit another session's query").register(registry);
        Gauge.builder("ul.worker.queue.depth", worker.node().scheduler(), s -> s.queued()).register(registry);
        Gauge.builder("ul.worker.partitions.owned", worker.node().tokens(), t -> t.owned().size()).register(registry);
        Gauge.builder("ul.worker.watch.evaluations", worker.node().watches(), w -> w.evaluations()).register(registry);
        Gauge.builder("ul.worker.watch.announced", worker.node().watches(), w -> w.announced())
                .description("Watch answers written to ul.answers (those notifyWhen let through)").register(registry);
        Gauge.builder("ul.worker.store.kv.hits", worker, w -> storeStat(w, "hits")).register(registry);
        Gauge.builder("ul.worker.store.kv.shared.hits", worker, w -> storeStat(w, "shared-hits"))
                .description("KV blocks restored from the shared KV directory (included in the hits)").register(registry);
        Gauge.builder("ul.worker.store.kv.shared.errors", worker, w -> storeStat(w, "shared-errors"))
                .description("Shared KV directory reads and writes that failed (queries went on without them)").register(registry);
        Gauge.builder("ul.worker.store.kv.misses", worker, w -> storeStat(w, "misses")).register(registry);
        Gauge.builder("ul.worker.store.kv.dropped", worker, w -> storeStat(w, "dropped")).register(registry);
        Gauge.builder("ul.worker.store.chunk.gaps", worker.ledger(), l -> l.gaps()).register(registry);
        Gauge.builder("ul.worker.chunks.rejected", worker.ledger(), l -> l.rejected())
                .description("Records on the tokens topic that were not token chunks").register(registry);
        Gauge.builder("ul.worker.chunks.dead.lettered", worker.node().tokens(), t -> t.deadLettered())
                .description("Token chunks the worker could not apply, moved to the tokens DLQ with their reason").register(registry);
        Gauge.builder("ul.worker.chunks.dead.letter.failures", worker.node().tokens(), t -> t.deadLetterFailures())
                .description("Refused token chunks that could not be written to the tokens DLQ (see the log)").register(registry);
    }

    private static double storeStat(Worker worker, String which) {
        try {
            var statistics = worker.store().statistics();
            return switch (which) {
                case "hits" -> statistics.kvBlockHits();
                case "shared-hits" -> statistics.kvSharedBlockHits();
                case "shared-errors" -> statistics.kvSharedErrors();
                case "misses" -> statistics.kvBlockMisses();
                default -> statistics.corruptBlocksDropped() + statistics.foreignBlocksDropped();
            };
        } catch (Exception e) {
            return Double.NaN;
        }
    }

    /** Null until started. */
    public Worker worker() {
        return worker;
    }

    @PreDestroy
    void stop() throws InterruptedException {
        if (worker != null) {
            worker.close();
        }
    }
}
