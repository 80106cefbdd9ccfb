package io.ultralong.evaluation.task;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/** Random, distinct needle contents: numbers, key phrases, variable names. */
final class NeedleValues {

    private static final List<String> ADJECTIVES = List.of("amber", "silent", "crimson", "hollow", "frosty", "gentle",
            "rusty", "velvet", "distant", "bright", "hidden", "lucky", "marble", "northern", "olive", "pale",
            "quick", "royal", "sandy", "tidal", "upper", "wild", "young", "brave");
    private static final List<String> NOUNS = List.of("heron", "lantern", "orchard", "falcon", "harbor", "meadow",
            "anchor", "beacon", "canyon", "dragon", "ember", "glacier", "island", "jasmine", "kettle", "lagoon",
            "mirror", "nectar", "otter", "pepper", "quartz", "raven", "summit", "tulip");

    private NeedleValues() {
    }

    /** {@code count} distinct numbers of exactly {@code digits} digits (no leading zero). */
    static List<String> numbers(Random random, int count, int digits) {
        long low = (long) Math.pow(10, digits - 1);
        Set<String> values = new LinkedHashSet<>();
        while (values.size() < count) {
            values.add(Long.toString(low + (long) (random.nextDouble() * 9 * low)));
        }
        return new ArrayList<>(values);
    }

    /** {@code count} distinct two-word keys such as {@code amber-heron}. */
    static List<String> keys(Random random, int count) {
        if (count > ADJECTIVES.size() * NOUNS.size()) {
            throw new IllegalArgumentException("At most " + ADJECTIVES.size() * NOUNS.size() + " keys");
        }
        Set<String> keys = new LinkedHashSet<>();
        while (keys.size() < count) {
            keys.add(ADJECTIVES.get(random.nextInt(ADJECTIVES.size())) + "-" + NOUNS.get(random.nextInt(NOUNS.size())));
        }
        return new ArrayList<>(keys);
    }

    /** {@code count} distinct names of five capital letters, as in RULER's variable tracking. */
    static List<String> variableNames(Random random, int count) {
        Set<String> names = new LinkedHashSet<>();
        while (names.size() < count) {
            StringBuilder name = new StringBuilder();
            for (int i = 0; i < 5; i++) {
                name.append((char) ('A' + random.nextInt(26)));
            }
            names.add(name.toString());
        }
        return new ArrayList<>(names);
    }

    /** {@code count} depths spread evenly over [0, 1] with a random jitter inside each slot. */
    static List<Double> spreadDepths(Random random, int count) {
        List<Double> depths = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            depths.add((i + random.nextDouble()) / count);
        }
        return depths;
    }
}
