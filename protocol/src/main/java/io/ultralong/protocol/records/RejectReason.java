package io.ultralong.protocol.records;

/** Why a record went to the dead-letter topic; {@link #code()} is the value of the {@code ul.dlq.reason} header. */
public enum RejectReason {
    /** No key, or an empty one: the record belongs to no session. */
    MISSING_KEY("missing-key"),
    /** The key is not valid UTF-8. */
    INVALID_KEY("invalid-key"),
    /** The value is larger than the configured maximum record size. */
    TOO_LARGE("too-large"),
    /** The value is not valid UTF-8 (strict decoding: malformed or unmappable bytes). */
    INVALID_UTF8("invalid-utf8"),
    /** The value starts with '{' but is not one JSON object. */
    INVALID_JSON("invalid-json"),
    /** A JSON record without a string {@code text}. */
    MISSING_TEXT("missing-text"),
    /** A JSON record whose {@code source}, {@code ts} or {@code id} has the wrong type or form. */
    INVALID_FIELD("invalid-field");

    private final String code;

    RejectReason(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }
}
