package io.ultralong.store;

import static io.ultralong.store.StoreKeys.rangeEnd;
import static io.ultralong.store.StoreKeys.seqKey;
import static io.ultralong.store.StoreKeys.sessionKey;
import static io.ultralong.store.StoreKeys.sessionPrefix;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * Sessions, their raw records and their standing queries' progress: column families {@code sessions}
 * (session -> counters + metadata blob), {@code records} (session|seq -> record bytes) and {@code watch_progress}
 * (session|watch -> context tokens covered). Writers hold the store's write lock.
 */
final class SessionTable {

    private static final int SESSION_VALUE_FIXED = 5 * Long.BYTES;

    private final RocksDB db;
    private final WriteOptions writeOptions;
    private final ColumnFamilyHandle sessions;
    private final ColumnFamilyHandle records;
    private final ColumnFamilyHandle watchProgress;

    SessionTable(RocksDB db, WriteOptions writeOptions, ColumnFamilyHandle sessions, ColumnFamilyHandle records,
                 ColumnFamilyHandle watchProgress) {
        this.db = db;
        this.writeOptions = writeOptions;
        this.sessions = sessions;
        this.records = records;
        this.watchProgress = watchProgress;
    }

    SessionInfo get(String session) throws RocksDBException {
        byte[] v = db.get(sessions, sessionKey(session));
        return v == null ? null : decode(session, v);
    }

    /** Adds the session's new counters to a batch (the token log writes them with its chunk). */
    void put(WriteBatch batch, SessionInfo info) throws RocksDBException {
        batch.put(sessions, sessionKey(info.sessionKey()), encode(info));
    }

    List<String> list() {
        List<String> out = new ArrayList<>();
        try (RocksIterator it = db.newIterator(sessions)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                out.add(new String(it.key(), UTF_8));
            }
        }
        return out;
    }

    void putMetadata(String session, byte[] metadata) throws RocksDBException {
        SessionInfo info = get(session);
        long now = System.currentTimeMillis();
        SessionInfo next = info == null
                ? new SessionInfo(session, 0, -1, 0, now, now, metadata)
                : new SessionInfo(session, info.lastSeq(), info.lastSourceOffset(), info.tokenCount(),
                        info.createdMillis(), now, metadata);
        db.put(sessions, writeOptions, sessionKey(session), encode(next));
    }

    void putRecord(String session, long seq, byte[] record) throws RocksDBException {
        db.put(records, writeOptions, seqKey(session, seq), record);
    }

    byte[] record(String session, long seq) throws RocksDBException {
        return db.get(records, seqKey(session, seq));
    }

    void putWatchProgress(String session, String watchId, long contextTokens) throws RocksDBException {
        db.put(watchProgress, writeOptions, watchKey(session, watchId), StoreKeys.longValue(contextTokens));
    }

    long watchProgress(String session, String watchId) throws RocksDBException {
        byte[] value = db.get(watchProgress, watchKey(session, watchId));
        return value == null ? -1 : ByteBuffer.wrap(value).getLong();
    }

    void deleteWatchProgress(String session, String watchId) throws RocksDBException {
        db.delete(watchProgress, writeOptions, watchKey(session, watchId));
    }

    /** Adds the removal of the session, its records and watch progress to a batch. */
    void delete(WriteBatch batch, String session) throws RocksDBException {
        byte[] prefix = sessionPrefix(session);
        batch.delete(sessions, sessionKey(session));
        batch.deleteRange(records, prefix, rangeEnd(prefix));
        batch.deleteRange(watchProgress, prefix, rangeEnd(prefix));
    }

    private static byte[] watchKey(String session, String watchId) {
        byte[] prefix = sessionPrefix(session);
        byte[] id = watchId.getBytes(UTF_8);
        return ByteBuffer.allocate(prefix.length + id.length).put(prefix).put(id).array();
    }

    private static byte[] encode(SessionInfo s) {
        return ByteBuffer.allocate(SESSION_VALUE_FIXED + s.metadata().length)
                .putLong(s.lastSeq()).putLong(s.lastSourceOffset()).putLong(s.tokenCount())
                .putLong(s.createdMillis()).putLong(s.updatedMillis()).put(s.metadata()).array();
    }

    private static SessionInfo decode(String session, byte[] v) {
        ByteBuffer b = ByteBuffer.wrap(v);
        long lastSeq = b.getLong();
        long lastOffset = b.getLong();
        long count = b.getLong();
        long created = b.getLong();
        long updated = b.getLong();
        byte[] meta = new byte[b.remaining()];
        b.get(meta);
        return new SessionInfo(session, lastSeq, lastOffset, count, created, updated, meta);
    }
}
