package io.ultralong.evaluation.run;

import java.util.List;

import io.ultralong.evaluation.client.PlatformClient.Usage;

/**
 * One question's outcome.
 *
 * @param depth       nominal depth of the needle asked about (0..1), null when the answer spans several
 * @param actualDepth the depth the needle really got in the haystack (tokens before it / other tokens)
 * @param error       why there is no answer (the platform refused or timed out), else null
 */
public record ProbeResult(String question, List<String> expected, String answer, boolean correct, double recall,
                          Double depth, Double actualDepth, Usage usage, long millis, String error) {
}
