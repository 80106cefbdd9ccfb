package io.ultralong.evaluation.run;

import java.util.List;

/**
 * One session's outcome.
 *
 * @param haystackTokens context tokens streamed, counted with the model's tokenizer
 * @param platformTokens the session's {@code tokens} as the platform reported them afterwards, if it did
 */
public record TrialResult(String task, String sessionId, long targetTokens, long haystackTokens, int records,
                          Long platformTokens, long streamMillis, List<ProbeResult> probes) {

    public long correct() {
        return probes.stream().filter(ProbeResult::correct).count();
    }

    public long contextTokens() {
        return probes.stream().mapToLong(p -> p.usage().contextTokens()).sum();
    }

    public long cachedTokens() {
        return probes.stream().mapToLong(p -> p.usage().cachedTokens()).sum();
    }
}
