package io.ultralong.evaluation.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.ultralong.evaluation.run.AccuracyGrid;
import io.ultralong.evaluation.run.EvaluationResults;

/** Writes a run's outputs into a directory: {@code results.json}, {@code heatmap.png}, {@code report.html}. */
public final class ReportWriter {

    public static final String JSON = "results.json";
    public static final String PNG = "heatmap.png";
    public static final String HTML = "report.html";

    private ReportWriter() {
    }

    public static ObjectMapper json() {
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    }

    public static void write(Path directory, String title, EvaluationResults results, AccuracyGrid grid)
            throws IOException {
        Files.createDirectories(directory);
        json().writeValue(directory.resolve(JSON).toFile(), results);
        byte[] png = HeatmapChart.png(title, grid);
        Files.write(directory.resolve(PNG), png);
        Files.writeString(directory.resolve(HTML), HtmlReport.render(title, results, grid, png), StandardCharsets.UTF_8);
    }
}
