package io.ultralong.platform.soak;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The steady load of the soak, through the gateway's REST API as a client would drive it: per session, batches of
 * records appended one after the other, each with its own {@code Idempotency-Key} and retried with the same key until
 * acknowledged (the records of a batch are acknowledged once a 202 came back); queries round-robin over the
 * sessions; a watch per session. It remembers what was acknowledged, in order, and how every query ended.
 */
final class SoakLoad {

    static final int RECORDS_PER_BATCH = 3;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One session's appends: the acknowledged record texts in order, and the batch being sent, if any. */
    static final class SessionLoad {
        final String id;
        final List<String> acknowledged = Collections.synchronizedList(new ArrayList<>());
        String watchId;
        private List<String> pending;
        private String pendingKey;
        private int batches;

        SessionLoad(String id) {
            this.id = id;
        }
    }

    private final String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private final List<SessionLoad> sessions = new ArrayList<>();
    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(4);
    private final AtomicLong batchesAcknowledged = new AtomicLong();
    private final AtomicLong appendAttemptsFailed = new AtomicLong();
    private final AtomicLong queriesAnswered = new AtomicLong();
    private final Map<String, AtomicLong> queryOutcomes = new ConcurrentHashMap<>();
    private final List<String> unclear = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger nextQuery = new AtomicInteger();

    SoakLoad(String base, int sessionCount) {
        this.base = base;
        for (int i = 0; i < sessionCount; i++) {
            sessions.add(new SessionLoad("soak-" + i));
        }
    }

    List<SessionLoad> sessions() {
        return sessions;
    }

    /** Creates the sessions and their watches (the gateway must be up). */
    void prepare() throws Exception {
        for (SessionLoad session : sessions) {
            HttpResponse<String> created = post("/v1/sessions", "{\"id\": \"" + session.id + "\"}", null);
            if (created.statusCode() != 201) {
                throw new AssertionError("creating " + session.id + ": " + created.statusCode() + " " + created.body());
            }
            HttpResponse<String> watch = post("/v1/sessions/" + session.id + "/watches",
                    "{\"question\": \"Which batch came last?\", \"maxTokens\": 2, \"temperature\": 0,"
                            + " \"trigger\": {\"everyTokens\": 48}}", null);
            if (watch.statusCode() != 201 && watch.statusCode() != 200) {
                throw new AssertionError("watching " + session.id + ": " + watch.statusCode() + " " + watch.body());
            }
            session.watchId = JSON.readTree(watch.body()).path("id").asText();
        }
    }

    void start() {
        for (SessionLoad session : sessions) {
            // A batch per session per second: contexts grow to ~15k tokens in 10 minutes, which a restarted worker
            // on a starved 2-core machine can still prefill within the query timeout.
            scheduler.scheduleWithFixedDelay(() -> appendStep(session), 0, 1000, TimeUnit.MILLISECONDS);
        }
        scheduler.scheduleWithFixedDelay(this::queryStep, 500, 400, TimeUnit.MILLISECONDS);
    }

    /** Stops sending; batches still unacknowledged stay pending for {@link #finishPending()}. */
    void stop() throws InterruptedException {
        scheduler.shutdown();
        if (!scheduler.awaitTermination(2, TimeUnit.MINUTES)) {
            throw new AssertionError("the load did not stop");
        }
    }

    /** Once per call: retries every session's pending batch; true when none is left. */
    boolean finishPending() {
        boolean done = true;
        for (SessionLoad session : sessions) {
            synchronized (session) {
                if (session.pending != null) {
                    done &= sendPending(session);
                }
            }
        }
        return done;
    }

    long batchesAcknowledged() {
        return batchesAcknowledged.get();
    }

    long queriesAnswered() {
        return queriesAnswered.get();
    }

    long appendAttemptsFailed() {
        return appendAttemptsFailed.get();
    }

    /** How queries ended: {@code answered}, {@code <status> <error code>}, or {@code unreachable} (no gateway). */
    Map<String, Long> queryOutcomes() {
        Map<String, Long> outcomes = new TreeMap<>();
        queryOutcomes.forEach((k, v) -> outcomes.put(k, v.get()));
        return outcomes;
    }

    /** Answers that were neither an answer nor a clear error (status and {"error": {"code", "message"}}). */
    List<String> unclear() {
        return List.copyOf(unclear);
    }

    private void appendStep(SessionLoad session) {
        synchronized (session) {
            if (session.pending == null) {
                session.batches++;
                session.pending = new ArrayList<>();
                for (int r = 0; r < RECORDS_PER_BATCH; r++) {
                    session.pending.add(session.id + " batch " + session.batches + " record " + r);
                }
                session.pendingKey = session.id + "-batch-" + session.batches;
            }
            sendPending(session);
        }
    }

    private boolean sendPending(SessionLoad session) {
        StringBuilder body = new StringBuilder();
        for (String text : session.pending) {
            body.append("{\"text\": \"").append(text).append("\"}\n");
        }
        try {
            HttpResponse<String> response = post("/v1/sessions/" + session.id + "/records", body.toString(), session.pendingKey);
            if (response.statusCode() == 202) {
                session.acknowledged.addAll(session.pending);
                session.pending = null;
                batchesAcknowledged.incrementAndGet();
                return true;
            }
            if (response.statusCode() != 503 && response.statusCode() != 504) {
                unclear.add("append " + session.pendingKey + ": " + response.statusCode() + " " + response.body());
            }
        } catch (IOException e) {
            // the gateway is down or was killed mid-request: retry with the same key
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        appendAttemptsFailed.incrementAndGet();
        return false;
    }

    private void queryStep() {
        SessionLoad session = sessions.get(Math.floorMod(nextQuery.getAndIncrement(), sessions.size()));
        String outcome;
        try {
            HttpResponse<String> response = post("/v1/sessions/" + session.id + "/query",
                    "{\"question\": \"What was the last batch?\", \"maxTokens\": 2, \"temperature\": 0}", null);
            outcome = classify(response);
        } catch (java.net.http.HttpTimeoutException e) {
            // the gateway answers 504 after its own query timeout (60 s), well before this client's
            unclear.add("query: no answer within the client's 90 s");
            outcome = "unclear";
        } catch (IOException e) {
            outcome = "unreachable";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (outcome.equals("answered")) {
            queriesAnswered.incrementAndGet();
        }
        queryOutcomes.computeIfAbsent(outcome, k -> new AtomicLong()).incrementAndGet();
    }

    private String classify(HttpResponse<String> response) {
        JsonNode body;
        try {
            body = JSON.readTree(response.body());
        } catch (IOException e) {
            unclear.add("query: " + response.statusCode() + " not JSON: " + response.body());
            return "unclear";
        }
        if (response.statusCode() == 200 && body.path("answer").isTextual()) {
            return "answered";
        }
        if (response.statusCode() >= 400 && body.path("error").path("code").isTextual()
                && !body.path("error").path("message").asText().isBlank()) {
            return response.statusCode() + " " + body.path("error").path("code").asText();
        }
        unclear.add("query: " + response.statusCode() + " " + response.body());
        return "unclear";
    }

    private HttpResponse<String> post(String path, String body, String idempotencyKey) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(90))
                .header("Content-Type", path.endsWith("/records") ? "application/x-ndjson" : "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (idempotencyKey != null) {
            request.header("Idempotency-Key", idempotencyKey);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(90)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
