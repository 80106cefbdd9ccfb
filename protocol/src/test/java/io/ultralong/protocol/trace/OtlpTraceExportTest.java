package io.ultralong.protocol.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import org.junit.jupiter.api.Test;

class OtlpTraceExportTest {

    private static Function<String, Optional<String>> config(Map<String, String> values) {
        return name -> Optional.ofNullable(values.get(name));
    }

    @Test
    void withoutAnEndpointNothingIsExported() {
        assertThat(OtlpTraceExport.tracesUrl(name -> Optional.empty())).isEmpty();
        assertThat(OtlpTraceExport.tracesUrl(name -> Optional.of(" "))).isEmpty();
        try (SpanProcessor processor = OtlpTraceExport.processor(Optional.empty())) {
            assertThat(processor.isEndRequired()).isFalse();
            assertThat(processor.isStartRequired()).isFalse();
        }
    }

    @Test
    void theGenericEndpointGetsTheTracesPathAndTheSpecificOneIsTakenAsIs() {
        assertThat(OtlpTraceExport.tracesUrl(config(Map.of(OtlpTraceExport.ENDPOINT, "http://collector:4318/")))).contains("http://collector:4318/v1/traces");
        assertThat(OtlpTraceExport.tracesUrl(config(Map.of(OtlpTraceExport.ENDPOINT, "http://collector:4318",
                OtlpTraceExport.TRACES_ENDPOINT, "http://other:4318/custom"))))
                .contains("http://other:4318/custom");
        // What Quarkus answers for the per-signal name when only the generic one is set.
        assertThat(OtlpTraceExport.tracesUrl(config(Map.of(OtlpTraceExport.ENDPOINT, "http://collector:4318",
                OtlpTraceExport.TRACES_ENDPOINT, "http://collector:4318")))).contains("http://collector:4318/v1/traces");
    }

    @Test
    void withAnEndpointSpansArePostedAsOtlpHttp() throws Exception {
        BlockingQueue<String> posts = new LinkedBlockingQueue<>();
        HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        collector.createContext("/", exchange -> {
            posts.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " "
                    + exchange.getRequestHeaders().getFirst("Content-Type") + " " + exchange.getRequestBody().readAllBytes().length);
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        collector.start();
        try {
            String base = "http://127.0.0.1:" + collector.getAddress().getPort();
            Optional<String> url = OtlpTraceExport.tracesUrl(config(Map.of(OtlpTraceExport.ENDPOINT, base)));
            try (SdkTracerProvider tracing = SdkTracerProvider.builder().addSpanProcessor(OtlpTraceExport.processor(url)).build()) {
                tracing.get("test").spanBuilder("query").startSpan().end();
                tracing.forceFlush().join(10, TimeUnit.SECONDS);
            }
            String post = posts.poll(10, TimeUnit.SECONDS);
            assertThat(post).startsWith("POST /v1/traces application/x-protobuf ");
            assertThat(Integer.parseInt(post.substring(post.lastIndexOf(' ') + 1))).isPositive();
        } finally {
            collector.stop(0);
        }
    }
}
