package io.ultralong.evaluation.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.ultralong.evaluation.run.AccuracyGrid;

/** The accuracy grid as a fixed-width text table: rows (depths or tasks) by haystack length, in percent. */
public final class TerminalTable {

    private TerminalTable() {
    }

    /**
     * @param kvReuseByLength printed as a last row, the share of query context served from the KV cache
     */
    public static String render(String title, AccuracyGrid grid, Map<Long, Double> kvReuseByLength) {
        List<List<String>> rows = new ArrayList<>();
        List<String> header = new ArrayList<>();
        header.add(grid.rowTitle() + " \\ length");
        grid.lengths().forEach(length -> header.add(AccuracyGrid.lengthLabel(length)));
        rows.add(header);
        for (int r = 0; r < grid.rows().size(); r++) {
            List<String> row = new ArrayList<>();
            row.add(grid.rows().get(r));
            for (int c = 0; c < grid.lengths().size(); c++) {
                row.add(percent(grid.accuracy()[r][c]));
            }
            rows.add(row);
        }
        List<String> mean = new ArrayList<>();
        mean.add("mean");
        List<String> reuse = new ArrayList<>();
        reuse.add("KV reuse");
        for (int c = 0; c < grid.lengths().size(); c++) {
            mean.add(percent(grid.columnMean(c)));
            reuse.add(percent(kvReuseByLength.getOrDefault(grid.lengths().get(c), Double.NaN)));
        }
        rows.add(mean);
        rows.add(reuse);

        int[] widths = new int[header.size()];
        for (List<String> row : rows) {
            for (int c = 0; c < row.size(); c++) {
                widths[c] = Math.max(widths[c], row.get(c).length());
            }
        }
        StringBuilder text = new StringBuilder(title).append(" (accuracy, %)\n");
        for (int r = 0; r < rows.size(); r++) {
            if (r == 1 || r == rows.size() - 2) {
                appendRule(text, widths);
            }
            List<String> row = rows.get(r);
            for (int c = 0; c < row.size(); c++) {
                String cell = row.get(c);
                text.append(c == 0 ? pad(cell, widths[c], false) : "  " + pad(cell, widths[c], true));
            }
            text.append('\n');
        }
        return text.toString();
    }

    static String percent(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.1f", value * 100);
    }

    private static void appendRule(StringBuilder text, int[] widths) {
        int total = 0;
        for (int c = 0; c < widths.length; c++) {
            total += widths[c] + (c == 0 ? 0 : 2);
        }
        text.append("-".repeat(total)).append('\n');
    }

    private static String pad(String cell, int width, boolean right) {
        String padding = " ".repeat(width - cell.length());
        return right ? padding + cell : cell + padding;
    }
}
