package io.ultralong.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hub-cache resolution and the clear errors of issue 3 item 1. */
class ModelDirectoryErrorsTest {

    @Test
    void hubCacheResolvesThroughRefsMain(@TempDir Path dir) throws IOException {
        Path hub = dir.resolve("models--nvidia--Tiny");
        SyntheticModelWriter.write(hub.resolve("snapshots/abc123"), SyntheticModelSpec.tiny());
        Files.createDirectories(hub.resolve("snapshots/other"));
        Files.createDirectories(hub.resolve("refs"));
        Files.writeString(hub.resolve("refs/main"), "abc123\n");
        assertThat(ModelDirectory.resolve(hub).root()).isEqualTo(hub.resolve("snapshots/abc123"));
    }

    @Test
    void eachBrokenModelFailsWithAMessageNamingTheProblem(@TempDir Path dir) throws IOException {
        Path model = SyntheticModelWriter.write(dir.resolve("m"), SyntheticModelSpec.tiny());
        assertThatThrownBy(() -> ModelDirectory.resolve(dir.resolve("absent"))).hasMessageContaining("does not exist");
        Files.createDirectories(dir.resolve("e"));
        assertThatThrownBy(() -> ModelDirectory.resolve(dir.resolve("e"))).hasMessageContaining("Missing config.json");

        String config = Files.readString(model.resolve("config.json"));
        Files.writeString(model.resolve("config.json"), config.replace("\"hidden_size\" : 64", "\"hidden_size\" : 32")
                .replace("\"head_dim\" : 16", "\"head_dim\" : 8"));
        assertThatThrownBy(() -> ModelDirectory.resolve(model).openWeights()).hasMessageContaining("shape mismatch");
        Files.writeString(model.resolve("config.json"), config.replace("LlamaForCausalLM", "MistralForCausalLM")
                .replace("\"llama\"", "\"mistral\""));
        assertThatThrownBy(() -> ModelDirectory.resolve(model)).hasMessageContaining("Unsupported architecture 'MistralForCausalLM'");
        Files.writeString(model.resolve("config.json"), config);

        try (FileChannel ch = FileChannel.open(model.resolve("model.safetensors"), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 4);
        }
        assertThatThrownBy(() -> ModelDirectory.resolve(model).openWeights()).hasMessageContaining("Truncated");
        Files.delete(model.resolve("model.safetensors"));
        assertThatThrownBy(() -> ModelDirectory.resolve(model).openWeights()).hasMessageContaining("Missing weights");
        assertThatThrownBy(() -> TensorDType.fromSafetensors("I8")).hasMessageContaining("Unsupported dtype 'I8'");
    }
}
