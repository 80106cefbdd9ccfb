package io.ultralong.store;

import static io.ultralong.store.StoreKeys.rangeEnd;
import static io.ultralong.store.StoreKeys.seqKey;
import static io.ultralong.store.StoreKeys.sessionPrefix;
import static io.ultralong.store.StoreKeys.startsWith;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.UnaryOperator;

import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The per-session token log ({@code tokens}: session|seq -> first position, source offset, int32 tokens) and the
 * partitions' consumer watermarks ({@code watermarks}: partition -> next offset). A chunk, the session's counters
 * and the watermark are written in one batch, so after a crash all three are there or none.
 */
final class TokenLog {

    private static final int CHUNK_HEADER_BYTES = 2 * Long.BYTES;

    private final RocksDB db;
    private final WriteOptions writeOptions;
    private final ColumnFamilyHandle tokens;
    private final ColumnFamilyHandle watermarks;
    private final SessionTable sessions;

    TokenLog(RocksDB db, WriteOptions writeOptions, ColumnFamilyHandle tokens, ColumnFamilyHandle watermarks,
             SessionTable sessions) {
        this.db = db;
        this.writeOptions = writeOptions;
        this.tokens = tokens;
        this.watermarks = watermarks;
        this.sessions = sessions;
    }

    /** See {@link ContextStore#appendChunk(String, long, long, long, int[], int, long, UnaryOperator)}; the caller holds the write lock. */
    AppendResult append(String session, long seq, long firstPosition, long sourceOffset, int[] chunk, int partition,
                        long consumedOffset, UnaryOperator<byte[]> nextMetadata) throws RocksDBException {
        SessionInfo info = sessions.get(session);
        long lastSeq = info == null ? 0 : info.lastSeq();
        if (seq <= lastSeq) {
            return AppendResult.duplicate(lastSeq + 1);
        }
        if (seq != lastSeq + 1) {
            return AppendResult.gap(lastSeq + 1);
        }
        long tokenCount = info == null ? 0 : info.tokenCount();
        if (firstPosition != tokenCount) {
            throw new IllegalArgumentException("chunk " + seq + " of " + session + " starts at position "
                    + firstPosition + " but the log holds " + tokenCount + " tokens");
        }
        long now = System.currentTimeMillis();
        ByteBuffer value = ByteBuffer.allocate(CHUNK_HEADER_BYTES + chunk.length * Integer.BYTES);
        value.putLong(firstPosition).putLong(sourceOffset);
        for (int t : chunk) {
            value.putInt(t);
        }
        SessionInfo next = new SessionInfo(session, seq, sourceOffset, tokenCount + chunk.length,
                info == null ? now : info.createdMillis(), now,
                nextMetadata.apply(info == null ? new byte[0] : info.metadata()));
        try (WriteBatch batch = new WriteBatch()) {
            batch.put(tokens, seqKey(session, seq), value.array());
            sessions.put(batch, next);
            if (partition >= 0) {
                batch.put(watermarks, partitionKey(partition), StoreKeys.longValue(consumedOffset + 1));
            }
            db.write(writeOptions, batch);
        }
        return AppendResult.applied(seq + 1);
    }

    long appliedOffset(int partition) throws RocksDBException {
        byte[] v = db.get(watermarks, partitionKey(partition));
        return v == null ? -1 : ByteBuffer.wrap(v).getLong();
    }

    /** Forgets the partition's watermark: it is read again from its start. */
    void resetWatermark(int partition) throws RocksDBException {
        db.delete(watermarks, writeOptions, partitionKey(partition));
    }

    /** Records that offsets [from, to) of the partition were gone from Kafka before they were applied here. */
    void markLost(int partition, long from, long to) throws RocksDBException {
        db.put(watermarks, writeOptions, lostKey(partition), ByteBuffer.allocate(2 * Long.BYTES).putLong(from).putLong(to).array());
    }

    /** {from, to} of the last loss recorded for the partition, or null. */
    long[] lost(int partition) throws RocksDBException {
        byte[] v = db.get(watermarks, lostKey(partition));
        if (v == null) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(v);
        return new long[] {b.getLong(), b.getLong()};
    }

    /** Tokens of the chunks with seq <= maxSeq and sourceOffset <= maxSourceOffset, in position order. */
    int[] read(String session, long maxSeq, long maxSourceOffset) throws RocksDBException {
        SessionInfo info = sessions.get(session);
        if (info == null) {
            return new int[0];
        }
        int[] out = new int[Math.toIntExact(info.tokenCount())];
        int filled = 0;
        byte[] prefix = sessionPrefix(session);
        try (RocksIterator it = db.newIterator(tokens)) {
            for (it.seek(seqKey(session, 1)); it.isValid() && startsWith(it.key(), prefix); it.next()) {
                long seq = ByteBuffer.wrap(it.key(), prefix.length, Long.BYTES).getLong();
                ByteBuffer v = ByteBuffer.wrap(it.value());
                long first = v.getLong();
                long sourceOffset = v.getLong();
                if (seq > maxSeq || sourceOffset > maxSourceOffset) {
                    break;
                }
                if (first != filled) {
                    throw new IllegalStateException("token log of " + session + " not contiguous at seq " + seq);
                }
                while (v.hasRemaining()) {
                    out[filled++] = v.getInt();
                }
            }
            it.status();
        }
        return filled == out.length ? out : Arrays.copyOf(out, filled);
    }

    /** Adds the removal of the session's log to a batch. */
    void delete(WriteBatch batch, String session) throws RocksDBException {
        byte[] prefix = sessionPrefix(session);
        batch.deleteRange(tokens, prefix, rangeEnd(prefix));
    }

    /** Beside the watermarks, longer than their 4-byte keys so the two never meet. */
    private static byte[] lostKey(int partition) {
        return ByteBuffer.allocate(5 + Integer.BYTES).put("lost:".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                .putInt(partition).array();
    }

    private static byte[] partitionKey(int partition) {
        return ByteBuffer.allocate(Integer.BYTES).putInt(partition).array();
    }
}
