package io.ultralong.gateway.api;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.Cancellable;
import io.vertx.core.http.HttpServerResponse;

/**
 * Writes events as Server-Sent Events, flushing each one. When the client goes away (the
 * connection closes, or a write fails) the subscription is cancelled: for a query, that cancels it
 * on its worker.
 */
final class SseStream {

    /** One SSE frame; a null name sends a plain {@code data:} line (the OpenAI style). */
    record Frame(String name, String data) {
    }

    private static final Object END = new Object();
    private static final long KEEP_ALIVE_SECONDS = 15;

    private SseStream() {
    }

    static <T> Response of(Multi<T> events, Function<T, List<Frame>> frames, List<Frame> trailer,
                           HttpServerResponse connection) {
        StreamingOutput body = out -> {
            BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
            Cancellable subscription = events.subscribe().with(queue::add, failure -> queue.add(END), () -> queue.add(END));
            connection.closeHandler(closed -> queue.add(END));
            try {
                // A comment at once sends the headers, so clients know they are subscribed before any event.
                comment(out, "subscribed");
                for (Object item = queue.poll(KEEP_ALIVE_SECONDS, TimeUnit.SECONDS); item != END;
                     item = queue.poll(KEEP_ALIVE_SECONDS, TimeUnit.SECONDS)) {
                    if (item == null) {
                        comment(out, "keep-alive");   // idle proxies and load balancers would close the stream
                        continue;
                    }
                    @SuppressWarnings("unchecked")
                    T event = (T) item;
                    for (Frame frame : frames.apply(event)) {
                        write(out, frame);
                    }
                }
                if (!connection.closed()) {
                    for (Frame frame : trailer) {
                        write(out, frame);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                subscription.cancel();   // a no-op once the answer is complete
            }
        };
        return Response.ok(body, "text/event-stream")
                .header("Cache-Control", "no-cache")
                .header("X-Accel-Buffering", "no")
                .build();
    }

    private static void comment(OutputStream out, String text) throws IOException {
        out.write((": " + text + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void write(OutputStream out, Frame frame) throws IOException {
        StringBuilder text = new StringBuilder();
        if (frame.name() != null) {
            text.append("event: ").append(frame.name()).append('\n');
        }
        for (String line : frame.data().split("\n", -1)) {
            text.append("data: ").append(line).append('\n');
        }
        text.append('\n');
        out.write(text.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
