package io.ultralong.worker.session;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.tokens.TokenChunk;
import io.ultralong.protocol.tokens.TokenChunkCodec;
import io.ultralong.store.AppendResult;
import io.ultralong.store.ContextStore;
import io.ultralong.store.SessionInfo;
import org.rocksdb.RocksDBException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session ledger on the worker's RocksDB context store. Each chunk is written together with its
 * partition's next offset in one atomic batch, so after a crash the worker resumes exactly after what
 * the store holds; re-delivered chunks are recognised by their seq and change nothing.
 *
 * <p>Per session the store's metadata blob keeps the session's {@code Progress}: how many whole records
 * were applied and whether the last chunk ended its record, which decides the session's applied seq (a
 * record is visible to {@code minSeq} only when all its chunks are in), plus the metadata it was created
 * with and its latest dead-lettered records, both from marker chunks. A marker chunk (no tokens) takes a
 * seq like any record, so the token log stays gap-free and a query waiting for its offset goes on.
 */
public final class StoreSessionLedger implements SessionLedger {

    private static final Logger LOG = LoggerFactory.getLogger(StoreSessionLedger.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Dead-lettered records remembered per session for answers' warnings: the latest ones. */
    static final int MAX_REJECTIONS = 16;

    private final ContextStore store;
    private final List<Consumer<String>> deletingListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<String>> deletedListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<String>> rebuildingListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<String>> rebuiltListeners = new CopyOnWriteArrayList<>();
    private final AtomicLong gaps = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();

    public StoreSessionLedger(ContextStore store) {
        this.store = store;
    }

    @Override
    public void onSessionDeleting(Consumer<String> listener) {
        deletingListeners.add(listener);
    }

    @Override
    public void onSessionDeleted(Consumer<String> listener) {
        deletedListeners.add(listener);
    }

    @Override
    public long watchProgress(String session, String watchId) {
        try {
            return store.watchProgress(session, watchId);
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot read the progress of watch " + watchId, e);
        }
    }

    @Override
    public void recordWatchProgress(String session, String watchId, long contextTokens) {
        try {
            store.putWatchProgress(session, watchId, contextTokens);
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot record the progress of watch " + watchId, e);
        }
    }

    @Override
    public void forgetWatch(String session, String watchId) {
        try {
            store.deleteWatchProgress(session, watchId);
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot forget watch " + watchId, e);
        }
    }

    @Override
    public long contextTokens(String session) {
        try {
            SessionInfo info = store.session(session);
            return info == null ? 0 : info.tokenCount();
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot read session " + session, e);
        }
    }

    @Override
    public long nextOffset(int partition) {
        try {
            return Math.max(0, store.appliedOffset(partition));
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot read the watermark of partition " + partition, e);
        }
    }

    @Override
    public void apply(int partition, long offset, String session, byte[] value) {
        try {
            if (value == null) {
                deletingListeners.forEach(listener -> listener.accept(session));
                store.deleteSession(session);
                deletedListeners.forEach(listener -> listener.accept(session));
                LOG.info("Deleted session {} (tombstone at {}@{})", session, partition, offset);
                return;
            }
            TokenChunk chunk;
            try {
                chunk = TokenChunkCodec.decode(value);
            } catch (IllegalArgumentException e) {
                // Only ingest writes here; a foreign record must not stop the partition.
                rejected.incrementAndGet();
                throw new RejectedChunkException(RejectedChunkException.UNREADABLE,
                        "unreadable chunk of " + session + " at " + partition + "@" + offset + ": " + e.getMessage());
            }
            // The session's progress is derived inside the chunk's own batch: never one without the other.
            AppendResult result;
            try {
                result = store.appendChunk(session, chunk.seq(), chunk.firstPosition(), chunk.sourceOffset(),
                        chunk.tokens(), partition, offset, metadata -> progress(metadata).after(chunk).encode());
            } catch (IllegalArgumentException e) {
                rejected.incrementAndGet();
                throw new RejectedChunkException(RejectedChunkException.WRONG_POSITION, e.getMessage());
            }
            if (result.status() == AppendResult.Status.GAP) {
                gaps.incrementAndGet();
                long[] lost = store.recordsLost(partition);
                if (lost != null) {
                    // After records of this partition were lost, a gap means this session lost some of them: say so
                    // to every query rather than answer over a context with a hole.
                    markIncomplete(session, "its records before seq " + chunk.seq() + " are incomplete: offsets " + lost[0]
                            + " to " + (lost[1] - 1) + " of tokens partition " + partition
                            + " were gone from Kafka (retention or data loss) before this worker applied them");
                }
                throw new RejectedChunkException(RejectedChunkException.SEQ_GAP, "chunk " + chunk.seq() + " of " + session
                        + " at " + partition + "@" + offset + " leaves a gap (expected seq " + result.expectedSeq() + ")");
            }
        } catch (RocksDBException e) {
            throw new StoreWriteException("the context store failed applying " + partition + "@" + offset + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public java.util.Optional<String> incomplete(String session) {
        try {
            SessionInfo info = store.session(session);
            return info == null ? java.util.Optional.empty() : java.util.Optional.ofNullable(metadata(info).incomplete());
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot read session " + session, e);
        }
    }

    @Override
    public void rebuildPartition(int partition, java.util.function.ToIntFunction<String> partitionOf) {
        try {
            int dropped = 0;
            for (String session : store.listSessions()) {
                if (partitionOf.applyAsInt(session) == partition) {
                    rebuildingListeners.forEach(listener -> listener.accept(session));
                    store.deleteSession(session);
                    rebuiltListeners.forEach(listener -> listener.accept(session));
                    dropped++;
                }
            }
            store.resetPartition(partition);
            LOG.warn("Dropped the {} sessions of tokens partition {} to rebuild them from its log", dropped, partition);
        } catch (RocksDBException e) {
            throw new StoreWriteException("the context store failed dropping tokens partition " + partition + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void recordsLost(int partition, long from, long to, java.util.function.ToIntFunction<String> partitionOf) {
        try {
            store.markRecordsLost(partition, from, to);
            String reason = "records of its tokens partition " + partition + " (offsets " + from + " to " + (to - 1)
                    + ") were gone from Kafka (retention or data loss) before this worker applied them";
            int marked = 0;
            for (String session : store.listSessions()) {
                if (partitionOf.applyAsInt(session) == partition) {
                    markIncomplete(session, reason);
                    marked++;
                }
            }
            LOG.error("Offsets {} to {} of tokens partition {} are gone from Kafka; its {} sessions here are marked incomplete "
                    + "and refuse queries (context-incomplete) until deleted and appended again", from, to - 1, partition, marked);
        } catch (RocksDBException e) {
            throw new StoreWriteException("the context store failed marking tokens partition " + partition + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void onSessionRebuilding(Consumer<String> before, Consumer<String> after) {
        rebuildingListeners.add(before);
        rebuiltListeners.add(after);
    }

    private void markIncomplete(String session, String reason) throws RocksDBException {
        SessionInfo info = store.session(session);
        Progress progress = metadata(info);
        if (progress.incomplete() == null) {
            store.putMetadata(session, progress.markedIncomplete(reason).encode());
            LOG.error("Session {} is incomplete: {}", session, reason);
        }
    }

    @Override
    public java.util.Optional<String> writeFailure() {
        return store.writeFailure();
    }

    @Override
    public boolean probeWrites() {
        try {
            store.probeWrites();
            return true;
        } catch (RocksDBException e) {
            return false;
        }
    }

    @Override
    public boolean exists(String session) {
        try {
            return store.session(session) != null;
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot read session " + session, e);
        }
    }

    @Override
    public List<Rejection> rejections(String session) {
        try {
            return metadata(store.session(session)).rejections();
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot read session " + session, e);
        }
    }

    @Override
    public long appliedSeq(String session) {
        try {
            SessionInfo info = store.session(session);
            if (info == null || info.lastSeq() == 0) {
                return -1;
            }
            // Record offsets increase per session, so "one less than a partly applied record's offset"
            // is at or above every whole record's offset and below the partial one's.
            return metadata(info).lastRecordWhole() ? info.lastSourceOffset() : info.lastSourceOffset() - 1;
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot read session " + session, e);
        }
    }

    @Override
    public ResponseEvent.SessionInfo info(String requestId, String session, int partition) {
        try {
            SessionInfo info = store.session(session);
            if (info == null) {
                return new ResponseEvent.SessionInfo(requestId, false, 0, 0, -1, -1, 0, partition, 0, 0);
            }
            Progress progress = metadata(info);
            JsonNode metadata = progress.metadataJson() == null ? null : JSON.readTree(progress.metadataJson());
            return new ResponseEvent.SessionInfo(requestId, true, progress.records(), info.tokenCount(),
                    info.lastSourceOffset(), appliedSeq(session), 0, partition, info.createdMillis(), info.updatedMillis(),
                    metadata);
        } catch (IOException e) {
            throw new IllegalStateException("unreadable metadata of session " + session, e);
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot read session " + session, e);
        }
    }

    /** Chunks refused because their seq skipped ahead (should never happen with one ingest per partition). */
    public long gaps() {
        return gaps.get();
    }

    /** Records on the tokens topic that were not token chunks. */
    public long rejected() {
        return rejected.get();
    }

    private static Progress metadata(SessionInfo info) {
        return Progress.decode(info == null ? null : info.metadata());
    }

    private static Progress progress(byte[] bytes) {
        return Progress.decode(bytes);
    }

    /**
     * What the ledger keeps per session beside the store's counters: whole records applied, whether the last
     * chunk ended its record, the metadata the session was created with, and its latest dead-lettered records.
     * Stored as the 9 bytes {@code [records: int64][lastRecordWhole: byte]} while the last three are empty (most
     * sessions; also the format before them), else as JSON.
     */
    private record Progress(long records, boolean lastRecordWhole, String metadataJson, List<Rejection> rejections,
                            String incomplete) {
        static final int COMPACT_BYTES = Long.BYTES + 1;

        static Progress decode(byte[] bytes) {
            if (bytes == null || bytes.length == 0) {
                return new Progress(0, true, null, List.of(), null);
            }
            if (bytes.length == COMPACT_BYTES) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                return new Progress(buffer.getLong(), buffer.get() != 0, null, List.of(), null);
            }
            try {
                Progress read = JSON.readValue(bytes, Progress.class);
                return new Progress(read.records, read.lastRecordWhole, read.metadataJson,
                        read.rejections == null ? List.of() : read.rejections, read.incomplete);
            } catch (IOException e) {
                throw new IllegalStateException("unreadable session progress", e);
            }
        }

        /** The progress once {@code chunk} is applied. */
        Progress after(TokenChunk chunk) {
            if (chunk.marker() instanceof TokenChunk.Marker.SessionCreated created) {
                return new Progress(records, true, created.metadataJson(), rejections, incomplete);
            }
            if (chunk.marker() instanceof TokenChunk.Marker.Rejected rejected) {
                List<Rejection> latest = new ArrayList<>(rejections);
                latest.add(new Rejection(chunk.sourceOffset(), rejected.reason(), rejected.message()));
                if (latest.size() > MAX_REJECTIONS) {
                    latest = latest.subList(latest.size() - MAX_REJECTIONS, latest.size());
                }
                return new Progress(records, true, metadataJson, List.copyOf(latest), incomplete);
            }
            if (chunk.marker() instanceof TokenChunk.Marker.Duplicate) {
                return new Progress(records, true, metadataJson, rejections, incomplete);
            }
            return new Progress(records + (chunk.endOfRecord() ? 1 : 0), chunk.endOfRecord(), metadataJson, rejections,
                    incomplete);
        }

        /** The same progress, marked as missing records for good (the first reason stays). */
        Progress markedIncomplete(String reason) {
            return incomplete != null ? this : new Progress(records, lastRecordWhole, metadataJson, rejections, reason);
        }

        byte[] encode() {
            if (metadataJson == null && rejections.isEmpty() && incomplete == null) {
                return ByteBuffer.allocate(COMPACT_BYTES).putLong(records).put((byte) (lastRecordWhole ? 1 : 0)).array();
            }
            try {
                return JSON.writeValueAsBytes(this);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
