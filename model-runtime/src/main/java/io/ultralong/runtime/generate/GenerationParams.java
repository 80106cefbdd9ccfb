package io.ultralong.runtime.generate;

import java.util.Set;

/**
 * maxTokens >= 1; temperature 0 = greedy; topP in (0,1]; topK 0 = off; seed; stopTokenIds (eos ids from
 * generation_config/config, plus <|eot_id|>/<|eom_id|> when present in the tokenizer).
 * (Contract type owned by the generation helper; this copy only lets the engine compile before that branch merges.)
 */
public record GenerationParams(int maxTokens, double temperature, double topP, int topK, long seed,
        Set<Integer> stopTokenIds) { }
