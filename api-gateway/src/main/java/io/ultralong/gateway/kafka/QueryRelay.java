package io.ultralong.gateway.kafka;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import io.opentelemetry.context.Context;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.WorkerRequest;

/**
 * Sends a request to the worker owning its session and streams back its events, ending with the
 * first terminal one. The deadline is enforced here too (a dead worker must not hang a client), and
 * a subscriber that goes away (a closed connection) cancels the work on the worker.
 */
@ApplicationScoped
public class QueryRelay {

    private final ResponseRouter router;
    private final RequestPublisher publisher;
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "ul-query-deadlines");
        thread.setDaemon(true);
        return thread;
    });

    public QueryRelay(ResponseRouter router, RequestPublisher publisher) {
        this.router = router;
        this.publisher = publisher;
    }

    public static String newRequestId() {
        return UUID.randomUUID().toString();
    }

    /** The request's events; {@code timeout} bounds the whole exchange with a {@code deadline-exceeded} error. */
    public Multi<ResponseEvent> events(WorkerRequest request, Duration timeout) {
        // Taken here, on the caller's thread: a stream is subscribed later, on a thread that no longer knows the trace.
        Context trace = Context.current();
        return Multi.createFrom().<ResponseEvent>emitter(emitter -> {
            AtomicBoolean timedOut = new AtomicBoolean();
            ResponseRouter.Subscription subscription = router.subscribe(request.requestId(), event -> {
                emitter.emit(event);
                if (event.terminal()) {
                    emitter.complete();
                }
            });
            ScheduledFuture<?> deadline = timers.schedule(() -> {
                timedOut.set(true);
                router.deliverLocally(new ResponseEvent.Error(request.requestId(), ErrorCode.DEADLINE_EXCEEDED.wireName(),
                        "No answer within " + timeout.toSeconds()
                                + " s; the worker may be busy or still catching up with the session."));
            }, timeout.toMillis(), TimeUnit.MILLISECONDS);
            emitter.onTermination(() -> {
                deadline.cancel(false);
                subscription.close();
                // The client left or gave up: free the worker from a query nobody reads.
                if ((emitter.isCancelled() || timedOut.get()) && request instanceof QueryRequest) {
                    publisher.send(new WorkerRequest.Cancel(newRequestId(), request.session(), request.requestId()), trace);
                }
            });
            publisher.send(request, trace).whenComplete((sent, error) -> {
                if (error != null) {
                    router.deliverLocally(new ResponseEvent.Error(request.requestId(), ErrorCode.UNAVAILABLE.wireName(),
                            "Kafka did not accept the request: " + error.getMessage()));
                }
            });
        })
                // Streams are subscribed on the event loop, and a producer's send may wait for topic metadata:
                // never there.
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    @PreDestroy
    void stop() {
        timers.shutdownNow();
    }
}
