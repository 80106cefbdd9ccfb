package io.ultralong.evaluation.haystack;

/**
 * How many tokens one record occupies in a session's context, counted exactly as the platform will
 * hold it: each record is tokenized on its own, through the ingest template, and the results are
 * concatenated, so a haystack's length is the sum over its records.
 */
@FunctionalInterface
public interface TokenCounter {

    /** Tokens of a record whose only field is {@code text}. */
    int recordTokens(String text);
}
