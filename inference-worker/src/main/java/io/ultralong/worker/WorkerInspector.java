package io.ultralong.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.function.IntSupplier;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.WorkerRequest;
import io.ultralong.protocol.watch.WatchKeys;
import io.ultralong.store.ContextStore;
import io.ultralong.store.SessionInfo;
import io.ultralong.worker.kafka.RequestFeed;
import io.ultralong.worker.model.ModelAnswerEngine;
import io.ultralong.worker.model.WorkerMetrics;
import io.ultralong.worker.session.StoreSessionLedger;
import org.rocksdb.RocksDBException;

/**
 * Answers the operator console's questions about one partition: which sessions it holds (listing) and
 * what this worker is and does (status). Only sessions whose key hashes to the asked partition are
 * listed, so a store that still holds a released partition's sessions never lists them twice.
 */
final class WorkerInspector implements RequestFeed.Inspector {

    /** Most sessions one partition lists; the console pages within them. */
    static final int MAX_LISTED = 10_000;

    private final String workerId;
    private final ContextStore store;
    private final StoreSessionLedger ledger;
    private final ModelAnswerEngine engine;
    private final WorkerMetrics metrics;
    private final WorkerNode node;
    private final IntSupplier partitionCount;
    private final String model;
    private final String licence;
    private final String device;
    private final boolean kvOnHost;
    private final boolean demoModel;
    private final String kvLocation;

    WorkerInspector(String workerId, ContextStore store, StoreSessionLedger ledger, ModelAnswerEngine engine,
                    WorkerMetrics metrics, WorkerNode node, IntSupplier partitionCount, String model, String licence,
                    String device, boolean kvOnHost, boolean demoModel) {
        this.workerId = workerId;
        this.store = store;
        this.ledger = ledger;
        this.engine = engine;
        this.metrics = metrics;
        this.node = node;
        this.partitionCount = partitionCount;
        this.model = model;
        this.licence = licence;
        this.device = device;
        this.kvOnHost = kvOnHost;
        this.demoModel = demoModel;
        this.kvLocation = (kvOnHost ? "host " : "device ") + device;
    }

    @Override
    public ResponseEvent inspect(WorkerRequest request, int partition) {
        if (request instanceof WorkerRequest.ListSessions list) {
            return list(list, partition);
        }
        return new ResponseEvent.WorkerStatus(request.requestId(), workerId, List.copyOf(new TreeSet<>(node.tokens().owned())),
                node.scheduler().queued(), engine.kvMemoryBytes(), device, kvOnHost ? "host" : "device",
                metrics.prefillTokensPerSecond(), metrics.decodeTokensPerSecond(), metrics.prefilledTokens(),
                metrics.decodedTokens(), model, licence, demoModel);
    }

    private ResponseEvent.SessionList list(WorkerRequest.ListSessions request, int partition) {
        String prefix = request.session();
        String contains = request.contains() == null ? "" : request.contains().toLowerCase(Locale.ROOT);
        int partitions = partitionCount.getAsInt();
        List<ResponseEvent.SessionSummary> sessions = new ArrayList<>();
        for (String key : store.listSessions()) {
            if (sessions.size() >= MAX_LISTED) {
                break;
            }
            if (!key.startsWith(prefix) || !key.substring(prefix.length()).toLowerCase(Locale.ROOT).contains(contains)
                    || WatchKeys.partitionOf(key, partitions) != partition) {
                continue;
            }
            try {
                SessionInfo info = store.session(key);
                if (info == null) {
                    continue;
                }
                ResponseEvent.SessionInfo live = ledger.info(request.requestId(), key, partition);
                long cached = engine.cachedTokens(key);
                sessions.add(new ResponseEvent.SessionSummary(key, live.records(), info.tokenCount(), info.lastSourceOffset(),
                        cached, cached > 0 ? kvLocation : "", info.updatedMillis()));
            } catch (RocksDBException e) {
                throw new IllegalStateException("cannot read session " + key, e);
            }
        }
        return new ResponseEvent.SessionList(request.requestId(), partition, workerId, sessions);
    }

    /**
     * The licence a model directory declares: the {@code license:} line of its Hugging Face model card
     * ({@code README.md} front matter), else {@code unknown}.
     */
    static String licenceOf(Path modelDir) {
        Path card = modelDir.resolve("README.md");
        if (!Files.isRegularFile(card)) {
            return "unknown";
        }
        try {
            for (String line : Files.readAllLines(card, StandardCharsets.UTF_8)) {
                String trimmed = line.strip();
                if (trimmed.startsWith("license:")) {
                    return trimmed.substring("license:".length()).strip();
                }
            }
        } catch (IOException e) {
            return "unknown";
        }
        return "unknown";
    }
}
