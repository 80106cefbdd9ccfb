package io.ultralong.protocol.query;

import java.io.IOException;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/** JSON encoding of {@link QueryRequest} and {@link ResponseEvent}, the values on ul.requests and ul.responses. */
public final class QueryJson {

    // Newer producers may add fields; older consumers must still read the rest.
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private QueryJson() {
    }

    public static byte[] encode(WorkerRequest request) {
        // Written through the interface type so the "type" discriminator is always present.
        try {
            return MAPPER.writerFor(WorkerRequest.class).writeValueAsBytes(request);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] encode(ResponseEvent event) {
        try {
            return MAPPER.writerFor(ResponseEvent.class).writeValueAsBytes(event);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static WorkerRequest decodeRequest(byte[] json) {
        return read(json, WorkerRequest.class);
    }

    public static ResponseEvent decodeEvent(byte[] json) {
        return read(json, ResponseEvent.class);
    }

    private static <T> T read(byte[] json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (IOException e) {
            throw new IllegalArgumentException("Not a valid " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }
}
