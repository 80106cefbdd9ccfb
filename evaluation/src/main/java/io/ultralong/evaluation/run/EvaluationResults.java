package io.ultralong.evaluation.run;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Everything one run measured; written as the JSON results file and the source of every report.
 *
 * @param command  {@code passkey} or {@code ruler}
 * @param model    the model id the platform answered with
 * @param started  ISO-8601 instant
 */
public record EvaluationResults(String command, String url, String model, boolean demoModel, String started,
                                String finished, long seed, List<TrialResult> trials) {

    /** The share of query context tokens served from the KV cache: sum cachedTokens / sum contextTokens. */
    @JsonProperty("kvReuse")
    public double kvReuse() {
        long context = trials.stream().mapToLong(TrialResult::contextTokens).sum();
        return context == 0 ? 0 : (double) trials.stream().mapToLong(TrialResult::cachedTokens).sum() / context;
    }

    @JsonProperty("accuracy")
    public double accuracy() {
        long total = probes().size();
        return total == 0 ? 0 : (double) probes().stream().filter(ProbeResult::correct).count() / total;
    }

    @JsonIgnore
    public List<ProbeResult> probes() {
        return trials.stream().flatMap(t -> t.probes().stream()).toList();
    }

    /** The haystack lengths, ascending. */
    @JsonIgnore
    public List<Long> lengths() {
        return new ArrayList<>(new TreeSet<>(trials.stream().map(TrialResult::targetTokens).toList()));
    }

    /** KV reuse per length. */
    @JsonProperty("kvReuseByLength")
    public Map<Long, Double> kvReuseByLength() {
        Map<Long, Double> reuse = new LinkedHashMap<>();
        for (long length : lengths()) {
            long context = 0;
            long cached = 0;
            for (TrialResult trial : trials) {
                if (trial.targetTokens() == length) {
                    context += trial.contextTokens();
                    cached += trial.cachedTokens();
                }
            }
            reuse.put(length, context == 0 ? 0 : (double) cached / context);
        }
        return reuse;
    }

    /**
     * Accuracy per (row, length), rows chosen by {@code rowOf} (a depth label, a task name); the rows
     * keep their first-seen order unless they are all depths, which sort numerically.
     */
    public AccuracyGrid grid(String rowTitle, Function<CellProbe, String> rowOf) {
        List<Long> lengths = lengths();
        Map<String, long[][]> counts = new LinkedHashMap<>();
        for (TrialResult trial : trials) {
            int column = lengths.indexOf(trial.targetTokens());
            for (ProbeResult probe : trial.probes()) {
                String row = rowOf.apply(new CellProbe(trial, probe));
                long[][] cell = counts.computeIfAbsent(row, r -> new long[lengths.size()][2]);
                cell[column][0] += probe.correct() ? 1 : 0;
                cell[column][1]++;
            }
        }
        List<String> rows = new ArrayList<>(counts.keySet());
        double[][] accuracy = new double[rows.size()][lengths.size()];
        for (int r = 0; r < rows.size(); r++) {
            long[][] cell = counts.get(rows.get(r));
            for (int c = 0; c < lengths.size(); c++) {
                accuracy[r][c] = cell[c][1] == 0 ? Double.NaN : (double) cell[c][0] / cell[c][1];
            }
        }
        return new AccuracyGrid(rowTitle, rows, lengths, accuracy);
    }

    /** Passkey grid: a row per depth, in depth order. */
    public AccuracyGrid depthGrid() {
        AccuracyGrid grid = grid("depth", p -> depthLabel(p.probe().depth()));
        List<String> order = probes().stream().map(ProbeResult::depth).filter(d -> d != null).distinct().sorted()
                .map(EvaluationResults::depthLabel).toList();
        return grid.reorderRows(order);
    }

    /** RULER grid: a row per task. */
    public AccuracyGrid taskGrid() {
        return grid("task", p -> p.trial().task());
    }

    public static String depthLabel(Double depth) {
        if (depth == null) {
            return "all";
        }
        double percent = Math.round(depth * 1000) / 10.0;
        return (percent == Math.rint(percent) ? Long.toString((long) percent) : Double.toString(percent)) + "%";
    }

    /** A probe with its trial, for grouping. */
    public record CellProbe(TrialResult trial, ProbeResult probe) {
    }
}
