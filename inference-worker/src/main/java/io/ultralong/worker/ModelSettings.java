package io.ultralong.worker;

import java.nio.file.Path;
import java.util.Optional;

import io.ultralong.runtime.engine.KvPlacement;
import io.ultralong.worker.model.KvSettings;

/**
 * The model side of a worker.
 *
 * @param modelDir           an HF model directory or hub cache directory; empty: the built-in demo model
 * @param device             {@code cpu}, {@code gpu}, {@code cuda:N} or {@code auto}
 * @param prefillChunkTokens tokens per prefill step (peak activation memory grows with it)
 * @param kvBlockTokens      tokens per KV block: the unit of caching, persistence and reuse
 * @param kvMemoryBytes      KV the worker may hold on the device (or the host with {@code kvOnHost}): the session
 *                           being answered, whose KV must fit it (else {@code context-exceeds-device-memory}), and the
 *                           recently queried sessions kept for reuse
 * @param kvDiskQuotaBytes   budget for persisted KV blocks in the context store (0: unlimited)
 * @param systemPrompt       the system message of every session's prompt
 * @param modelId            the model's name in answers
 * @param kvOnHost           keep KV in host memory and stream it to the GPU during attention (contexts beyond
 *                           GPU memory); {@code kvMemoryBytes} then budgets host memory
 * @param sharedKvDir        a directory every worker mounts where KV blocks are also persisted, so the next owner
 *                           of a partition restores its sessions' KV instead of recomputing it; empty: local only
 * @param kvPersistQueueBytes     host copies of KV blocks waiting to be written to the context store behind the model
 * @param kvRestoreReadAheadBlocks KV blocks read and verified ahead of the model's import when restoring from the store
 * @param kvDeviceHeadroomBytes   on a CUDA device, memory kept free of KV for the forward pass's activations
 * @param kvPlacement             a session's KV over several devices and the host ({@code ul.worker.devices},
 *                                {@code device-kv-bytes}, {@code host-kv-bytes}); its first device, if it lists any,
 *                                replaces {@code device}
 * @param precision               the compute dtype: {@code auto}, {@code f32}, {@code f16} or {@code bf16} (see
 *                                {@code RuntimeOptions#precision})
 * @param kvPrecision             KV storage: {@code auto} (the compute dtype), {@code int8} or {@code fp8}
 * @param sharedKvObjectStore     an S3-compatible bucket as the shared KV tier instead of {@code sharedKvDir}, for
 *                                workers that share no file system; empty: none
 */
public record ModelSettings(
        Optional<Path> modelDir,
        String device,
        int prefillChunkTokens,
        int kvBlockTokens,
        long kvMemoryBytes,
        long kvDiskQuotaBytes,
        String systemPrompt,
        String modelId,
        boolean kvOnHost,
        Optional<Path> sharedKvDir,
        long kvPersistQueueBytes,
        int kvRestoreReadAheadBlocks,
        long kvDeviceHeadroomBytes,
        KvPlacement kvPlacement,
        String precision,
        String kvPrecision,
        Optional<SharedKvObjectStore> sharedKvObjectStore) {

    public static final String DEFAULT_SYSTEM_PROMPT =
            "You answer questions about the records below, using only what they say. Answer briefly.";

    // Defaults of the worker service's settings, as strings for configuration annotations (the embedded
    // platform reads the same ul.worker.* keys with the same defaults).
    public static final String DEFAULT_PREFILL_CHUNK_TOKENS = "512";
    public static final String DEFAULT_KV_BLOCK_TOKENS = "256";
    public static final String DEFAULT_KV_MEMORY_BYTES = "4294967296";
    public static final String DEFAULT_KV_DISK_QUOTA_BYTES = "0";
    public static final String DEFAULT_KV_ON_HOST = "false";
    public static final String DEFAULT_MODEL_ID = "ultralong-8b";
    public static final String DEFAULT_KV_PERSIST_QUEUE_BYTES = KvSettings.DEFAULT_PERSIST_QUEUE_BYTES;
    public static final String DEFAULT_KV_RESTORE_READ_AHEAD_BLOCKS = KvSettings.DEFAULT_RESTORE_READ_AHEAD_BLOCKS;
    public static final String DEFAULT_KV_DEVICE_HEADROOM_BYTES = KvSettings.DEFAULT_DEVICE_HEADROOM_BYTES;
    public static final String DEFAULT_PRECISION = "auto";
    public static final String DEFAULT_KV_PRECISION = "auto";

    /** KV on one device, precision and KV precision automatic, no object-store tier. */
    public ModelSettings(Optional<Path> modelDir, String device, int prefillChunkTokens, int kvBlockTokens,
                         long kvMemoryBytes, long kvDiskQuotaBytes, String systemPrompt, String modelId, boolean kvOnHost,
                         Optional<Path> sharedKvDir, long kvPersistQueueBytes, int kvRestoreReadAheadBlocks,
                         long kvDeviceHeadroomBytes) {
        this(modelDir, device, prefillChunkTokens, kvBlockTokens, kvMemoryBytes, kvDiskQuotaBytes, systemPrompt, modelId,
                kvOnHost, sharedKvDir, kvPersistQueueBytes, kvRestoreReadAheadBlocks, kvDeviceHeadroomBytes, KvPlacement.SINGLE,
                DEFAULT_PRECISION, DEFAULT_KV_PRECISION, Optional.empty());
    }

    public ModelSettings {
        if (sharedKvDir.isPresent() && sharedKvObjectStore.isPresent()) {
            throw new IllegalArgumentException("The shared KV tier is either a directory (ul.worker.shared-kv-dir) or a "
                    + "bucket (ul.worker.shared-kv-s3-bucket), not both");
        }
    }

    /** The KV persistence and restore settings at their defaults. */
    public ModelSettings(Optional<Path> modelDir, String device, int prefillChunkTokens, int kvBlockTokens,
                         long kvMemoryBytes, long kvDiskQuotaBytes, String systemPrompt, String modelId, boolean kvOnHost,
                         Optional<Path> sharedKvDir) {
        this(modelDir, device, prefillChunkTokens, kvBlockTokens, kvMemoryBytes, kvDiskQuotaBytes, systemPrompt, modelId,
                kvOnHost, sharedKvDir, Long.parseLong(DEFAULT_KV_PERSIST_QUEUE_BYTES),
                Integer.parseInt(DEFAULT_KV_RESTORE_READ_AHEAD_BLOCKS), Long.parseLong(DEFAULT_KV_DEVICE_HEADROOM_BYTES));
    }

    /** KV on the compute device. */
    public ModelSettings(Optional<Path> modelDir, String device, int prefillChunkTokens, int kvBlockTokens,
                         long kvMemoryBytes, long kvDiskQuotaBytes, String systemPrompt, String modelId) {
        this(modelDir, device, prefillChunkTokens, kvBlockTokens, kvMemoryBytes, kvDiskQuotaBytes, systemPrompt, modelId, false,
                Optional.empty());
    }

    public ModelSettings withSharedKvDir(Path dir) {
        return new ModelSettings(modelDir, device, prefillChunkTokens, kvBlockTokens, kvMemoryBytes, kvDiskQuotaBytes,
                systemPrompt, modelId, kvOnHost, Optional.of(dir), kvPersistQueueBytes, kvRestoreReadAheadBlocks,
                kvDeviceHeadroomBytes, kvPlacement, precision, kvPrecision, sharedKvObjectStore);
    }

    /** The shared KV tier in a bucket (empty: none, or the directory if one is set). */
    public ModelSettings withSharedKvObjectStore(Optional<SharedKvObjectStore> bucket) {
        return new ModelSettings(modelDir, device, prefillChunkTokens, kvBlockTokens, kvMemoryBytes, kvDiskQuotaBytes,
                systemPrompt, modelId, kvOnHost, sharedKvDir, kvPersistQueueBytes, kvRestoreReadAheadBlocks,
                kvDeviceHeadroomBytes, kvPlacement, precision, kvPrecision, bucket);
    }

    public ModelSettings withKvTransfer(long persistQueueBytes, int restoreReadAheadBlocks, long deviceHeadroomBytes) {
        return new ModelSettings(modelDir, device, prefillChunkTokens, kvBlockTokens, kvMemoryBytes, kvDiskQuotaBytes,
                systemPrompt, modelId, kvOnHost, sharedKvDir, persistQueueBytes, restoreReadAheadBlocks, deviceHeadroomBytes,
                kvPlacement, precision, kvPrecision, sharedKvObjectStore);
    }

    public ModelSettings withKvPlacement(KvPlacement placement) {
        return new ModelSettings(modelDir, device, prefillChunkTokens, kvBlockTokens, kvMemoryBytes, kvDiskQuotaBytes,
                systemPrompt, modelId, kvOnHost, sharedKvDir, kvPersistQueueBytes, kvRestoreReadAheadBlocks,
                kvDeviceHeadroomBytes, placement, precision, kvPrecision, sharedKvObjectStore);
    }

    /** The compute dtype and the KV storage ({@code ul.worker.precision}, {@code ul.worker.kv-precision}). */
    public ModelSettings withPrecision(String dtype, String kvStorage) {
        return new ModelSettings(modelDir, device, prefillChunkTokens, kvBlockTokens, kvMemoryBytes, kvDiskQuotaBytes,
                systemPrompt, modelId, kvOnHost, sharedKvDir, kvPersistQueueBytes, kvRestoreReadAheadBlocks,
                kvDeviceHeadroomBytes, kvPlacement, dtype, kvStorage, sharedKvObjectStore);
    }

    /** How the answer engine holds, persists and restores KV. */
    public KvSettings kv() {
        return new KvSettings(kvMemoryBytes, kvPersistQueueBytes, kvRestoreReadAheadBlocks, kvDeviceHeadroomBytes);
    }
}
