package io.ultralong.worker.model;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import io.ultralong.runtime.kv.KvCache;

/**
 * The KV caches of recently queried sessions, kept on the model's device within a byte budget and
 * evicted least recently used first. Only the model thread touches it. An evicted session is not
 * lost: its persisted KV blocks come back from the context store on its next query.
 */
final class SessionKvCaches implements AutoCloseable {

    /** A session's cache and the exact tokens (chat prefix + context) it holds. */
    static final class Entry {
        final String session;
        /** The tokens partition of the session, to let go of it when the partition moves away. */
        final int partition;
        final KvCache cache;
        int[] tokens;
        /** Which of its blocks are in the context store, or on their way there. */
        KvWriteBehind.Progress persist;

        Entry(String session, int partition, KvCache cache, int[] tokens, KvWriteBehind.Progress persist) {
            this.session = session;
            this.partition = partition;
            this.cache = cache;
            this.tokens = tokens;
            this.persist = persist;
        }
    }

    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final long budgetBytes;
    private final long bytesPerToken;
    /** Told of a session evicted for room (not dropped), before its cache is closed. */
    private final Consumer<Entry> evicting;

    SessionKvCaches(long budgetBytes, long bytesPerToken, Consumer<Entry> evicting) {
        this.budgetBytes = budgetBytes;
        this.bytesPerToken = bytesPerToken;
        this.evicting = evicting;
    }

    Entry get(String session) {
        return entries.get(session);
    }

    void put(Entry entry) {
        Entry previous = entries.put(entry.session, entry);
        if (previous != null && previous != entry) {
            previous.persist.cancel();
            previous.cache.close();
        }
    }

    /** Evicts least recently used sessions, never {@code keep}, until the caches fit the budget. */
    void shrink(String keep) {
        evictUntil(keep, budgetBytes);
    }

    /**
     * Evicts least recently used sessions other than {@code keep} until the others hold at most {@code otherBytes};
     * how many were evicted.
     */
    int makeRoom(String keep, long otherBytes) {
        Entry own = entries.get(keep);
        long ownBytes = own == null ? 0 : own.cache.length() * bytesPerToken;
        return evictUntil(keep, Math.max(0, otherBytes) + ownBytes);
    }

    private int evictUntil(String keep, long maxBytes) {
        int evicted = 0;
        Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
        while (bytes() > maxBytes && it.hasNext()) {
            Entry entry = it.next().getValue();
            if (!entry.session.equals(keep)) {
                evicting.accept(entry);
                entry.cache.close();
                it.remove();
                evicted++;
            }
        }
        return evicted;
    }

    /** Whether the session had a cache. */
    boolean drop(String session) {
        Entry entry = entries.remove(session);
        if (entry != null) {
            entry.persist.cancel();
            entry.cache.close();
        }
        return entry != null;
    }

    /** Drops the caches of the sessions of these partitions; whether there were any. */
    boolean dropPartitions(Set<Integer> partitions) {
        boolean dropped = false;
        Iterator<Entry> it = entries.values().iterator();
        while (it.hasNext()) {
            Entry entry = it.next();
            if (partitions.contains(entry.partition)) {
                entry.persist.cancel();
                entry.cache.close();
                it.remove();
                dropped = true;
            }
        }
        return dropped;
    }

    long bytes() {
        long tokens = 0;
        for (Entry entry : entries.values()) {
            tokens += entry.cache.length();
        }
        return tokens * bytesPerToken;
    }

    /** Each cached session's length in tokens. */
    Map<String, Long> lengths() {
        Map<String, Long> lengths = new java.util.HashMap<>();
        entries.forEach((session, entry) -> lengths.put(session, entry.cache.length()));
        return Map.copyOf(lengths);
    }

    @Override
    public void close() {
        entries.values().forEach(entry -> entry.cache.close());
        entries.clear();
    }
}
