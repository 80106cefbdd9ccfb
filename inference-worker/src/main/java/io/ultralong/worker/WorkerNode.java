package io.ultralong.worker;

import io.ultralong.worker.kafka.RequestFeed;
import io.ultralong.worker.kafka.ResponsePublisher;
import io.ultralong.worker.kafka.TokenFeed;
import io.ultralong.worker.query.AnswerEngine;
import io.ultralong.worker.query.QueryScheduler;
import io.ultralong.worker.session.SessionLedger;

/**
 * One inference worker: owns partitions of the tokens topic, keeps their sessions in its ledger,
 * and answers their requests with the model, one query at a time.
 *
 * <pre>
 * ul.tokens   -> TokenFeed   -> SessionLedger (context store)
 * ul.requests -> RequestFeed -> QueryScheduler -> AnswerEngine (model) -> ResponsePublisher -> ul.responses
 * </pre>
 */
public final class WorkerNode implements AutoCloseable {

    private final ResponsePublisher publisher;
    private final RequestFeed requests;
    private final QueryScheduler scheduler;
    private final TokenFeed tokens;

    public WorkerNode(WorkerSettings settings, SessionLedger ledger, AnswerEngine engine) {
        this.publisher = new ResponsePublisher(settings.bootstrapServers(), settings.responsesTopic(),
                "ul-worker-responses-" + settings.workerId());
        this.requests = new RequestFeed(settings, ledger, publisher::publish);
        this.scheduler = new QueryScheduler(ledger, engine, publisher::publish, requests, settings.maxQueuedQueries());
        this.tokens = new TokenFeed(settings, ledger, requests, scheduler::sessionAdvanced);
    }

    public WorkerNode start() {
        requests.start(scheduler);
        tokens.start();
        return this;
    }

    public TokenFeed tokens() {
        return tokens;
    }

    public QueryScheduler scheduler() {
        return scheduler;
    }

    /** Gives up partitions cleanly: in-flight queries are left to the next owner, offsets committed. */
    @Override
    public void close() throws InterruptedException {
        tokens.close();
        requests.close();
        scheduler.close();
        publisher.close();
    }
}
