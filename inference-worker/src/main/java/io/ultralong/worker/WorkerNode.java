package io.ultralong.worker;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.topics.CoPartitioning;
import io.ultralong.protocol.topics.Topics;
import io.ultralong.protocol.watch.WatchKeys;
import io.ultralong.worker.kafka.RequestFeed;
import io.ultralong.worker.kafka.ResponsePublisher;
import io.ultralong.worker.kafka.TokenFeed;
import io.ultralong.worker.kafka.TopicRetention;
import io.ultralong.worker.query.AnswerEngine;
import io.ultralong.worker.query.QueryScheduler;
import io.ultralong.worker.session.SessionLedger;
import io.ultralong.worker.watch.WatchEvaluator;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

    private static final Logger LOG = LoggerFactory.getLogger(WorkerNode.class);

    private final ResponsePublisher publisher;
    private final RequestFeed requests;
    private final QueryScheduler scheduler;
    private final WatchEvaluator watches;
    private final TokenFeed tokens;
    private final SessionLedger ledger;
    private final Duration modelStallTimeout;
    private final IntSupplier tokenPartitions;
    private final List<Consumer<ResponseEvent>> observers = new CopyOnWriteArrayList<>();

    /**
     * @throws CoPartitioning.CoPartitioningException when the tokens and requests topics exist with different partition
     *                                                counts (a worker started before they exist checks when they appear)
     * @throws TopicRetention.UnsafeRetentionException when the tokens topic is compacted
     */
    public WorkerNode(WorkerSettings settings, SessionLedger ledger, AnswerEngine engine) {
        checkCoPartitioning(settings);
        this.ledger = ledger;
        this.modelStallTimeout = settings.modelStallTimeout();
        this.publisher = new ResponsePublisher(settings.kafka(), settings.topics().responses(),
                "ul-worker-responses-" + settings.workerId());
        this.tokenPartitions = () -> publisher.partitions(settings.topics().tokens());
        this.requests = new RequestFeed(settings, (requestId, session, partition) -> {
            ResponseEvent.SessionInfo info = ledger.info(requestId, session, partition);
            return new ResponseEvent.SessionInfo(info.requestId(), info.exists(), info.records(), info.tokens(), info.lastSeq(),
                    info.appliedSeq(), engine.cachedTokens(session), info.partition(), info.createdAt(), info.updatedAt(),
                    info.metadata());
        }, publisher::publish);
        this.scheduler = new QueryScheduler(ledger, engine, event -> {
            observers.forEach(observer -> observer.accept(event));
            publisher.publish(event);
        }, requests, settings.maxQueuedQueries(), settings.maxQueuedQueriesPerTenant());
        // Ingest keys ul.tokens by session with Kafka's default partitioner: the same hash finds its partition.
        this.watches = new WatchEvaluator(settings.kafka(), settings.topics(), settings.workerId(), scheduler,
                ledger, session -> WatchKeys.partitionOf(session, publisher.partitions(settings.topics().tokens())));
        // Watches learn of a partition before its chunks are applied (to read the previous owner's progress) and
        // give it up after its requests (so no answer of it is announced once the next owner may have it).
        TokenFeed.Ownership ownership = new TokenFeed.Ownership() {
            @Override
            public void assigned(java.util.Collection<Integer> partitions) {
                watches.partitionsAssigned(partitions);
                requests.assigned(partitions);
            }

            @Override
            public void revoked(java.util.Collection<Integer> partitions) {
                requests.revoked(partitions);
                watches.partitionsRevoked(partitions);
            }
        };
        this.tokens = new TokenFeed(settings, ledger, ownership, session -> {
            scheduler.sessionAdvanced(session);
            watches.sessionAdvanced(session);
        });
        ledger.onSessionDeleting(engine::sessionDeleting);
        // Dropped to be rebuilt from the log: the session's cached KV goes, its watches stay.
        ledger.onSessionRebuilding(engine::sessionDeleting, engine::sessionDeleted);
        ledger.onSessionDeleted(session -> {
            engine.sessionDeleted(session);
            watches.sessionDeleted(session);
        });
    }

    private static void checkCoPartitioning(WorkerSettings settings) {
        Topics topics = settings.topics();
        try (Admin admin = Admin.create(settings.kafka().clientConfig(Map.of(
                AdminClientConfig.CLIENT_ID_CONFIG, "ul-worker-admin-" + settings.workerId())))) {
            OptionalInt partitions = CoPartitioning.verifyIfPresent(admin, List.of(topics.tokens(), topics.requests()));
            if (partitions.isEmpty()) {
                LOG.info("{} and {} do not exist yet: their partition counts are checked when they appear",
                        topics.tokens(), topics.requests());
            }
            TopicRetention.check(admin, topics).forEach(warning -> LOG.warn("Topic retention: {}", warning));
            String recordsKept = TopicRetention.recordsRetention(admin, topics);
            if (recordsKept != null) {
                LOG.info("A deleted session's raw text stays in {} for {}; this worker's store and the shared KV tier "
                        + "drop it when the delete arrives", topics.records(), recordsKept);
            }
        } catch (CoPartitioning.CoPartitioningException | TopicRetention.UnsafeRetentionException e) {
            throw e;
        } catch (IllegalStateException e) {
            // Kafka not reachable yet: the token feed checks once it gets partitions.
            LOG.warn("Co-partitioning not checked at start ({}); the token feed checks it when it gets partitions", e.getMessage());
        }
    }

    public WorkerNode start() {
        watches.start();
        requests.start(scheduler);
        tokens.start();
        return this;
    }

    /** Whether every thread of the node runs and the model makes progress (liveness). */
    public boolean running() {
        return problem().isEmpty();
    }

    /**
     * Why this node is not live: a feed or the model thread stopped, or the model thread made no progress for longer
     * than the stall timeout (a hung job: the thread lives but answers no one). Empty when all is well.
     */
    public Optional<String> problem() {
        if (!tokens.alive()) {
            return Optional.of("the token feed stopped" + (tokens.stopReason() == null ? "" : ": " + tokens.stopReason()));
        }
        if (!requests.alive()) {
            return Optional.of("the request feed stopped");
        }
        if (!scheduler.alive()) {
            return Optional.of("the model thread stopped");
        }
        Duration stalled = scheduler.stalledFor();
        if (stalled.compareTo(modelStallTimeout) > 0) {
            return Optional.of("the model thread made no progress for " + stalled.toMillis() + " ms (limit "
                    + modelStallTimeout + "), on request " + scheduler.currentRequestId());
        }
        return Optional.empty();
    }

    /**
     * Why this node should not count as ready although it lives: its context store cannot write (a full disk, ...), so
     * new chunks wait and queries needing them time out, while queries on what is applied are still answered. It
     * clears by itself once writes succeed again. A restart would not help, so this is not a liveness problem.
     */
    public Optional<String> readinessProblem() {
        Optional<String> feed = tokens.storeFailure();
        if (feed.isPresent()) {
            return Optional.of("store-writes-failing: the token feed waits for the context store: " + feed.get());
        }
        return ledger.writeFailure().map(reason -> "store-writes-failing: the context store cannot write: " + reason);
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
