package io.ultralong.platform;

import java.nio.file.Path;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.runtime.engine.KvPlacement;
import io.ultralong.worker.ModelSettings;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The embedded worker's model settings, read from the worker service's own {@code ul.worker.*} keys with its
 * defaults, so both deployments take the same settings and environment variables. The model directory and the
 * device come from the platform's options instead.
 */
@ApplicationScoped
public class WorkerModelConfig {

    @ConfigProperty(name = "ul.worker.prefill-chunk-tokens", defaultValue = ModelSettings.DEFAULT_PREFILL_CHUNK_TOKENS)
    int prefillChunkTokens;

    @ConfigProperty(name = "ul.worker.kv-block-tokens", defaultValue = ModelSettings.DEFAULT_KV_BLOCK_TOKENS)
    int kvBlockTokens;

    @ConfigProperty(name = "ul.worker.kv-memory-bytes", defaultValue = ModelSettings.DEFAULT_KV_MEMORY_BYTES)
    long kvMemoryBytes;

    @ConfigProperty(name = "ul.worker.kv-disk-quota-bytes", defaultValue = ModelSettings.DEFAULT_KV_DISK_QUOTA_BYTES)
    long kvDiskQuotaBytes;

    @ConfigProperty(name = "ul.worker.kv-on-host", defaultValue = ModelSettings.DEFAULT_KV_ON_HOST)
    boolean kvOnHost;

    @ConfigProperty(name = "ul.worker.precision", defaultValue = ModelSettings.DEFAULT_PRECISION)
    String precision;

    @ConfigProperty(name = "ul.worker.kv-precision", defaultValue = ModelSettings.DEFAULT_KV_PRECISION)
    String kvPrecision;

    @ConfigProperty(name = "ul.worker.kv-persist-queue-bytes", defaultValue = ModelSettings.DEFAULT_KV_PERSIST_QUEUE_BYTES)
    long kvPersistQueueBytes;

    @ConfigProperty(name = "ul.worker.kv-restore-read-ahead-blocks", defaultValue = ModelSettings.DEFAULT_KV_RESTORE_READ_AHEAD_BLOCKS)
    int kvRestoreReadAheadBlocks;

    @ConfigProperty(name = "ul.worker.kv-device-headroom-bytes", defaultValue = ModelSettings.DEFAULT_KV_DEVICE_HEADROOM_BYTES)
    long kvDeviceHeadroomBytes;

    /** A session's KV over several devices and the host tier, as the worker service (docs/worker.md). */
    @ConfigProperty(name = "ul.worker.devices")
    Optional<String> devices;

    @ConfigProperty(name = "ul.worker.device-kv-bytes", defaultValue = "0")
    long deviceKvBytes;

    @ConfigProperty(name = "ul.worker.host-kv-bytes", defaultValue = "0")
    long hostKvBytes;

    @ConfigProperty(name = "ul.worker.system-prompt")
    Optional<String> systemPrompt;

    @ConfigProperty(name = "ul.worker.model-id", defaultValue = ModelSettings.DEFAULT_MODEL_ID)
    String modelId;

    ModelSettings settings(Optional<Path> modelDir, String device) {
        return new ModelSettings(modelDir, device, prefillChunkTokens, kvBlockTokens, kvMemoryBytes, kvDiskQuotaBytes,
                systemPrompt.orElse(ModelSettings.DEFAULT_SYSTEM_PROMPT), modelId, kvOnHost, Optional.empty(),
                kvPersistQueueBytes, kvRestoreReadAheadBlocks, kvDeviceHeadroomBytes)
                .withKvPlacement(KvPlacement.SINGLE.withDevices(KvPlacement.parseDevices(devices.orElse("")))
                        .withDeviceKvBytes(deviceKvBytes).withHostKvBytes(hostKvBytes))
                .withPrecision(precision, kvPrecision);
    }
}
