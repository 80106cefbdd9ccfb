package io.ultralong.gateway;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.ultralong.protocol.query.QueryJson;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.WorkerRequest;
import io.ultralong.testkit.KafkaBroker;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Answers ul.requests with fixed events over the real broker, to test the gateway's relay on its
 * own (the inference worker's own tests cover real answers). It records every request it sees.
 * Question "slow" gets progress and then nothing, to test deadlines and cancellation.
 */
final class ScriptedResponder {

    static final String ANSWER = "Hello, wörld ✓";

    private static ScriptedResponder shared;

    final List<WorkerRequest> seen = new CopyOnWriteArrayList<>();
    private final Thread thread;

    /** One responder per test JVM on ul.requests / ul.responses (two would answer every request twice). */
    static synchronized ScriptedResponder shared() {
        if (shared == null) {
            KafkaBroker broker = KafkaBroker.shared();
            broker.createTopics(4, "ul.records", "ul.requests", "ul.responses", "ul.watches", "ul.answers");
            shared = new ScriptedResponder(broker, "ul.requests", "ul.responses");
        }
        return shared;
    }

    private ScriptedResponder(KafkaBroker broker, String requestsTopic, String responsesTopic) {
        var consumerProps = broker.clientProperties();
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, KafkaBroker.uniqueName("scripted"));
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        var consumer = new KafkaConsumer<>(consumerProps, new StringDeserializer(), new ByteArrayDeserializer());
        var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(), new ByteArraySerializer());
        consumer.subscribe(List.of(requestsTopic));
        while (consumer.assignment().isEmpty()) {
            consumer.poll(Duration.ofMillis(100));
        }
        consumer.seekToEnd(consumer.assignment());
        consumer.assignment().forEach(consumer::position);
        thread = new Thread(() -> {
            // Runs for the whole test JVM, as the broker does.
            while (true) {
                for (var record : consumer.poll(Duration.ofMillis(50))) {
                    WorkerRequest request = QueryJson.decodeRequest(record.value());
                    seen.add(request);
                    for (ResponseEvent event : answer(request)) {
                        producer.send(new ProducerRecord<>(responsesTopic, request.requestId(), QueryJson.encode(event)));
                    }
                    producer.flush();
                }
            }
        }, "scripted-responder");
        thread.setDaemon(true);
        thread.start();
    }

    private static List<ResponseEvent> answer(WorkerRequest request) {
        String id = request.requestId();
        if (request instanceof WorkerRequest.SessionInfo info) {
            boolean exists = !info.session().endsWith("/missing");
            return List.of(new ResponseEvent.SessionInfo(id, exists, 3, 120, 41, 41, 96, 2, 1000, 2000));
        }
        if (request instanceof QueryRequest query) {
            if ("slow".equals(query.question())) {
                return List.of(new ResponseEvent.Progress(id, 0, 100));
            }
            if ("fail".equals(query.question())) {
                return List.of(new ResponseEvent.Error(id, "context-too-long", "The context has 5000 tokens; the model takes 4096."));
            }
            ResponseEvent.Token hello = new ResponseEvent.Token(id, 0, "Hello, ");
            return List.of(new ResponseEvent.Progress(id, 50, 100), new ResponseEvent.Progress(id, 100, 100),
                    hello, hello /* a repeat, as after a worker failover: must be dropped */,
                    new ResponseEvent.Token(id, 1, "wörld ✓"),
                    new ResponseEvent.Done(id, ANSWER, "stop", new ResponseEvent.Usage(130, 100, 30, 2),
                            new ResponseEvent.Timings(1, 20, 25, 5), "tiny", true));
        }
        return List.of();
    }

    List<WorkerRequest.Cancel> cancels() {
        return seen.stream().filter(r -> r instanceof WorkerRequest.Cancel).map(r -> (WorkerRequest.Cancel) r).toList();
    }

    QueryRequest lastQuery() {
        return seen.stream().filter(r -> r instanceof QueryRequest).map(r -> (QueryRequest) r)
                .reduce((a, b) -> b).orElseThrow();
    }
}
