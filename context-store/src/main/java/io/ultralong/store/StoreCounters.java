package io.ultralong.store;

import java.util.concurrent.atomic.AtomicLong;

/** The store's event counters, shared by its parts; {@link #snapshot} gives what a worker exports as metrics. */
final class StoreCounters {

    final AtomicLong kvBlocksWritten = new AtomicLong();
    final AtomicLong kvHits = new AtomicLong();
    final AtomicLong sharedHits = new AtomicLong();
    final AtomicLong sharedErrors = new AtomicLong();
    final AtomicLong kvMisses = new AtomicLong();
    final AtomicLong corruptDropped = new AtomicLong();
    final AtomicLong foreignDropped = new AtomicLong();
    final AtomicLong evictions = new AtomicLong();

    StoreStatistics snapshot(long kvBytesStored) {
        return new StoreStatistics(kvBytesStored, kvBlocksWritten.get(), kvHits.get(), kvMisses.get(),
                corruptDropped.get(), foreignDropped.get(), evictions.get(), sharedHits.get(), sharedErrors.get());
    }
}
