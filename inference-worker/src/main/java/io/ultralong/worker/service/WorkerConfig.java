package io.ultralong.worker.service;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.ultralong.worker.ModelSettings;
import io.ultralong.worker.SharedKvObjectStore;

/** Settings of the worker service, under {@code ul.worker.*}; each also as an environment variable ({@code UL_WORKER_DEVICE}, ...). */
@ConfigMapping(prefix = "ul.worker")
public interface WorkerConfig {

    /** HF model directory or hub cache directory; absent: the built-in demo model (meaningless answers). */
    Optional<Path> modelDir();

    /** {@code cpu}, {@code gpu}, {@code cuda:N} or {@code auto}. */
    @WithDefault("auto")
    String device();

    /** Stable identity of this worker in the group (static membership): keep it across restarts. */
    @WithDefault("worker-1")
    String id();

    /** Consumer group of all workers. */
    @WithDefault("ul-workers")
    String groupId();

    /** The context store (RocksDB) and the demo model live here. */
    @WithDefault("data/worker")
    Path dataDir();

    /** How long the group waits for a restarting worker before moving its partitions to others. */
    @WithDefault("PT30S")
    Duration sessionTimeout();

    /**
     * Liveness turns DOWN when the model thread goes this long without progress (no prefill chunk, no token, no
     * finished query) while it works: a hung job. Keep it above the slowest single prefill chunk.
     */
    @WithDefault(io.ultralong.worker.WorkerSettings.DEFAULT_MODEL_STALL_TIMEOUT)
    Duration modelStallTimeout();

    /** Queries waiting beyond this are refused with {@code unavailable}. */
    @WithDefault("256")
    int maxQueuedQueries();

    /**
     * Of {@link #maxQueuedQueries()}, the queries one tenant (the session key up to its first {@code /}) may hold;
     * its next ones are refused with {@code unavailable} while other tenants' are still taken.
     */
    @WithDefault("64")
    int maxQueuedQueriesPerTenant();

    @WithDefault(ModelSettings.DEFAULT_PREFILL_CHUNK_TOKENS)
    int prefillChunkTokens();

    @WithDefault(ModelSettings.DEFAULT_KV_BLOCK_TOKENS)
    int kvBlockTokens();

    /** KV caches of recent sessions kept in memory (the device's, or the host's with {@link #kvOnHost()}). */
    @WithDefault(ModelSettings.DEFAULT_KV_MEMORY_BYTES)
    long kvMemoryBytes();

    /** Persisted KV blocks on disk, least recently used sessions evicted first; 0: unlimited. */
    @WithDefault(ModelSettings.DEFAULT_KV_DISK_QUOTA_BYTES)
    long kvDiskQuotaBytes();

    /**
     * A directory every worker mounts (shared volume, network file system): KV blocks are also persisted there, so
     * whoever owns a partition next restores its sessions' KV instead of recomputing it.
     */
    Optional<Path> sharedKvDir();

    /**
     * A session's KV spread over these devices, filled in order ({@code cuda:0,cuda:1,...}); the first also computes
     * and replaces {@link #device()}. Absent: KV on {@link #device()} alone.
     */
    Optional<java.util.List<String>> devices();

    /**
     * KV bytes each of {@link #devices()} holds; 0: on CUDA the device's memory less the weights (first device) and a
     * 2 GiB reserve, on the CPU no limit.
     */
    @WithDefault("0")
    long deviceKvBytes();

    /** Host memory for the oldest KV blocks of sessions longer than the devices hold (streamed during attention); 0: none. */
    @WithDefault("0")
    long hostKvBytes();

    /**
     * The dtype the model computes in: auto (bf16 on CUDA for a bf16 checkpoint, else f16; f32 on the CPU), f32, f16
     * or bf16.
     */
    @WithDefault(ModelSettings.DEFAULT_PRECISION)
    String precision();

    /** KV cache storage: auto (the compute dtype), or int8 / fp8 quantised with per-block scales. */
    @WithDefault(ModelSettings.DEFAULT_KV_PRECISION)
    String kvPrecision();

    /**
     * An S3-compatible bucket as the shared KV tier instead of {@link #sharedKvDir()}, for workers that share no file
     * system; the bucket must exist. Credentials: {@link #sharedKvS3AccessKeyId()} or the AWS SDK's default chain.
     */
    Optional<String> sharedKvS3Bucket();

    /** Key prefix of this cluster's blocks in the bucket. */
    Optional<String> sharedKvS3Prefix();

    /** An S3-compatible server (MinIO, Ceph, ...); absent: AWS S3 in {@link #sharedKvS3Region()}. */
    Optional<URI> sharedKvS3Endpoint();

    @WithDefault(SharedKvObjectStore.DEFAULT_REGION)
    String sharedKvS3Region();

    /** Path-style URLs (endpoint/bucket/key), which most S3-compatible servers need. */
    @WithDefault("false")
    boolean sharedKvS3PathStyle();

    /** Static credentials for the bucket; absent: environment, profile or instance role (the SDK's default chain). */
    Optional<String> sharedKvS3AccessKeyId();

    Optional<String> sharedKvS3SecretAccessKey();

    /** Keep KV in host memory and stream it to the GPU during attention: contexts beyond GPU memory, slower. */
    @WithDefault(ModelSettings.DEFAULT_KV_ON_HOST)
    boolean kvOnHost();

    /**
     * Host copies of KV blocks waiting to be written to the context store behind the model; when full, new blocks
     * stay in memory and are offered again later, so a slow disk never slows a prefill.
     */
    @WithDefault(ModelSettings.DEFAULT_KV_PERSIST_QUEUE_BYTES)
    long kvPersistQueueBytes();

    /** KV blocks read and verified ahead of the model's import when a session is restored from the store. */
    @WithDefault(ModelSettings.DEFAULT_KV_RESTORE_READ_AHEAD_BLOCKS)
    int kvRestoreReadAheadBlocks();

    /** On a CUDA device, memory kept free of KV for activations when admitting a session's KV. */
    @WithDefault(ModelSettings.DEFAULT_KV_DEVICE_HEADROOM_BYTES)
    long kvDeviceHeadroomBytes();

    Optional<String> systemPrompt();

    @WithDefault(ModelSettings.DEFAULT_MODEL_ID)
    String modelId();
}
