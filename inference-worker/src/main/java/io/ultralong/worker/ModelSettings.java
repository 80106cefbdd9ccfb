package io.ultralong.worker;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The model side of a worker.
 *
 * @param modelDir           an HF model directory or hub cache directory; empty: the built-in demo model
 * @param device             {@code cpu}, {@code gpu}, {@code cuda:N} or {@code auto}
 * @param prefillChunkTokens tokens per prefill step (peak activation memory grows with it)
 * @param kvBlockTokens      tokens per KV block: the unit of caching, persistence and reuse
 * @param kvMemoryBytes      budget for the KV caches of recently queried sessions kept on the device
 * @param kvDiskQuotaBytes   budget for persisted KV blocks in the context store (0: unlimited)
 * @param systemPrompt       the system message of every session's prompt
 * @param modelId            the model's name in answers
 */
public record ModelSettings(
        Optional<Path> modelDir,
        String device,
        int prefillChunkTokens,
        int kvBlockTokens,
        long kvMemoryBytes,
        long kvDiskQuotaBytes,
        String systemPrompt,
        String modelId) {

    public static final String DEFAULT_SYSTEM_PROMPT =
            "You answer questions about the records below, using only what they say. Answer briefly.";
}
