package io.ultralong.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import io.ultralong.runtime.generate.StopTokens;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tokenizer_config.json's bos/eos beside generation_config.json's eos ids (synthetic vocab: 502 bos, 503 eos, 510 eom, 511 eot). */
class TokenizerConfigTest {

    @TempDir
    Path dir;

    private ModelDirectory modelWith(String generationConfig, String tokenizerConfig) throws Exception {
        SyntheticModelWriter.write(dir, SyntheticModelSpec.tiny());
        Files.writeString(dir.resolve("generation_config.json"), generationConfig);
        if (tokenizerConfig == null) {
            Files.delete(dir.resolve("tokenizer_config.json"));
        } else {
            Files.writeString(dir.resolve("tokenizer_config.json"), tokenizerConfig);
        }
        return ModelDirectory.resolve(dir);
    }

    @Test
    void eosIdsAreTheUnionOfGenerationConfigAndTokenizerConfig() throws Exception {
        ModelDirectory model = modelWith("{\"eos_token_id\": 503}",
                "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": \"<|eot_id|>\"}");
        try (ModelTokenizer tokenizer = model.openTokenizer()) {
            assertThat(tokenizer.eosTokenId()).hasValue(511);
            assertThat(tokenizer.bosTokenId()).hasValue(502);
            assertThat(model.generationConfig().eosTokenIds()).containsExactly(503);
            assertThat(model.eosTokenIds(tokenizer)).containsExactly(503, 511);
        }
    }

    @Test
    void addedTokenObjectsAreReadByTheirContent() throws Exception {
        ModelDirectory model = modelWith("{\"eos_token_id\": [503]}",
                "{\"eos_token\": {\"content\": \"<|eom_id|>\", \"special\": true}, \"add_bos_token\": false}");
        try (ModelTokenizer tokenizer = model.openTokenizer()) {
            assertThat(model.tokenizerConfig().eosToken()).hasValue("<|eom_id|>");
            assertThat(model.eosTokenIds(tokenizer)).containsExactly(503, 510);
            assertThat(StopTokens.of(model, tokenizer)).containsExactlyInAnyOrder(503, 510, 511);
        }
    }

    @Test
    void plainPromptsStartWithBosUnlessTheConfigSaysOtherwise() throws Exception {
        ModelDirectory model = modelWith("{\"eos_token_id\": 503}", "{\"bos_token\": \"<|begin_of_text|>\"}");
        try (ModelTokenizer tokenizer = model.openTokenizer()) {
            int[] text = tokenizer.encode("Hello world");
            assertThat(tokenizer.encodePrompt("Hello world")).startsWith(502).hasSize(text.length + 1).endsWith(text);
        }
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"<|begin_of_text|>\", \"add_bos_token\": false}");
        try (ModelTokenizer tokenizer = ModelDirectory.resolve(dir).openTokenizer()) {
            assertThat(tokenizer.encodePrompt("Hello world")).isEqualTo(tokenizer.encode("Hello world"));
        }
    }

    @Test
    void withoutTokenizerConfigTheGenerationConfigAlonePlusChatEndTokensStop() throws Exception {
        ModelDirectory model = modelWith("{\"eos_token_id\": 503}", null);
        try (ModelTokenizer tokenizer = model.openTokenizer()) {
            assertThat(tokenizer.tokenizerConfig()).isEqualTo(TokenizerConfig.ABSENT);
            assertThat(tokenizer.eosTokenId()).isEmpty();
            assertThat(model.eosTokenIds(tokenizer)).containsExactly(503);
            assertThat(StopTokens.of(model, tokenizer)).containsExactlyInAnyOrder(503, 510, 511);
        }
    }
}
