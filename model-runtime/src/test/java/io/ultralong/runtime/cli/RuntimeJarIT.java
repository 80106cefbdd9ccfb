package io.ultralong.runtime.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.reference.ReferenceLlama;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar as an operator runs it: {@code java -jar target/model-runtime-*.jar ...} in a fresh JVM with
 * nothing but the manifest's class path (so libtorch must load offline from target/lib). Runs in the
 * integration-test phase after {@code package}; skipped when the jar is absent (e.g. run from an IDE).
 */
class RuntimeJarIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path jar;
    static Path model;

    @BeforeAll
    static void findJarAndWriteModel() {
        String path = System.getProperty("runtime.jar");
        assumeTrue(path != null && Files.isRegularFile(Path.of(path)), "packaged jar not built: " + path);
        jar = Path.of(path);
        model = SyntheticModelWriter.write(dir.resolve("model"), SyntheticModelSpec.tiny());
    }

    record Result(int exitCode, String stdout, String stderr) { }

    private static Result runJar(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "stdout", ".txt");
        Path err = Files.createTempFile(dir, "stderr", ".txt");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean finished = process.waitFor(120, TimeUnit.SECONDS);
        if (!finished) {
            process.destroyForcibly();
        }
        assertThat(finished).as("jar finished within 120 s: " + command).isTrue();
        return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void inspectPrintsJson() throws Exception {
        Result result = runJar("inspect", "--model", model.toString(), "--gpu-mem-gib", "1");
        assertThat(result.exitCode()).as(result.stderr()).isZero();
        JsonNode json = JSON.readTree(result.stdout());
        assertThat(json.at("/rope/type").asText()).isEqualTo("yarn");
        assertThat(json.at("/memory/kv_bytes_per_token_fp16").asLong()).isEqualTo(256);
    }

    @Test
    void logitsLoadLibtorchFromTheJarsLibrariesAndMatchTheReference() throws Exception {
        int[] tokens = {502, 17, 300, 45, 9, 260, 77, 3, 499, 128};
        Result result = runJar("logits", "--model", model.toString(), "--device", "cpu", "--tokens",
                String.join(",", java.util.Arrays.stream(tokens).mapToObj(String::valueOf).toList()));
        assertThat(result.exitCode()).as(result.stderr()).isZero();
        JsonNode logits = JSON.readTree(result.stdout());
        double[] expected = ReferenceLlama.load(ModelDirectory.resolve(model)).logits(tokens)[tokens.length - 1];
        assertThat(logits).hasSize(expected.length);
        double scale = java.util.Arrays.stream(expected).map(Math::abs).max().orElseThrow();
        for (int i = 0; i < expected.length; i++) {
            assertThat(Math.abs(logits.get(i).asDouble() - expected[i]) / scale).as("logit %d", i).isLessThan(1e-4);
        }
    }

    @Test
    void aMissingModelIsExitCodeTwo() throws Exception {
        Result result = runJar("logits", "--model", dir.resolve("absent").toString(), "--tokens", "1");
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.stdout()).isEmpty();
        assertThat(result.stderr().strip()).startsWith("error: Model directory does not exist");
    }
}
