package io.ultralong.evaluation.run;

import java.util.ArrayList;
import java.util.List;

/**
 * Accuracy in [0, 1] by row (depth or task) and haystack length; NaN where nothing was asked.
 */
public record AccuracyGrid(String rowTitle, List<String> rows, List<Long> lengths, double[][] accuracy) {

    /** The same grid with rows in {@code order} first (rows not named keep their place after them). */
    public AccuracyGrid reorderRows(List<String> order) {
        List<String> newRows = new ArrayList<>();
        for (String row : order) {
            if (rows.contains(row) && !newRows.contains(row)) {
                newRows.add(row);
            }
        }
        for (String row : rows) {
            if (!newRows.contains(row)) {
                newRows.add(row);
            }
        }
        double[][] values = new double[newRows.size()][];
        for (int r = 0; r < newRows.size(); r++) {
            values[r] = accuracy[rows.indexOf(newRows.get(r))];
        }
        return new AccuracyGrid(rowTitle, newRows, lengths, values);
    }

    /** Mean accuracy of a length over its rows (NaN cells skipped). */
    public double columnMean(int column) {
        double sum = 0;
        int count = 0;
        for (double[] row : accuracy) {
            if (!Double.isNaN(row[column])) {
                sum += row[column];
                count++;
            }
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    /** {@code 8192 -> "8K"}, {@code 1048576 -> "1M"}, other values as they are. */
    public static String lengthLabel(long tokens) {
        if (tokens >= 1 << 20 && tokens % (1 << 20) == 0) {
            return tokens / (1 << 20) + "M";
        }
        if (tokens >= 1 << 10 && tokens % (1 << 10) == 0) {
            return tokens / (1 << 10) + "K";
        }
        return Long.toString(tokens);
    }
}
