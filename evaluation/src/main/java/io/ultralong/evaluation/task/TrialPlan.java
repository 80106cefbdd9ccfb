package io.ultralong.evaluation.task;

import java.util.List;

import io.ultralong.evaluation.haystack.Insertion;

/**
 * What one session gets: a haystack of {@code targetTokens} holding {@code insertions}, then the
 * {@code probes}, asked one after another over the same context so that every query after the first
 * reuses the session's KV cache and prefills only its question.
 */
public record TrialPlan(String task, long targetTokens, List<Insertion> insertions, List<Probe> probes) {

    public TrialPlan {
        insertions = List.copyOf(insertions);
        probes = List.copyOf(probes);
    }
}
