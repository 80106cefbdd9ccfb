package io.ultralong.protocol.trace;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Carries a trace across Kafka: the producer writes the W3C trace context ({@code traceparent},
 * {@code tracestate}) into a record's headers, the consumer reads it back as the parent of its spans.
 * Which headers are written is the propagator's business (the SDK's configured one, W3C by default).
 */
public final class KafkaTraceContext {

    private static final TextMapSetter<Headers> SETTER = (headers, key, value) -> {
        // A record re-sent (a retry in our code) must carry one context, not two.
        headers.remove(key);
        headers.add(key, value.getBytes(StandardCharsets.UTF_8));
    };

    private static final TextMapGetter<Headers> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers headers) {
            List<String> keys = new ArrayList<>();
            for (Header header : headers) {
                keys.add(header.key());
            }
            return keys;
        }

        @Override
        public String get(Headers headers, String key) {
            if (headers == null) {
                return null;
            }
            Header header = headers.lastHeader(key);
            return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
        }
    };

    private KafkaTraceContext() {
    }

    /** Writes {@code context}'s span context into {@code headers}. */
    public static void inject(OpenTelemetry telemetry, Context context, Headers headers) {
        telemetry.getPropagators().getTextMapPropagator().inject(context, headers, SETTER);
    }

    /** The context a record's producer sent, or the root context when it sent none. */
    public static Context extract(OpenTelemetry telemetry, Headers headers) {
        return telemetry.getPropagators().getTextMapPropagator().extract(Context.root(), headers, GETTER);
    }
}
