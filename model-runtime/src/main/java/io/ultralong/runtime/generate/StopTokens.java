package io.ultralong.runtime.generate;

import java.util.Set;
import java.util.TreeSet;

import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.tokenizer.ModelTokenizer;

/** The token ids that end an answer for a given model. */
public final class StopTokens {

    /** End-of-turn tokens of the Llama 3.x chat format; an instruct model ends its answer with one. */
    public static final java.util.List<String> CHAT_END_TOKENS = java.util.List.of("<|eot_id|>", "<|eom_id|>");

    private StopTokens() {
    }

    /**
     * generation_config.json's eos ids (config.json's when absent), tokenizer_config.json's eos_token, plus
     * {@code <|eot_id|>} and {@code <|eom_id|>} when the tokenizer has them.
     */
    public static Set<Integer> of(ModelDirectory model, ModelTokenizer tokenizer) {
        Set<Integer> ids = new TreeSet<>(model.eosTokenIds(tokenizer));
        for (String token : CHAT_END_TOKENS) {
            tokenizer.specialTokenId(token).ifPresent(ids::add);
        }
        return Set.copyOf(ids);
    }
}
