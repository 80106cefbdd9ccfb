package io.ultralong.protocol.records;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * A record's identity for deduplication on {@code ul.records}: the header {@code ul.record-id} if present (the
 * gateway sets it from an append's {@code Idempotency-Key}), else the record's own JSON {@code "id"}. Ingest drops
 * a record whose id its session already has, so a retried append never adds text twice.
 */
public final class RecordId {

    public static final String HEADER = "ul.record-id";

    private RecordId() {
    }

    /** The header value for record {@code index} (0-based) of an append made with {@code idempotencyKey}. */
    public static byte[] forAppend(String idempotencyKey, int index) {
        return (idempotencyKey + "#" + index).getBytes(StandardCharsets.UTF_8);
    }

    /** The header's id, else the record's {@code id} field; empty for a record without identity. */
    public static Optional<String> of(Headers headers, InputRecord record) {
        Header header = headers == null ? null : headers.lastHeader(HEADER);
        if (header != null && header.value() != null && header.value().length > 0) {
            return Optional.of(new String(header.value(), StandardCharsets.UTF_8));
        }
        return record.id().filter(id -> !id.isEmpty());
    }
}
