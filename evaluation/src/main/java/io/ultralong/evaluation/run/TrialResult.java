package io.ultralong.evaluation.run;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One session's outcome.
 *
 * @param haystackTokens context tokens streamed, counted with the model's tokenizer
 * @param platformTokens the session's {@code tokens} as the platform reported them afterwards, if it did
 */
public record TrialResult(String task, String sessionId, long targetTokens, long haystackTokens, int records,
                          Long platformTokens, long streamMillis, List<ProbeResult> probes) {

    @JsonProperty("correct")
    public long correct() {
        return probes.stream().filter(ProbeResult::correct).count();
    }

    @JsonProperty("contextTokens")
    public long contextTokens() {
        return probes.stream().mapToLong(p -> p.usage().contextTokens()).sum();
    }

    @JsonProperty("cachedTokens")
    public long cachedTokens() {
        return probes.stream().mapToLong(p -> p.usage().cachedTokens()).sum();
    }
}
