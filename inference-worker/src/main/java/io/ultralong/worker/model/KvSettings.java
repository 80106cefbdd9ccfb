package io.ultralong.worker.model;

/**
 * How the answer engine holds, persists and restores KV.
 *
 * @param memoryBytes            KV the worker may hold where KV lives (the device, or the host with kv-on-host): the
 *                               session being answered and the recently queried ones kept for reuse; a session whose
 *                               KV alone exceeds it is refused before its prefill
 * @param persistQueueBytes      host copies of KV blocks waiting for the context store (write-behind); when full, new
 *                               blocks stay in memory and are offered again later instead of slowing the model
 * @param restoreReadAheadBlocks verified blocks read ahead of the import when restoring from the store (on an I/O
 *                               thread); 0: the model thread reads, verifies and imports each block in turn
 * @param deviceHeadroomBytes    on a CUDA device, memory kept free of KV for the forward pass's activations
 */
public record KvSettings(long memoryBytes, long persistQueueBytes, int restoreReadAheadBlocks, long deviceHeadroomBytes) {

    public static final String DEFAULT_PERSIST_QUEUE_BYTES = "1073741824";
    public static final String DEFAULT_RESTORE_READ_AHEAD_BLOCKS = "4";
    public static final String DEFAULT_DEVICE_HEADROOM_BYTES = "2147483648";

    public KvSettings {
        if (memoryBytes < 0 || persistQueueBytes < 0 || deviceHeadroomBytes < 0) {
            throw new IllegalArgumentException("KV memory, persist queue and device headroom must not be negative");
        }
        if (restoreReadAheadBlocks < 0) {
            throw new IllegalArgumentException("the KV restore read-ahead must not be negative");
        }
    }

    /** The defaults, with this memory budget. */
    public static KvSettings withMemory(long memoryBytes) {
        return new KvSettings(memoryBytes, Long.parseLong(DEFAULT_PERSIST_QUEUE_BYTES),
                Integer.parseInt(DEFAULT_RESTORE_READ_AHEAD_BLOCKS), Long.parseLong(DEFAULT_DEVICE_HEADROOM_BYTES));
    }
}
