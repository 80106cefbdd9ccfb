package io.ultralong.platform;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The gateway's load check against a running platform: 50 clients append records to their own
 * sessions and 5 clients query sessions of their own (20 records each) for a minute; then every
 * appended session's record count on its worker is compared with what its client had acknowledged.
 *
 * <pre>java -jar platform/target/quarkus-app/quarkus-run.jar --data-dir /tmp/load &amp;
 * ./mvnw -B -q -pl platform test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.ultralong.platform.LoadCheck [-Dexec.args="http://localhost:8080 60 50 5"]</pre>
 */
public final class LoadCheck {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LoadCheck() {
    }

    public static void main(String[] args) throws Exception {
        String base = args.length > 0 ? args[0] : "http://localhost:8080";
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        int appenders = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        int queriers = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        String run = "load-" + Long.toString(System.currentTimeMillis(), 36);
        HttpClient http = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(16)).build();

        List<Long> appendMillis = Collections.synchronizedList(new ArrayList<>());
        List<Long> queryMillis = Collections.synchronizedList(new ArrayList<>());
        AtomicLong errors = new AtomicLong();
        long[] acknowledged = new long[appenders];
        // The queriers ask over sessions of their own, of a fixed size, while the appenders grow theirs.
        for (int q = 0; q < queriers; q++) {
            StringBuilder body = new StringBuilder();
            for (int r = 0; r < 20; r++) {
                body.append("{\"text\": \"order ").append(r).append(" shipped to warehouse ").append(r % 3).append("\"}\n");
            }
            http.send(post(base + "/v1/sessions/" + run + "-q" + q + "/records", "application/x-ndjson", body.toString()),
                    HttpResponse.BodyHandlers.ofString());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        ExecutorService clients = Executors.newFixedThreadPool(appenders + queriers);
        for (int c = 0; c < appenders; c++) {
            int client = c;
            clients.submit(() -> {
                String session = run + "-" + client;
                for (int batch = 0; System.nanoTime() < deadline; batch++) {
                    StringBuilder body = new StringBuilder();
                    for (int r = 0; r < 10; r++) {
                        body.append("{\"text\": \"client ").append(client).append(" batch ").append(batch).append(" line ").append(r)
                                .append(": GET /api/orders/").append(batch * 10 + r).append(" 200 in 12 ms\", \"source\": \"load\"}\n");
                    }
                    long started = System.nanoTime();
                    try {
                        HttpResponse<String> response = http.send(post(base + "/v1/sessions/" + session + "/records",
                                "application/x-ndjson", body.toString()), HttpResponse.BodyHandlers.ofString());
                        appendMillis.add((System.nanoTime() - started) / 1_000_000);
                        if (response.statusCode() == 202) {
                            acknowledged[client] += JSON.readTree(response.body()).get("count").asLong();
                        } else {
                            errors.incrementAndGet();
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }
                return null;
            });
        }
        for (int q = 0; q < queriers; q++) {
            int client = q;
            clients.submit(() -> {
                while (System.nanoTime() < deadline) {
                    long started = System.nanoTime();
                    try {
                        HttpResponse<String> response = http.send(post(base + "/v1/sessions/" + run + "-q" + client + "/query",
                                "application/json", "{\"question\": \"Which warehouse got order 7?\", \"maxTokens\": 4}"),
                                HttpResponse.BodyHandlers.ofString());
                        queryMillis.add((System.nanoTime() - started) / 1_000_000);
                        if (response.statusCode() != 200) {
                            errors.incrementAndGet();
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }
                return null;
            });
        }
        clients.shutdown();
        clients.awaitTermination(seconds + 300L, TimeUnit.SECONDS);

        // Every acknowledged record must reach its worker. Ingest may lag behind a burst: wait while the
        // counts still grow (at most 15 minutes), then compare.
        long drainStarted = System.nanoTime();
        long sent = 0;
        for (long count : acknowledged) {
            sent += count;
        }
        long applied = -1;
        long lastGrowth = System.nanoTime();
        while (applied != sent && System.nanoTime() - lastGrowth < TimeUnit.SECONDS.toNanos(60)
                && System.nanoTime() - drainStarted < TimeUnit.MINUTES.toNanos(15)) {
            long now = 0;
            for (int c = 0; c < appenders; c++) {
                HttpResponse<String> info = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sessions/" + run + "-" + c))
                        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                JsonNode node = info.statusCode() == 200 ? JSON.readTree(info.body()) : null;
                now += node == null ? 0 : node.get("records").asLong();
            }
            if (now > applied) {
                lastGrowth = System.nanoTime();
            }
            applied = now;
            if (applied != sent) {
                Thread.sleep(2000);   // a plain CLI, not a test: poll the platform until ingest caught up
            }
        }
        long drainSeconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - drainStarted);
        System.out.printf("%nLoad check: %d appending + %d querying clients for %d s against %s%n", appenders, queriers, seconds, base);
        System.out.printf("%-22s %12s%n", "appends (10 records)", appendMillis.size());
        System.out.printf("%-22s %12s%n", "append p50 / p99 ms", percentile(appendMillis, 50) + " / " + percentile(appendMillis, 99));
        System.out.printf("%-22s %12s%n", "queries", queryMillis.size());
        System.out.printf("%-22s %12s%n", "query p50 / p99 ms", percentile(queryMillis, 50) + " / " + percentile(queryMillis, 99));
        System.out.printf("%-22s %12d%n", "errors", errors.get());
        System.out.printf("%-22s %12d%n", "records acknowledged", sent);
        System.out.printf("%-22s %12d%n", "records on workers", applied);
        System.out.printf("%-22s %12s%n", "lost", sent - applied);
        System.out.printf("%-22s %12s%n", "drain after load s", drainSeconds);
        System.out.printf("%-22s %12.0f%n", "records/s end to end", sent / (double) (seconds + drainSeconds));
        System.exit(errors.get() == 0 && sent == applied ? 0 : 1);
    }

    private static HttpRequest post(String url, String contentType, String body) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static long percentile(List<Long> values, int percentile) {
        if (values.isEmpty()) {
            return 0;
        }
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1));
    }
}
