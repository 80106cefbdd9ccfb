package io.ultralong.evaluation.run;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.ultralong.evaluation.haystack.TokenCounter;

/**
 * Plays the platform's REST API on 127.0.0.1 for the driver's tests: keeps each session's records,
 * answers a question by looking its needle up in the records it received, and accounts usage like a
 * KV-caching worker (the first query prefills the context, later ones find it cached and prefill
 * only their question).
 *
 * <p>It is "lost in the middle" on purpose: a pass key with between 45% and 55% of the session's
 * other tokens before it is answered wrongly, so tests see misses land in the right cells.
 */
public final class FakePlatform implements AutoCloseable {

    public static final String API_KEY = "test-key";

    private static final Pattern VAULT = Pattern.compile("pass key of the (\\S+) vault\\?");
    private static final Pattern MAGIC_ONE = Pattern.compile("special magic number for (\\S+) mentioned");
    private static final Pattern MAGIC_ALL = Pattern.compile("all the special magic numbers for (\\S+) mentioned");
    private static final Pattern VALUE = Pattern.compile("assigned the value (\\d+) in");
    private static final Pattern ASSIGN = Pattern.compile("VAR ([A-Z]{5}) = (?:VAR ([A-Z]{5})|(\\d+))\\.");

    /** One session's state. */
    static final class Session {
        final List<String> records = new ArrayList<>();
        long tokens;
        long cachedTokens;
    }

    private final HttpServer server;
    private final TokenCounter counter;
    private final ObjectMapper json = new ObjectMapper();
    private final AtomicLong seq = new AtomicLong();
    final Map<String, Session> sessions = new ConcurrentHashMap<>();
    public final AtomicInteger appendRequests = new AtomicInteger();
    final AtomicInteger unauthorised = new AtomicInteger();
    final List<String> deleted = new ArrayList<>();
    /** Questions containing this text time out (504), as a query past the gateway's deadline does. */
    volatile String timeOutQuestionsContaining;

    public FakePlatform(TokenCounter counter) throws IOException {
        this.counter = counter;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/sessions/", this::session);
        server.createContext("/v1/models", exchange -> reply(exchange, 200,
                Map.of("object", "list", "data", List.of(Map.of("id", "tiny-test", "object", "model")))));
        server.start();
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    private void session(HttpExchange exchange) throws IOException {
        if (!("Bearer " + API_KEY).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
            unauthorised.incrementAndGet();
            reply(exchange, 401, Map.of("error", Map.of("code", "unauthenticated", "message", "no key")));
            return;
        }
        String[] path = exchange.getRequestURI().getRawPath().substring("/v1/sessions/".length()).split("/");
        String id = URLDecoder.decode(path[0], StandardCharsets.UTF_8);
        String method = exchange.getRequestMethod();
        if (path.length == 2 && path[1].equals("records") && method.equals("POST")) {
            appendRequests.incrementAndGet();
            JsonNode body = read(exchange);
            Session session = sessions.computeIfAbsent(id, k -> new Session());
            long first = seq.get();
            synchronized (session) {
                for (JsonNode record : body) {
                    session.records.add(record.path("text").asText());
                    session.tokens += counter.recordTokens(record.path("text").asText());
                    seq.incrementAndGet();
                }
            }
            reply(exchange, 202, Map.of("firstSeq", first, "lastSeq", seq.get() - 1, "count", body.size()));
        } else if (path.length == 2 && path[1].equals("query") && method.equals("POST")) {
            Session session = sessions.get(id);
            if (session == null) {
                reply(exchange, 404, Map.of("error", Map.of("code", "session-not-found", "message", id)));
                return;
            }
            String question = read(exchange).path("question").asText();
            if (timeOutQuestionsContaining != null && question.contains(timeOutQuestionsContaining)) {
                reply(exchange, 504, Map.of("error", Map.of("code", "deadline-exceeded", "message", "too slow")));
                return;
            }
            long questionTokens = counter.recordTokens(question);
            long context = session.tokens + questionTokens;
            long cached = Math.min(session.cachedTokens, session.tokens);
            // The question is a dropped fork: only the session's own context stays cached.
            session.cachedTokens = session.tokens;
            Map<String, Object> usage = new LinkedHashMap<>();
            usage.put("contextTokens", context);
            usage.put("cachedTokens", cached);
            usage.put("prefilledTokens", context - cached);
            usage.put("completionTokens", 4);
            Map<String, Object> answer = new LinkedHashMap<>();
            answer.put("answer", answer(session.records, question));
            answer.put("finishReason", "stop");
            answer.put("usage", usage);
            answer.put("timings", Map.of("totalMillis", 1));
            answer.put("model", "tiny-test");
            answer.put("demoModel", true);
            reply(exchange, 200, answer);
        } else if (path.length == 1 && method.equals("GET")) {
            Session session = sessions.get(id);
            if (session == null) {
                reply(exchange, 404, Map.of("error", Map.of("code", "not-found", "message", id)));
            } else {
                reply(exchange, 200, Map.of("records", session.records.size(), "tokens", session.tokens,
                        "cachedTokens", session.cachedTokens));
            }
        } else if (path.length == 1 && method.equals("DELETE")) {
            sessions.remove(id);
            synchronized (deleted) {
                deleted.add(id);
            }
            reply(exchange, 202, Map.of());
        } else {
            reply(exchange, 404, Map.of("error", Map.of("code", "not-found", "message", exchange.getRequestURI().toString())));
        }
    }

    /** Looks the answer up in the records, like a perfect reader with a blind spot in the middle. */
    private String answer(List<String> records, String question) {
        Matcher m;
        if ((m = VAULT.matcher(question)).find()) {
            return single(records, Pattern.compile("The pass key of the " + Pattern.quote(m.group(1)) + " vault is (\\d+)\\."), true);
        }
        if (question.startsWith("What is the pass key?")) {
            return single(records, Pattern.compile("The pass key is (\\d+)\\."), true);
        }
        if ((m = MAGIC_ALL.matcher(question)).find()) {
            return String.join(", ", all(records, Pattern.compile("magic numbers for " + Pattern.quote(m.group(1)) + " is: (\\d+)\\.")));
        }
        if ((m = MAGIC_ONE.matcher(question)).find()) {
            return single(records, Pattern.compile("magic numbers for " + Pattern.quote(m.group(1)) + " is: (\\d+)\\."), false);
        }
        if ((m = VALUE.matcher(question)).find()) {
            Map<String, String> valueOf = new LinkedHashMap<>();
            for (String record : records) {
                Matcher a = ASSIGN.matcher(record);
                if (a.matches()) {
                    valueOf.put(a.group(1), a.group(3) != null ? a.group(3) : valueOf.get(a.group(2)));
                }
            }
            String value = m.group(1);
            return valueOf.entrySet().stream().filter(e -> value.equals(e.getValue())).map(Map.Entry::getKey)
                    .reduce((a, b) -> a + ", " + b).orElse("none");
        }
        return "I do not know.";
    }

    private String single(List<String> records, Pattern needle, boolean blindInTheMiddle) {
        long total = records.stream().mapToLong(counter::recordTokens).sum();
        long before = 0;
        for (int i = 0; i < records.size(); i++) {
            Matcher m = needle.matcher(records.get(i));
            int own = counter.recordTokens(records.get(i));
            if (!m.find()) {
                before += own;
            } else {
                double position = (double) before / (total - own);
                return blindInTheMiddle && position > 0.45 && position < 0.55 ? "I could not find it." : "The answer is " + m.group(1) + ".";
            }
        }
        return "I could not find it.";
    }

    private static List<String> all(List<String> records, Pattern needle) {
        List<String> found = new ArrayList<>();
        for (String record : records) {
            Matcher m = needle.matcher(record);
            if (m.find()) {
                found.add(m.group(1));
            }
        }
        return found;
    }

    private JsonNode read(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            return json.readTree(in);
        }
    }

    private void reply(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
