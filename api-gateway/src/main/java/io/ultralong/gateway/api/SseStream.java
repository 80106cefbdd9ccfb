package io.ultralong.gateway.api;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.ultralong.gateway.security.TenantAdmission;
import io.ultralong.gateway.trace.TraceIdHeader;
import io.vertx.core.buffer.Buffer;
import org.jboss.resteasy.reactive.RestMulti;

/**
 * Answers as a stream of bytes that holds no thread: Server-Sent Events written as events arrive, or one JSON
 * document once the answer is complete. Both are a {@link RestMulti} (the only return type Quarkus REST lets
 * choose its content type and status per request), so one endpoint serves JSON and SSE as the body asks, and
 * each write happens on the thread that delivered the event (the Kafka router's) without waiting. When the
 * client goes away, the subscription is cancelled: for a query, that cancels it on its worker.
 */
final class SseStream {

    /** One SSE frame; a null name sends a plain {@code data:} line (the OpenAI style). */
    record Frame(String name, String data) {
    }

    /** A complete non-streamed answer: its status and JSON body. */
    record JsonAnswer(int status, byte[] body) {
    }

    private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);

    private SseStream() {
    }

    /**
     * The events as SSE, then {@code trailer} once they end. A comment at once sends the headers, so clients know
     * they are subscribed before any event, and another every 15 s keeps idle proxies from closing the stream.
     * {@code stream} (the tenant's stream permit) is released when the stream ends, however it ends.
     */
    static <T> RestMulti<Buffer> of(Multi<T> events, Function<T, List<Frame>> frames, List<Frame> trailer,
                                    TenantAdmission.Permit stream) {
        // Empty marks the end of the events, so that the endless keep-alive ticks stop with them.
        Multi<Optional<Buffer>> data = events
                .map(frames)
                .select().where(eventFrames -> !eventFrames.isEmpty())
                .map(eventFrames -> Optional.of(render(eventFrames)))
                .onFailure().recoverWithCompletion()
                .onCompletion().continueWith(trailer.isEmpty()
                        ? List.of(Optional.<Buffer>empty())
                        : List.of(Optional.of(render(trailer)), Optional.<Buffer>empty()));
        Multi<Optional<Buffer>> keepAlive = Multi.createFrom().ticks().every(KEEP_ALIVE)
                .onOverflow().drop()
                .map(tick -> Optional.of(comment("keep-alive")));
        Multi<Buffer> body = Multi.createBy().concatenating().streams(
                        Multi.createFrom().item(Optional.of(comment("subscribed"))),
                        Multi.createBy().merging().streams(data, keepAlive))
                .select().first(Optional::isPresent)
                .map(Optional::get)
                .onTermination().invoke(stream::close);
        RestMulti.SyncRestMulti.Builder<Buffer> response = RestMulti.fromMultiData(body)
                .status(200)
                .header(HttpHeaders.CONTENT_TYPE, MediaType.SERVER_SENT_EVENTS)
                .header(HttpHeaders.CACHE_CONTROL, "no-cache")
                .header("X-Accel-Buffering", "no");
        TraceIdHeader.current().ifPresent(traceId -> response.header(TraceIdHeader.HEADER, traceId));
        return response.build();
    }

    /** One JSON document with its status, once {@code answer} completes. */
    static RestMulti<Buffer> json(Uni<JsonAnswer> answer) {
        Map<String, List<String>> headers = new HashMap<>();
        headers.put(HttpHeaders.CONTENT_TYPE, List.of(MediaType.APPLICATION_JSON));
        // Taken now, on the request's thread: the answer completes on the Kafka router's.
        TraceIdHeader.current().ifPresent(traceId -> headers.put(TraceIdHeader.HEADER, List.of(traceId)));
        return RestMulti.fromUniResponse(answer,
                done -> Multi.createFrom().item(Buffer.buffer(done.body())),
                done -> headers,
                JsonAnswer::status);
    }

    private static Buffer comment(String text) {
        return Buffer.buffer(": " + text + "\n\n");
    }

    private static Buffer render(List<Frame> frames) {
        StringBuilder text = new StringBuilder();
        for (Frame frame : frames) {
            if (frame.name() != null) {
                text.append("event: ").append(frame.name()).append('\n');
            }
            for (String line : frame.data().split("\n", -1)) {
                text.append("data: ").append(line).append('\n');
            }
            text.append('\n');
        }
        return Buffer.buffer(text.toString().getBytes(StandardCharsets.UTF_8));
    }
}
