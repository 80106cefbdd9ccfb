package io.ultralong.evaluation.task;

import java.util.List;

/**
 * One question asked of a haystack, and what a correct answer holds.
 *
 * @param question    sent as the query's {@code question}
 * @param expected    every item a correct answer must contain, as a whole word
 * @param distractors items of other needles in the same haystack: a correct answer contains none
 * @param needle      index in the plan's insertions of the one needle asked about, or null when the
 *                    answer is spread over several
 */
public record Probe(String question, List<String> expected, List<String> distractors, Integer needle) {

    public Probe {
        expected = List.copyOf(expected);
        distractors = List.copyOf(distractors);
    }
}
