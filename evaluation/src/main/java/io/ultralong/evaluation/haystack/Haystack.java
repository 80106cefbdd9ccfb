package io.ultralong.evaluation.haystack;

import java.util.List;

/**
 * A built haystack: the records to stream, in order, with each one's exact token count, and where
 * each insertion ended up.
 *
 * @param records               text-only records, one per line of context
 * @param recordTokens          tokens each record occupies in the session (template included)
 * @param totalTokens           sum of {@code recordTokens}: the context the platform will hold
 * @param placements            the insertions, in the order they were given
 * @param maxFillerRecordTokens the largest filler record: the granularity of needle placement
 */
public record Haystack(List<String> records, int[] recordTokens, long totalTokens, List<Placement> placements,
                       int maxFillerRecordTokens) {

    /**
     * Where an insertion landed.
     *
     * @param recordIndex  its index in {@link #records()}
     * @param tokensBefore context tokens before it
     * @param tokens       its own tokens
     * @param actualDepth  {@code tokensBefore / (totalTokens - tokens)}: the depth it really has
     */
    public record Placement(Insertion insertion, int recordIndex, long tokensBefore, int tokens, double actualDepth) {
    }
}
