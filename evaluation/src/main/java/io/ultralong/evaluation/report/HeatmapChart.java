package io.ultralong.evaluation.report;

import java.awt.Color;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import io.ultralong.evaluation.run.AccuracyGrid;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;

/**
 * The accuracy grid drawn like the paper's needle-in-a-haystack figure: haystack length across,
 * depth (or task) down, red at 0% through yellow to green at 100%. XChart, rendered off-screen.
 */
public final class HeatmapChart {

    private static final Color[] RED_TO_GREEN = {new Color(0xD7191C), new Color(0xFDAE61), new Color(0xFFFFBF),
            new Color(0xA6D96A), new Color(0x1A9641)};

    private HeatmapChart() {
    }

    /** PNG bytes of the heatmap. */
    public static byte[] png(String title, AccuracyGrid grid) throws IOException {
        int width = Math.max(640, 140 + 90 * grid.lengths().size());
        int height = Math.max(420, 160 + 34 * grid.rows().size());
        HeatMapChart chart = new HeatMapChartBuilder().width(width).height(height).title(title)
                .xAxisTitle("context length (tokens)").yAxisTitle(grid.rowTitle()).build();
        chart.getStyler().setShowValue(true);
        chart.getStyler().setMin(0);
        chart.getStyler().setMax(100);
        chart.getStyler().setRangeColors(RED_TO_GREEN);
        chart.getStyler().setHeatMapValueDecimalPattern("0");
        chart.getStyler().setPlotContentSize(1);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);

        List<String> columns = grid.lengths().stream().map(AccuracyGrid::lengthLabel).toList();
        // XChart draws the first row at the bottom; the paper's figure has depth 0% at the top.
        List<String> rows = new ArrayList<>(grid.rows());
        Collections.reverse(rows);
        List<Number[]> cells = new ArrayList<>();
        for (int r = 0; r < grid.rows().size(); r++) {
            for (int c = 0; c < columns.size(); c++) {
                double value = grid.accuracy()[r][c];
                if (!Double.isNaN(value)) {
                    cells.add(new Number[] {c, rows.size() - 1 - r, value * 100});
                }
            }
        }
        chart.addSeries("accuracy %", columns, rows, cells);
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }
}
