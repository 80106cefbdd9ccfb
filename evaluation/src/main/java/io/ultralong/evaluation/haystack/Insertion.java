package io.ultralong.evaluation.haystack;

/**
 * A record to hide in the haystack (a needle, a variable assignment) at a depth: 0 puts it first,
 * 1 last, 0.5 with half of the other tokens before it.
 */
public record Insertion(String text, double depth) {

    public Insertion {
        if (text.isBlank() || text.contains("\n")) {
            throw new IllegalArgumentException("An insertion is one non-blank line: " + text);
        }
        if (!(depth >= 0 && depth <= 1)) {
            throw new IllegalArgumentException("Depth must be in [0, 1]: " + depth);
        }
    }
}
