package io.ultralong.store;

import static io.ultralong.store.StoreKeys.sessionKey;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The local KV disk quota and its least-recently-used order: the live bytes of local block files (rebuilt from
 * the block index at open) and {@code kv_access} (session -> logical time of its last KV write or read). Which
 * session to evict is decided here; the eviction itself is the block store's.
 */
final class KvQuota {

    private final RocksDB db;
    private final WriteOptions writeOptions;
    private final ColumnFamilyHandle access;
    private final long quotaBytes;
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong clock = new AtomicLong();

    KvQuota(RocksDB db, WriteOptions writeOptions, ColumnFamilyHandle access, long quotaBytes, long storedBytes) {
        this.db = db;
        this.writeOptions = writeOptions;
        this.access = access;
        // 0 (or less) means no quota, as the worker's kv-disk-quota-bytes documents: taken literally it would evict
        // every session's blocks on every write
        this.quotaBytes = quotaBytes <= 0 ? Long.MAX_VALUE : quotaBytes;
        bytes.set(storedBytes);
        long latest = System.currentTimeMillis() * 1000;
        try (RocksIterator it = db.newIterator(access)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                latest = Math.max(latest, ByteBuffer.wrap(it.value()).getLong() + 1);
            }
        }
        clock.set(latest);
    }

    long bytes() {
        return bytes.get();
    }

    void add(long delta) {
        bytes.addAndGet(delta);
    }

    boolean exceeded() {
        return bytes.get() > quotaBytes;
    }

    /** Marks the session as just used, in the batch that writes its block. */
    void touch(WriteBatch batch, String session) throws RocksDBException {
        batch.put(access, sessionKey(session), StoreKeys.longValue(clock.incrementAndGet()));
    }

    /** Marks the session as just used (a read hit). */
    void touch(String session) throws RocksDBException {
        db.put(access, writeOptions, sessionKey(session), StoreKeys.longValue(clock.incrementAndGet()));
    }

    void forget(WriteBatch batch, String session) throws RocksDBException {
        batch.delete(access, sessionKey(session));
    }

    /** The least recently used session other than {@code except}, or null. */
    String leastRecentlyUsed(String except) {
        String victim = null;
        long oldest = Long.MAX_VALUE;
        try (RocksIterator it = db.newIterator(access)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                String s = new String(it.key(), UTF_8);
                long at = ByteBuffer.wrap(it.value()).getLong();
                if (!s.equals(except) && at < oldest) {
                    oldest = at;
                    victim = s;
                }
            }
        }
        return victim;
    }
}
