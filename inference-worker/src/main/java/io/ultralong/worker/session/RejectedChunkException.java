package io.ultralong.worker.session;

/**
 * A record on {@code ul.tokens} that cannot be applied to its session, whatever is retried: unreadable bytes, a seq
 * that skips ahead, a first position that is not where the session's log ends. The token feed moves it to the
 * tokens dead-letter topic and goes on with the partition.
 */
public final class RejectedChunkException extends RuntimeException {

    /** The {@code ul.dlq.reason} codes. */
    public static final String UNREADABLE = "unreadable-chunk";
    public static final String SEQ_GAP = "seq-gap";
    public static final String WRONG_POSITION = "wrong-first-position";

    private final String reason;

    public RejectedChunkException(String reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    /** A short code for machines ({@link #UNREADABLE}, {@link #SEQ_GAP}, {@link #WRONG_POSITION}). */
    public String reason() {
        return reason;
    }
}
