package io.ultralong.protocol.query;

/** Error codes a worker reports in {@link ResponseEvent.Error}; the gateway maps each to an HTTP status. */
public enum ErrorCode {
    /** The request is malformed or asks for something impossible. */
    INVALID_REQUEST("invalid-request", 400),
    /** The session does not exist (or was deleted). */
    SESSION_NOT_FOUND("session-not-found", 404),
    /** The context plus the question and answer do not fit the model's context length. */
    CONTEXT_TOO_LONG("context-too-long", 413),
    /** The session's KV cache does not fit the memory the worker keeps KV in (refused before any prefill). */
    CONTEXT_EXCEEDS_DEVICE_MEMORY("context-exceeds-device-memory", 413),
    /**
     * The session lacks records for good: they were gone from Kafka (retention, data loss) before its worker applied
     * them. Deleting the session and appending its records again clears it.
     */
    CONTEXT_INCOMPLETE("context-incomplete", 409),
    /** The deadline passed before the answer was complete, e.g. waiting for minSeq. */
    DEADLINE_EXCEEDED("deadline-exceeded", 504),
    /** The worker gave up its partition (rebalance, shutdown) before answering; retry. */
    UNAVAILABLE("unavailable", 503),
    /** A bug or a failing device. */
    INTERNAL("internal", 500);

    private final String wireName;
    private final int httpStatus;

    ErrorCode(String wireName, int httpStatus) {
        this.wireName = wireName;
        this.httpStatus = httpStatus;
    }

    public String wireName() {
        return wireName;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public static ErrorCode fromWireName(String name) {
        for (ErrorCode code : values()) {
            if (code.wireName.equals(name)) {
                return code;
            }
        }
        return INTERNAL;
    }
}
