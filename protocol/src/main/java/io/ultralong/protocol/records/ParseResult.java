package io.ultralong.protocol.records;

/** What {@link RecordParser} made of a record's raw bytes: a valid record, a delete, or a rejection. */
public sealed interface ParseResult {

    /** A valid record of session {@code sessionKey}. */
    record Accepted(String sessionKey, InputRecord record) implements ParseResult {
    }

    /** {@code POST /v1/sessions}: session {@code sessionKey} exists from here on, with this metadata (a JSON object). */
    record SessionCreated(String sessionKey, String metadataJson) implements ParseResult {
    }

    /** A tombstone: delete session {@code sessionKey}. */
    record Deleted(String sessionKey) implements ParseResult {
    }

    /** Not processable; goes to the dead-letter topic with {@code reason} and a human {@code message}. */
    record Rejected(RejectReason reason, String message) implements ParseResult {
    }
}
