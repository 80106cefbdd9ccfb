package io.ultralong.evaluation.report;

import java.util.Base64;
import java.util.Locale;
import java.util.Map;

import io.ultralong.evaluation.run.AccuracyGrid;
import io.ultralong.evaluation.run.EvaluationResults;
import io.ultralong.evaluation.run.ProbeResult;
import io.ultralong.evaluation.run.TrialResult;

/** A self-contained HTML page: the heatmap (PNG inlined as base64), the table, and every answer. */
public final class HtmlReport {

    private HtmlReport() {
    }

    public static String render(String title, EvaluationResults results, AccuracyGrid grid, byte[] heatmapPng) {
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
                .append(escape(title)).append("</title>\n<style>body{font-family:sans-serif;margin:2em}"
                        + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
                        + "td.l,th.l{text-align:left}.miss{background:#fdd}</style></head><body>\n");
        html.append("<h1>").append(escape(title)).append("</h1>\n<p>Platform ").append(escape(results.url()))
                .append(", model ").append(escape(String.valueOf(results.model())))
                .append(results.demoModel() ? " (demo model: accuracy is meaningless)" : "")
                .append(", seed ").append(results.seed()).append(", ").append(escape(results.started()))
                .append(" to ").append(escape(results.finished())).append(".</p>\n");
        html.append(String.format(Locale.ROOT, "<p>Accuracy %.1f%% over %d questions; KV reuse %.1f%% "
                + "(sum of cachedTokens / sum of contextTokens).</p>\n",
                results.accuracy() * 100, results.probes().size(), results.kvReuse() * 100));
        html.append("<img alt=\"accuracy heatmap\" src=\"data:image/png;base64,")
                .append(Base64.getEncoder().encodeToString(heatmapPng)).append("\">\n");

        html.append("<h2>Accuracy (%)</h2>\n<table><tr><th class=\"l\">").append(escape(grid.rowTitle())).append("</th>");
        grid.lengths().forEach(length -> html.append("<th>").append(AccuracyGrid.lengthLabel(length)).append("</th>"));
        html.append("</tr>\n");
        for (int r = 0; r < grid.rows().size(); r++) {
            html.append("<tr><td class=\"l\">").append(escape(grid.rows().get(r))).append("</td>");
            for (int c = 0; c < grid.lengths().size(); c++) {
                html.append("<td>").append(TerminalTable.percent(grid.accuracy()[r][c])).append("</td>");
            }
            html.append("</tr>\n");
        }
        Map<Long, Double> reuse = results.kvReuseByLength();
        html.append("<tr><td class=\"l\">KV reuse</td>");
        grid.lengths().forEach(length -> html.append("<td>").append(TerminalTable.percent(reuse.get(length))).append("</td>"));
        html.append("</tr></table>\n");

        html.append("<h2>Answers</h2>\n<table><tr><th class=\"l\">session</th><th>tokens</th><th>depth</th>"
                + "<th class=\"l\">question</th><th class=\"l\">expected</th><th class=\"l\">answer</th>"
                + "<th>cached / context</th></tr>\n");
        for (TrialResult trial : results.trials()) {
            for (ProbeResult probe : trial.probes()) {
                html.append(probe.correct() ? "<tr>" : "<tr class=\"miss\">")
                        .append("<td class=\"l\">").append(escape(trial.sessionId())).append("</td>")
                        .append("<td>").append(trial.haystackTokens()).append("</td>")
                        .append("<td>").append(escape(EvaluationResults.depthLabel(probe.depth()))).append("</td>")
                        .append("<td class=\"l\">").append(escape(probe.question())).append("</td>")
                        .append("<td class=\"l\">").append(escape(String.join(", ", probe.expected()))).append("</td>")
                        .append("<td class=\"l\">").append(escape(probe.error() != null ? "error: " + probe.error() : probe.answer()))
                        .append("</td><td>").append(probe.usage().cachedTokens()).append(" / ")
                        .append(probe.usage().contextTokens()).append("</td></tr>\n");
            }
        }
        html.append("</table>\n</body></html>\n");
        return html.toString();
    }

    static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
