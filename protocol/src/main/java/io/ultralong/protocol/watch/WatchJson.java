package io.ultralong.protocol.watch;

import java.io.IOException;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/** JSON encoding of the values on ul.watches, ul.watch-progress and ul.answers. */
public final class WatchJson {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private WatchJson() {
    }

    public static byte[] encode(Object watchOrAnswer) {
        try {
            return MAPPER.writeValueAsBytes(watchOrAnswer);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static WatchDefinition decodeWatch(byte[] json) {
        return read(json, WatchDefinition.class);
    }

    public static WatchProgress decodeProgress(byte[] json) {
        return read(json, WatchProgress.class);
    }

    public static WatchAnswer decodeAnswer(byte[] json) {
        return read(json, WatchAnswer.class);
    }

    private static <T> T read(byte[] json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (IOException e) {
            throw new IllegalArgumentException("Not a valid " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }
}
