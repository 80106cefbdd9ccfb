package io.ultralong.evaluation.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Parsing lengths ({@code 8k}, {@code 1m}, {@code 12000}; K = 1024) and depth lists. */
final class LengthList {

    private LengthList() {
    }

    static long parseLength(String text) {
        String value = text.strip().toLowerCase(Locale.ROOT);
        long unit = 1;
        if (value.endsWith("k")) {
            unit = 1L << 10;
        } else if (value.endsWith("m")) {
            unit = 1L << 20;
        }
        String digits = unit == 1 ? value : value.substring(0, value.length() - 1);
        long length = Math.round(Double.parseDouble(digits) * unit);
        if (length <= 0) {
            throw new IllegalArgumentException("A length must be positive: " + text);
        }
        return length;
    }

    /** 8K, 16K, ... doubling up to and including {@code max} (which is added if it is no power of two). */
    static List<Long> doublingUpTo(long max) {
        List<Long> lengths = new ArrayList<>();
        for (long length = 8L << 10; length < max; length *= 2) {
            lengths.add(length);
        }
        lengths.add(max);
        return lengths;
    }

    /** Depths in percent ({@code 0,10,...,100}) as fractions. */
    static List<Double> parseDepths(List<String> percents) {
        List<Double> depths = new ArrayList<>();
        for (String percent : percents) {
            double value = Double.parseDouble(percent.strip().replace("%", ""));
            if (value < 0 || value > 100) {
                throw new IllegalArgumentException("A depth is a percentage from 0 to 100: " + percent);
            }
            depths.add(value / 100);
        }
        return depths;
    }
}
