package io.ultralong.evaluation.task;

import java.text.Normalizer;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Exact-match scoring of a free-text answer against a probe's items.
 *
 * <p>Normalisation, applied to answer and items alike:
 * <ol>
 *   <li>Unicode NFKC (full-width digits and letters become ASCII ones), then lower case;</li>
 *   <li>thousands separators between digits are dropped ({@code 71,432}, {@code 71 432} with a
 *       thin or no-break space, and {@code 71_432} all read {@code 71432});</li>
 *   <li>the text is split into words at every character that is not a letter, digit or hyphen;
 *       leading and trailing hyphens are trimmed (markdown bullets, dashes).</li>
 * </ol>
 * An answer is correct when every expected item is one of its words and no distractor is: a number
 * inside a longer number does not count, and listing every needle's value is wrong. Recall is the
 * share of expected items found, reported beside the strict score.
 */
public final class ExactMatch {

    private static final Pattern DIGIT_GROUP_SEPARATOR = Pattern.compile("(?<=\\d)[,_'](?=\\d{3}(?!\\d))");
    /** Space-like group separators, matched before NFKC turns them into plain spaces that also separate list items. */
    private static final Pattern DIGIT_GROUP_SPACE = Pattern.compile("(?<=\\d)[\\u00a0\\u2009\\u202f](?=\\d{3}(?!\\d))");
    private static final Pattern WORD_SEPARATOR = Pattern.compile("[^\\p{L}\\p{N}-]+");

    /** The outcome for one answer. */
    public record Score(boolean correct, double recall) {
    }

    private ExactMatch() {
    }

    public static Score score(String answer, List<String> expected, List<String> distractors) {
        Set<String> words = words(answer);
        long found = expected.stream().map(ExactMatch::normalise).filter(words::contains).count();
        boolean distracted = distractors.stream().map(ExactMatch::normalise).anyMatch(words::contains);
        double recall = expected.isEmpty() ? 1 : (double) found / expected.size();
        return new Score(found == expected.size() && !distracted, recall);
    }

    /** The answer's normalised words. */
    public static Set<String> words(String text) {
        String unspaced = DIGIT_GROUP_SPACE.matcher(text).replaceAll("");
        String normalised = DIGIT_GROUP_SEPARATOR.matcher(
                Normalizer.normalize(unspaced, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT)).replaceAll("");
        return Arrays.stream(WORD_SEPARATOR.split(normalised))
                .map(word -> word.replaceAll("^-+|-+$", ""))
                .filter(word -> !word.isEmpty())
                .collect(Collectors.toSet());
    }

    static String normalise(String item) {
        return Normalizer.normalize(item, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT).strip();
    }
}
