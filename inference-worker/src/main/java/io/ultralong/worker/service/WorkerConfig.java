package io.ultralong.worker.service;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

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

    /** Queries waiting beyond this are refused with {@code unavailable}. */
    @WithDefault("256")
    int maxQueuedQueries();

    @WithDefault("512")
    int prefillChunkTokens();

    @WithDefault("256")
    int kvBlockTokens();

    /** KV caches of recent sessions kept on the device. */
    @WithDefault("4294967296")
    long kvMemoryBytes();

    /** Persisted KV blocks on disk, least recently used sessions evicted first; 0: unlimited. */
    @WithDefault("0")
    long kvDiskQuotaBytes();

    Optional<String> systemPrompt();

    @WithDefault("ultralong-8b")
    String modelId();
}
