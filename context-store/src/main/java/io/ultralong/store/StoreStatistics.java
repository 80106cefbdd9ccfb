package io.ultralong.store;

/**
 * Snapshot of the store counters a worker exports as metrics; kvBytesStored counts live local KV values (quota
 * accounting); kvBlockHits includes kvSharedBlockHits, the blocks that came from the shared KV directory;
 * kvSharedErrors counts shared-directory reads and writes that failed (the query went on without them).
 */
public record StoreStatistics(long kvBytesStored, long kvBlocksWritten, long kvBlockHits, long kvBlockMisses,
                              long corruptBlocksDropped, long foreignBlocksDropped, long kvEvictions,
                              long kvSharedBlockHits, long kvSharedErrors) {
}
