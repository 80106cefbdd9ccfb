package io.ultralong.protocol.records;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Records on {@code ul.records} that are not text: marked by the header {@code ul.control}. Today one:
 * {@code create-session}, written by {@code POST /v1/sessions}, whose value is the session's metadata
 * (a JSON object). Ingest turns it into a marker chunk, so the worker that owns the session stores the
 * session and its metadata before any text arrives, durably and in order with the session's records.
 */
public final class SessionControl {

    public static final String HEADER = "ul.control";
    public static final String CREATE_SESSION = "create-session";

    private SessionControl() {
    }

    /** Whether a record with these headers creates its session. */
    public static boolean isSessionCreation(Headers headers) {
        Header header = headers == null ? null : headers.lastHeader(HEADER);
        return header != null && header.value() != null
                && CREATE_SESSION.equals(new String(header.value(), StandardCharsets.UTF_8));
    }

    /** The header value that marks a session creation. */
    public static byte[] createSessionHeader() {
        return CREATE_SESSION.getBytes(StandardCharsets.UTF_8);
    }
}
