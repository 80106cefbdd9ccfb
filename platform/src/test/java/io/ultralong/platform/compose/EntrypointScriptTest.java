package io.ultralong.platform.compose;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The images' entrypoint ({@code deploy/docker/entrypoint.sh}) with {@code java} replaced by a
 * stand-in that reports the environment and arguments it was started with.
 */
class EntrypointScriptTest {

    @TempDir
    Path dir;

    private Path fakeJavaDir;

    @BeforeEach
    void writeFakeJava() throws IOException {
        fakeJavaDir = Files.createDirectories(dir.resolve("bin"));
        Path java = fakeJavaDir.resolve("java");
        Files.writeString(java, "#!/usr/bin/env bash\nprintf 'ARG %s\\n' \"$@\"\nenv | grep '^UL_' | sed 's/^/ENV /'\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void emptySettingsAreDroppedSoThatTheServiceDefaultsApply() throws Exception {
        Started ingest = start(Map.of("UL_SERVICE", "ingest", "UL_INGEST_CHUNK_TOKENS", "", "UL_MODEL_DIR", "",
                "UL_TOPICS_PREFIX", "ul."));

        assertThat(ingest.env()).containsEntry("UL_TOPICS_PREFIX", "ul.")
                .doesNotContainKeys("UL_INGEST_CHUNK_TOKENS", "UL_MODEL_DIR", "UL_INGEST_MODEL_DIR");
    }

    @Test
    void theOneModelDirectoryReachesIngestAndWorkersUnderTheirOwnSettings() throws Exception {
        Path data = dir.resolve("data");
        Started ingest = start(Map.of("UL_SERVICE", "ingest", "UL_MODEL_DIR", "/models/m"));
        Started worker = start(Map.of("UL_SERVICE", "worker", "UL_MODEL_DIR", "/models/m", "HOSTNAME", "c0ffee",
                "UL_WORKER_DATA_DIR", data.toString()));

        assertThat(ingest.env()).containsEntry("UL_INGEST_MODEL_DIR", "/models/m").doesNotContainKey("UL_WORKER_MODEL_DIR");
        assertThat(worker.env()).containsEntry("UL_WORKER_MODEL_DIR", "/models/m").doesNotContainKey("UL_INGEST_MODEL_DIR");
    }

    @Test
    void aWorkerIsNamedAfterItsHostnameAndItsDataDirectoryIsCreated() throws Exception {
        Path data = dir.resolve("store/worker-a");
        Started worker = start(Map.of("UL_SERVICE", "worker", "HOSTNAME", "c0ffee", "UL_WORKER_DATA_DIR", data.toString()));
        Started named = start(Map.of("UL_SERVICE", "worker", "HOSTNAME", "c0ffee", "UL_WORKER_ID", "worker-7",
                "UL_WORKER_DATA_DIR", data.toString()));

        assertThat(worker.env()).containsEntry("UL_WORKER_ID", "c0ffee");
        assertThat(named.env()).containsEntry("UL_WORKER_ID", "worker-7");
        assertThat(data).isDirectory();
    }

    @Test
    void javaOptionsAreSplitIntoFlagsBeforeTheApplicationJar() throws Exception {
        Started gateway = start(Map.of("UL_SERVICE", "gateway", "JAVA_OPTS", "-Xmx1g -Dai.djl.offline=true"));

        assertThat(gateway.args()).containsExactly("-Xmx1g", "-Dai.djl.offline=true", "-jar", "/app/quarkus-run.jar");
    }

    private record Started(List<String> args, Map<String, String> env) {
    }

    private Started start(Map<String, String> environment) throws IOException, InterruptedException {
        Path entrypoint = DeploymentFiles.deployDir().resolve("docker/entrypoint.sh");
        ProcessBuilder builder = new ProcessBuilder("bash", entrypoint.toString()).redirectErrorStream(true);
        builder.environment().keySet().removeIf(name -> name.startsWith("UL_") || name.equals("JAVA_OPTS"));
        builder.environment().putAll(environment);
        builder.environment().put("PATH", fakeJavaDir + ":" + System.getenv("PATH"));
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        List<String> lines = Arrays.asList(output.split("\n"));
        Map<String, String> env = new TreeMap<>();
        lines.stream().filter(line -> line.startsWith("ENV ")).map(line -> line.substring(4).split("=", 2))
                .forEach(pair -> env.put(pair[0], pair[1]));
        List<String> args = lines.stream().filter(line -> line.startsWith("ARG ")).map(line -> line.substring(4)).toList();
        return new Started(args, env);
    }
}
