package io.ultralong.worker.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import io.opentelemetry.api.OpenTelemetry;
import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.WorkerRequest;
import io.ultralong.protocol.trace.KafkaTraceContext;
import io.ultralong.worker.WorkerSettings;
import io.ultralong.worker.query.QueryJob;
import io.ultralong.worker.query.QueryScheduler;
import io.ultralong.worker.query.QueryTrace;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code ul.requests} partitions that follow this worker's tokens partitions (the topics are
 * co-partitioned, so a session's requests and chunks share a partition number), hands queries to
 * the scheduler and answers session-info requests directly.
 *
 * <p>Any assignor may place partition numbers of two topics on different members, so requests are
 * not part of the workers' group: this consumer assigns itself exactly the partitions the token
 * feed owns, and commits to a group of its own. A request's offset is committed only once it is
 * answered, so a worker that dies leaves its unanswered requests to the partition's next owner
 * (at least once; the gateway drops repeats by request id).
 */
public final class RequestFeed implements Runnable, TokenFeed.Ownership, QueryScheduler.Completion, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RequestFeed.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final String topic;
    private final SessionInfoSource ledger;
    private final Consumer<ResponseEvent> publisher;
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<QueryJob> finished = new ConcurrentLinkedQueue<>();
    private final Map<Integer, TreeSet<Long>> inFlight = new HashMap<>();
    private final Set<Integer> assigned = new HashSet<>();
    private final Thread thread;
    private volatile QueryScheduler scheduler;
    private volatile Inspector inspector;
    private volatile OpenTelemetry telemetry = OpenTelemetry.noop();
    private volatile boolean running = true;

    /** Answers a session-info request. */
    @FunctionalInterface
    public interface SessionInfoSource {
        ResponseEvent.SessionInfo info(String requestId, String session, int partition);
    }

    /** Answers the operator's requests about a partition ({@link WorkerRequest.ListSessions}, {@link WorkerRequest.WorkerStatus}). */
    @FunctionalInterface
    public interface Inspector {
        ResponseEvent inspect(WorkerRequest request, int partition);
    }

    /** Queries' spans join the traces their requests carry (W3C headers), made with {@code telemetry}. */
    public void traceWith(OpenTelemetry telemetry) {
        this.telemetry = telemetry;
    }

    /** Sets who answers listing and status requests; without one they are answered with an error. */
    public void inspectWith(Inspector inspector) {
        this.inspector = inspector;
    }

    public RequestFeed(WorkerSettings settings, SessionInfoSource ledger, Consumer<ResponseEvent> publisher) {
        this.topic = settings.topics().requests();
        this.ledger = ledger;
        this.publisher = publisher;
        this.consumer = new KafkaConsumer<>(settings.kafka().clientConfig(Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, settings.requestsGroupId(),
                ConsumerConfig.CLIENT_ID_CONFIG, "ul-worker-requests-" + settings.workerId(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false)),
                new StringDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this, "ul-request-feed");
    }

    public void start(QueryScheduler scheduler) {
        this.scheduler = scheduler;
        thread.start();
    }

    @Override
    public void assigned(Collection<Integer> partitions) {
        commands.add(() -> {
            assigned.addAll(partitions);
            consumer.assign(topicPartitions(assigned));
            for (int partition : partitions) {
                inFlight.put(partition, new TreeSet<>());
            }
            LOG.info("Reading requests partitions {}", assigned);
        });
    }

    @Override
    public void revoked(Collection<Integer> partitions) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        commands.add(() -> {
            for (int partition : partitions) {
                scheduler.abandon(partition);
            }
            scheduler.released(partitions);
            commit(partitions);
            assigned.removeAll(partitions);
            partitions.forEach(inFlight::remove);
            consumer.assign(topicPartitions(assigned));
            done.complete(null);
        });
        try {
            done.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("Requests partitions {} were not released cleanly: {}", partitions, e.toString());
        }
    }

    @Override
    public void finished(QueryJob job) {
        if (!job.abandoned()) {
            finished.add(job);
        }
    }

    /** Whether its thread still runs (it stops only on close or a fatal error). */
    public boolean alive() {
        return thread.isAlive();
    }

    @Override
    public void run() {
        try {
            while (running) {
                for (Runnable command = commands.poll(); command != null; command = commands.poll()) {
                    command.run();
                }
                if (assigned.isEmpty()) {
                    LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
                    continue;
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    dispatch(record);
                }
                boolean progressed = false;
                for (QueryJob job = finished.poll(); job != null; job = finished.poll()) {
                    TreeSet<Long> offsets = inFlight.get(job.partition());
                    progressed |= offsets != null && offsets.remove(job.offset());
                }
                if (progressed) {
                    commit(assigned);
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("The request feed stopped", e);
        } finally {
            consumer.close();
        }
    }

    private void dispatch(ConsumerRecord<String, byte[]> record) {
        WorkerRequest request;
        try {
            request = QueryJson.decodeRequest(record.value());
        } catch (IllegalArgumentException e) {
            LOG.warn("Skipping an unreadable request at {}-{}@{}: {}", record.topic(), record.partition(), record.offset(),
                    e.getMessage());
            return;
        }
        if (request instanceof QueryRequest query) {
            inFlight.computeIfAbsent(record.partition(), p -> new TreeSet<>()).add(record.offset());
            OpenTelemetry tracing = telemetry;
            QueryTrace trace = new QueryTrace(tracing.getTracer("ul-inference-worker"),
                    KafkaTraceContext.extract(tracing, record.headers()));
            scheduler.submit(new QueryJob(query, record.partition(), record.offset(), 0, trace));
        } else if (request instanceof WorkerRequest.Cancel cancel) {
            scheduler.cancel(cancel.cancelledRequestId());
        } else if (request instanceof WorkerRequest.SessionInfo info) {
            publisher.accept(ledger.info(info.requestId(), info.session(), record.partition()));
        } else {
            Inspector current = inspector;
            publisher.accept(current != null ? current.inspect(request, record.partition())
                    : new ResponseEvent.Error(request.requestId(), ErrorCode.UNAVAILABLE.wireName(), "This worker answers no inspection requests."));
        }
    }

    /** Commits, per partition, up to the first request not yet answered. */
    private void commit(Collection<Integer> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (int partition : partitions) {
            TopicPartition tp = new TopicPartition(topic, partition);
            TreeSet<Long> pending = inFlight.get(partition);
            long upTo = pending != null && !pending.isEmpty() ? pending.first() : consumer.position(tp);
            offsets.put(tp, new OffsetAndMetadata(upTo));
        }
        try {
            consumer.commitSync(offsets);
        } catch (RuntimeException e) {
            LOG.warn("Committing request offsets failed: {}", e.getMessage());
        }
    }

    private List<TopicPartition> topicPartitions(Collection<Integer> partitions) {
        return partitions.stream().map(p -> new TopicPartition(topic, p)).toList();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(30_000);
    }
}
