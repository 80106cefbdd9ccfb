package io.ultralong.worker;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.watch.WatchKeys;
import io.ultralong.worker.kafka.RequestFeed;
import io.ultralong.worker.kafka.ResponsePublisher;
import io.ultralong.worker.kafka.TokenFeed;
import io.ultralong.worker.query.AnswerEngine;
import io.ultralong.worker.query.QueryScheduler;
import io.ultralong.worker.session.SessionLedger;
import io.ultralong.worker.watch.WatchEvaluator;

/**
 * One inference worker: owns partitions of the tokens topic, keeps their sessions in its ledger,
 * and answers their requests and standing queries with the model, one query at a time.
 *
 * <pre>
 * ul.tokens   -> TokenFeed   -> SessionLedger (context store) -> WatchEvaluator --.
 * ul.requests -> RequestFeed -> QueryScheduler -> AnswerEngine (model) <----------'
 *                                    |-> ResponsePublisher -> ul.responses
 *                                    '-> (watch answers)   -> ul.answers
 * </pre>
 */
public final class WorkerNode implements AutoCloseable {

    private final ResponsePublisher publisher;
    private final RequestFeed requests;
    private final QueryScheduler scheduler;
    private final WatchEvaluator watches;
    private final TokenFeed tokens;
    private final IntSupplier tokenPartitions;
    private final List<Consumer<ResponseEvent>> observers = new CopyOnWriteArrayList<>();

    public WorkerNode(WorkerSettings settings, SessionLedger ledger, AnswerEngine engine) {
        this.publisher = new ResponsePublisher(settings.bootstrapServers(), settings.topics().responses(),
                "ul-worker-responses-" + settings.workerId());
        this.tokenPartitions = () -> publisher.partitions(settings.topics().tokens());
        this.requests = new RequestFeed(settings, (requestId, session, partition) -> {
            ResponseEvent.SessionInfo info = ledger.info(requestId, session, partition);
            return new ResponseEvent.SessionInfo(info.requestId(), info.exists(), info.records(), info.tokens(), info.lastSeq(),
                    info.appliedSeq(), engine.cachedTokens(session), info.partition(), info.createdAt(), info.updatedAt());
        }, publisher::publish);
        this.scheduler = new QueryScheduler(ledger, engine, event -> {
            observers.forEach(observer -> observer.accept(event));
            publisher.publish(event);
        }, requests, settings.maxQueuedQueries());
        // Ingest keys ul.tokens by session with Kafka's default partitioner: the same hash finds its partition.
        this.watches = new WatchEvaluator(settings.bootstrapServers(), settings.topics(), settings.workerId(), scheduler,
                ledger, session -> WatchKeys.partitionOf(session, publisher.partitions(settings.topics().tokens())));
        this.tokens = new TokenFeed(settings, ledger, requests, session -> {
            scheduler.sessionAdvanced(session);
            watches.sessionAdvanced(session);
        });
        ledger.onSessionDeleted(session -> {
            engine.sessionDeleted(session);
            watches.sessionDeleted(session);
        });
    }

    public WorkerNode start() {
        watches.start();
        requests.start(scheduler);
        tokens.start();
        return this;
    }

    /** Whether every thread of the node runs (liveness). */
    public boolean running() {
        return tokens.alive() && requests.alive() && scheduler.alive();
    }

    public TokenFeed tokens() {
        return tokens;
    }

    /** Sees every event the scheduler publishes for a query (metrics: time to first token, ...). */
    public void observe(Consumer<ResponseEvent> observer) {
        observers.add(observer);
    }

    /** How many partitions the tokens topic (and so every co-partitioned topic) has. */
    public int tokenPartitions() {
        return tokenPartitions.getAsInt();
    }

    public RequestFeed requests() {
        return requests;
    }

    public QueryScheduler scheduler() {
        return scheduler;
    }

    public WatchEvaluator watches() {
        return watches;
    }

    /** Gives up partitions cleanly: in-flight queries are left to the next owner, offsets committed. */
    @Override
    public void close() throws InterruptedException {
        tokens.close();
        requests.close();
        scheduler.close();
        watches.close();
        publisher.close();
    }
}
