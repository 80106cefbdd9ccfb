package io.ultralong.worker;

import java.nio.file.Files;
import java.nio.file.Path;

import io.opentelemetry.api.OpenTelemetry;
import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.generate.StopTokens;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.ModelResolver;
import io.ultralong.runtime.synthetic.DemoModel;
import io.ultralong.store.ContextStore;
import io.ultralong.worker.model.ModelAnswerEngine;
import io.ultralong.worker.model.WorkerMetrics;
import io.ultralong.worker.session.StoreSessionLedger;
import org.rocksdb.RocksDBException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A whole worker in plain Java: context store, model, engine and Kafka node, started in that order
 * and closed in reverse. The Quarkus service and the embedded platform both run one of these.
 */
public final class Worker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /** How long a shutdown waits for queued KV blocks to be written before the partitions are given up. */
    private static final java.time.Duration SHUTDOWN_KV_DRAIN = java.time.Duration.ofSeconds(30);
    private static final long BLOCK_CACHE_BYTES = 256L << 20;

    private final ContextStore store;
    /** The shared KV bucket's client when the tier is an object store (closed after the store), else null. */
    private final S3Client sharedKvClient;
    private final LlamaRuntime runtime;
    private final ModelAnswerEngine engine;
    private final StoreSessionLedger ledger;
    private final WorkerNode node;
    private final WorkerMetrics metrics = new WorkerMetrics();
    private final boolean demoModel;

    private Worker(WorkerSettings settings, ModelSettings model) throws RocksDBException {
        Path modelDir;
        if (model.modelDir().isPresent()) {
            modelDir = model.modelDir().get();
            demoModel = false;
        } else {
            modelDir = DemoModel.ensure(settings.dataDir().resolve("demo-model"));
            demoModel = true;
        }
        this.sharedKvClient = model.sharedKvObjectStore().map(SharedKvObjectStore::newClient).orElse(null);
        try {
            this.store = openStore(settings.dataDir().resolve("store"), model, sharedKvClient);
        } catch (RocksDBException | RuntimeException e) {
            closeSharedKvClient();
            throw e;
        }
        try {
            ModelDirectory directory = demoModel ? ModelDirectory.resolve(modelDir)
                    : resolveModel(modelDir, ModelResolver.fromEnvironment());
            LOG.info("Loading model {} on {}", directory.root(), model.device());
            RuntimeOptions defaults = RuntimeOptions.defaults();
            this.runtime = LlamaRuntime.load(directory, new RuntimeOptions(model.device(), model.prefillChunkTokens(),
                    model.kvBlockTokens(), defaults.attentionBlockTokens(), model.kvOnHost()).withPlacement(model.kvPlacement())
                    .withPrecision(model.precision()).withKvPrecision(model.kvPrecision()));
            String modelId = demoModel ? DemoModel.ID : model.modelId();
            this.engine = new ModelAnswerEngine(runtime, StopTokens.of(directory, runtime.tokenizer()), store, model.systemPrompt(), modelId, demoModel,
                    model.kv(), metrics);
            this.ledger = new StoreSessionLedger(store);
            this.node = new WorkerNode(settings, ledger, engine);
            node.requests().inspectWith(new WorkerInspector(settings.workerId(), store, ledger, engine, metrics, node,
                    node::tokenPartitions, modelId, demoModel ? "none (random weights)" : WorkerInspector.licenceOf(directory.root()),
                    runtime.device(), model.kvOnHost(), demoModel));
        } catch (RuntimeException e) {
            store.close();
            closeSharedKvClient();
            throw e;
        }
        if (demoModel) {
            LOG.warn(DemoModel.WARNING);
        }
    }

    /**
     * The worker's context store with the shared KV tier its settings name: a directory, a bucket through
     * {@code sharedKvClient} (a client of {@link SharedKvObjectStore#newClient()}), or none.
     */
    public static ContextStore openStore(Path dir, ModelSettings model, S3Client sharedKvClient) throws RocksDBException {
        if (model.sharedKvObjectStore().isPresent()) {
            SharedKvObjectStore bucket = model.sharedKvObjectStore().get();
            LOG.info("Shared KV tier: {}", bucket);
            return ContextStore.open(dir, BLOCK_CACHE_BYTES, model.kvDiskQuotaBytes(), bucket.tier(sharedKvClient));
        }
        return ContextStore.open(dir, BLOCK_CACHE_BYTES, model.kvDiskQuotaBytes(), model.sharedKvDir().orElse(null));
    }

    private void closeSharedKvClient() {
        if (sharedKvClient != null) {
            sharedKvClient.close();
        }
    }

    /** A model directory, hub cache folder or hub id, resolved (and downloaded) as ingest resolves its tokenizer. */
    static ModelDirectory resolveModel(Path configured, ModelResolver resolver) {
        return ModelDirectory.resolve(resolver.resolve(configured.toString()).directory());
    }

    /** Opens the store, loads the model and joins the group; queries are not traced. */
    public static Worker start(WorkerSettings settings, ModelSettings model) {
        return start(settings, model, OpenTelemetry.noop());
    }

    /**
     * Opens the store, loads the model and joins the group; queries' spans are made with {@code telemetry}, as
     * children of the trace context their requests carry.
     */
    public static Worker start(WorkerSettings settings, ModelSettings model, OpenTelemetry telemetry) {
        try {
            Files.createDirectories(settings.dataDir());
            Worker worker = new Worker(settings, model);
            worker.node.requests().traceWith(telemetry);
            worker.node.start();
            LOG.info("Worker {} started (group {}, data {})", settings.workerId(), settings.groupId(), settings.dataDir());
            return worker;
        } catch (RocksDBException | java.io.IOException e) {
            throw new IllegalStateException("cannot open the worker's data directory " + settings.dataDir(), e);
        }
    }

    public WorkerNode node() {
        return node;
    }

    public ContextStore store() {
        return store;
    }

    public LlamaRuntime runtime() {
        return runtime;
    }

    public ModelAnswerEngine engine() {
        return engine;
    }

    public StoreSessionLedger ledger() {
        return ledger;
    }

    public WorkerMetrics metrics() {
        return metrics;
    }

    public boolean demoModel() {
        return demoModel;
    }

    @Override
    public void close() throws InterruptedException {
        try {
            // Closing the node gives the partitions up, which drops their queued KV writes (right when a partition
            // moves on, wasteful on a shutdown): let what is queued reach the store first.
            if (!engine.awaitPersisted(SHUTDOWN_KV_DRAIN)) {
                LOG.warn("KV write-behind not drained within {}; the rest is dropped with the partitions", SHUTDOWN_KV_DRAIN);
            }
            node.close();
        } finally {
            engine.close();
            runtime.close();
            store.close();
            closeSharedKvClient();
        }
    }
}
