package io.ultralong.runtime.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad arguments and unusable models end with exit code 2 and one clear line on stderr, nothing on stdout. */
class CliErrorsTest {

    @TempDir
    static Path dir;

    @BeforeAll
    static void writeModel() {
        SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
    }

    private static void assertUsageError(CliRun run, String message) {
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.stdout()).isEmpty();
        assertThat(run.stderr().lines().findFirst()).hasValueSatisfying(line ->
                assertThat(line).startsWith("error: ").contains(message));
    }

    @Test
    void missingModelDirectory() {
        assertUsageError(CliRun.of("inspect", "--model", dir.resolve("nope").toString()), "Model directory does not exist");
        assertUsageError(CliRun.of("logits", "--model", dir.resolve("nope").toString(), "--tokens", "1"),
                "Model directory does not exist");
    }

    @Test
    void directoryWithoutConfig() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertUsageError(CliRun.of("generate", "--model", empty.toString(), "--prompt", "hi"), "Missing config.json");
    }

    @Test
    void tokensThatAreNotIdsOrOutsideTheVocabulary() throws Exception {
        String model = dir.resolve("model").toString();
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1,x,3"), "Not a token id: 'x'");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1,512"), "Token id 512 (item 2) is outside the vocabulary 0..511");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens-file", dir.resolve("none.txt").toString()),
                "--tokens-file does not exist");
        Path blank = Files.writeString(dir.resolve("blank.txt"), " \n ");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens-file", blank.toString()), "No token ids");
    }

    @Test
    void optionsPicocliRejects() {
        String model = dir.resolve("model").toString();
        assertUsageError(CliRun.of("logits", "--model", model), "Missing required argument");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--tokens-file", "f"), "mutually exclusive");
        assertUsageError(CliRun.of("generate", "--model", model, "--prompt", "x", "--max-tokens", "lots"), "--max-tokens");
        assertUsageError(CliRun.of("inspect", "--model", model, "--gpu-mem-gib", "-3"), "--gpu-mem-gib must be positive");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--device", "tpu"), "Unknown device 'tpu'");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--chunk", "0"), "prefillChunkTokens");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--devices", "cpu,tpu"), "Unknown device 'tpu'");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--devices", "cpu,,cpu"), "empty entry");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--devices", "cpu,cpu", "--kv-on-host"),
                "kvOnHost keeps all KV in host memory");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--devices", "cpu,cpu",
                "--device-kv-bytes", "100"), "less than one KV block");
        assertUsageError(CliRun.of("generate", "--model", model, "--prompt", "x", "--top-p", "1.5"), "topP must be in (0, 1]");
        assertUsageError(CliRun.of("generate", "--model", model, "--prompt", "x", "--system", "s"), "--system needs --chat");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--precision", "fp64"),
                "precision must be one of [auto, f32, f16, bf16], not 'fp64'");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--kv-precision", "int4"),
                "KV precision must be one of [auto, int8, fp8], not 'int4'");
        assertUsageError(CliRun.of("logits", "--model", model, "--tokens", "1", "--kv-precision", "int8",
                "--blockwise-attention"), "needs the fused attention");
        assertUsageError(CliRun.of("frobnicate"), "Unmatched argument");
        assertUsageError(CliRun.of(), "Missing command");
    }

    @Test
    void tokenListsAcceptCommasWhitespaceAndNewlines() {
        assertThat(TokenIds.parse(" 1,2 ,3\n4\t5,\n6 ", "test")).containsExactly(1, 2, 3, 4, 5, 6);
    }
}
