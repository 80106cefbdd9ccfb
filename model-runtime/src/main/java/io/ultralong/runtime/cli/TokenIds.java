package io.ultralong.runtime.cli;

import java.util.Arrays;

/** Parses token id lists written by people and scripts: "1,2,3", "1 2 3", one per line, or a mix. */
final class TokenIds {

    private TokenIds() {
    }

    static int[] parse(String text, String source) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            throw new IllegalArgumentException("No token ids in " + source);
        }
        String[] parts = trimmed.split("[,\\s]+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Not a token id: '" + parts[i] + "' (item " + (i + 1) + " of " + source + ")");
            }
        }
        return ids;
    }

    /** Every id must index the vocabulary; the engine would fail far less clearly. */
    static void checkInVocabulary(int[] ids, int vocabSize) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException("Token id " + ids[i] + " (item " + (i + 1) + ") is outside the vocabulary 0.."
                        + (vocabSize - 1));
            }
        }
    }

    static String preview(int[] ids) {
        return ids.length <= 8 ? Arrays.toString(ids) : ids.length + " tokens";
    }
}
