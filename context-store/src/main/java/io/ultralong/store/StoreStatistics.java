package io.ultralong.store;

/** Snapshot of the store counters a worker exports as metrics; kvBytesStored counts live KV values (quota accounting). */
public record StoreStatistics(long kvBytesStored, long kvBlocksWritten, long kvBlockHits, long kvBlockMisses,
                              long corruptBlocksDropped, long foreignBlocksDropped, long kvEvictions) {
}
