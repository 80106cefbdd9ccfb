package io.ultralong.platform.compose;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
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
        // Reports its arguments and UL_* environment; with HOLD_UNTIL set it keeps running (and so keeps
        // the worker's slot lock, inherited through exec) until that file exists.
        Files.writeString(java, """
                #!/usr/bin/env bash
                printf 'ARG %s\\n' "$@"
                env | grep '^UL_' | sed 's/^/ENV /'
                echo READY
                while [[ -n "${HOLD_UNTIL:-}" && ! -e "${HOLD_UNTIL}" ]]; do sleep 0.05; done
                """);
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void emptySettingsAreDroppedSoThatTheServiceDefaultsApply() throws Exception {
        Started ingest = start(Map.of("UL_SERVICE", "ingest", "UL_INGEST_MAX_CHUNK_TOKENS", "", "UL_MODEL_DIR", "",
                "UL_TOPICS_PREFIX", "ul."));

        assertThat(ingest.env()).containsEntry("UL_TOPICS_PREFIX", "ul.")
                .doesNotContainKeys("UL_INGEST_MAX_CHUNK_TOKENS", "UL_MODEL_DIR", "UL_INGEST_TOKENIZER");
    }

    @Test
    void theOneModelDirectoryReachesIngestAndWorkersUnderTheirOwnSettings() throws Exception {
        Started ingest = start(Map.of("UL_SERVICE", "ingest", "UL_MODEL_DIR", "/models/m"));
        Started worker = start(Map.of("UL_SERVICE", "worker", "UL_MODEL_DIR", "/models/m",
                "UL_WORKER_DATA_ROOT", dir.resolve("workers").toString()));

        assertThat(ingest.env()).containsEntry("UL_INGEST_TOKENIZER", "/models/m").doesNotContainKey("UL_WORKER_MODEL_DIR");
        assertThat(worker.env()).containsEntry("UL_WORKER_MODEL_DIR", "/models/m").doesNotContainKey("UL_INGEST_TOKENIZER");
    }

    @Test
    void aHubIdReachesIngestAndWorkersAndNamesTheModelInTheApi() throws Exception {
        String hubId = "nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct";
        Started ingest = start(Map.of("UL_SERVICE", "ingest", "UL_MODEL", hubId, "UL_MODEL_DIR", ""));
        Started worker = start(Map.of("UL_SERVICE", "worker", "UL_MODEL", hubId + "@main",
                "UL_WORKER_DATA_ROOT", dir.resolve("workers").toString()));
        Started gateway = start(Map.of("UL_SERVICE", "gateway", "UL_MODEL", hubId, "UL_MODEL_ID", ""));

        assertThat(ingest.env()).containsEntry("UL_INGEST_TOKENIZER", hubId);
        assertThat(worker.env()).containsEntry("UL_WORKER_MODEL_DIR", hubId + "@main").containsEntry("UL_WORKER_MODEL_ID", hubId);
        assertThat(gateway.env()).doesNotContainKey("UL_DEMO_MODEL").containsEntry("UL_MODEL_ID", hubId);
    }

    @Test
    void aGatewayWithoutAModelAnnouncesTheDemoModel() throws Exception {
        Started demo = start(Map.of("UL_SERVICE", "gateway", "UL_MODEL_DIR", "", "UL_MODEL_ID", "ultralong-8b"));
        Started real = start(Map.of("UL_SERVICE", "gateway", "UL_MODEL_DIR", "/models/m", "UL_MODEL_ID", "ultralong-8b"));

        assertThat(demo.env()).containsEntry("UL_DEMO_MODEL", "true").containsEntry("UL_MODEL_ID", "ultralong-demo-random-weights");
        assertThat(real.env()).doesNotContainKey("UL_DEMO_MODEL").containsEntry("UL_MODEL_ID", "ultralong-8b");
    }

    @Test
    void runningWorkersHoldDistinctSlotsAndADeadWorkersSlotIsReused() throws Exception {
        Path root = dir.resolve("workers");
        Path release = dir.resolve("release-worker-0");
        Map<String, String> worker = Map.of("UL_SERVICE", "worker", "UL_WORKER_DATA_ROOT", root.toString());

        Process first = launch(merge(worker, Map.of("HOLD_UNTIL", release.toString())));
        Map<String, String> firstEnv = readUntilReady(first).env();
        Started second = start(worker);            // while the first one runs
        Files.createFile(release);
        assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Started replacement = start(worker);       // after the first one died

        assertThat(firstEnv).containsEntry("UL_WORKER_ID", "worker-0")
                .containsEntry("UL_WORKER_DATA_DIR", root.resolve("worker-0").toString());
        assertThat(second.env()).containsEntry("UL_WORKER_ID", "worker-1")
                .containsEntry("UL_WORKER_DATA_DIR", root.resolve("worker-1").toString());
        assertThat(replacement.env()).containsEntry("UL_WORKER_ID", "worker-0");
        assertThat(root.resolve("worker-0")).isDirectory();
        assertThat(root.resolve("worker-1")).isDirectory();
    }

    @Test
    void perSlotDeviceGivesEachWorkerItsOwnGpuAndRefusesAWorkerBeyondTheLast() throws Exception {
        Path nvidiaSmi = fakeJavaDir.resolve("nvidia-smi");
        Files.writeString(nvidiaSmi, """
                #!/usr/bin/env bash
                echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-00000000-0000-0000-0000-000000000000)'
                echo 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-11111111-1111-1111-1111-111111111111)'
                """);
        Files.setPosixFilePermissions(nvidiaSmi, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path release = dir.resolve("release");
        Map<String, String> worker = Map.of("UL_SERVICE", "worker", "UL_WORKER_DEVICE", "per-slot",
                "UL_WORKER_DATA_ROOT", dir.resolve("workers").toString(), "HOLD_UNTIL", release.toString());

        Process first = launch(worker);
        Map<String, String> firstEnv = readUntilReady(first).env();
        Process second = launch(worker);
        Map<String, String> secondEnv = readUntilReady(second).env();
        Process third = launch(worker);
        String thirdOutput = new String(third.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(third.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Files.createFile(release);

        assertThat(firstEnv).containsEntry("UL_WORKER_DEVICE", "cuda:0");
        assertThat(secondEnv).containsEntry("UL_WORKER_DEVICE", "cuda:1");
        assertThat(third.exitValue()).isEqualTo(1);
        assertThat(thirdOutput).contains("worker-2 has no GPU of its own: this host shows 2 GPU(s)");
        assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(second.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void anExplicitWorkerIdAndDataDirectoryAreKept() throws Exception {
        Path data = dir.resolve("elsewhere/store");
        Started worker = start(Map.of("UL_SERVICE", "worker", "UL_WORKER_ID", "gpu-box-3",
                "UL_WORKER_DATA_DIR", data.toString(), "UL_WORKER_DATA_ROOT", dir.resolve("workers").toString()));

        assertThat(worker.env()).containsEntry("UL_WORKER_ID", "gpu-box-3").containsEntry("UL_WORKER_DATA_DIR", data.toString());
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
        Process process = launch(environment);
        Started started = readUntilReady(process);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isZero();
        return started;
    }

    private Process launch(Map<String, String> environment) throws IOException {
        Path entrypoint = DeploymentFiles.deployDir().resolve("docker/entrypoint.sh");
        ProcessBuilder builder = new ProcessBuilder("bash", entrypoint.toString()).redirectErrorStream(true);
        builder.environment().keySet().removeIf(name -> name.startsWith("UL_") || name.equals("JAVA_OPTS"));
        builder.environment().putAll(environment);
        builder.environment().put("PATH", fakeJavaDir + ":" + System.getenv("PATH"));
        return builder.start();
    }

    /** The stand-in java's report, read up to its READY line (it may keep running after it). */
    private static Started readUntilReady(Process process) throws IOException {
        BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        List<String> args = new ArrayList<>();
        Map<String, String> env = new TreeMap<>();
        List<String> other = new ArrayList<>();
        for (String line = output.readLine(); !"READY".equals(line); line = output.readLine()) {
            assertThat(line).as("entrypoint output ended before java started: " + other).isNotNull();
            if (line.startsWith("ARG ")) {
                args.add(line.substring(4));
            } else if (line.startsWith("ENV ")) {
                String[] pair = line.substring(4).split("=", 2);
                env.put(pair[0], pair[1]);
            } else {
                other.add(line);
            }
        }
        return new Started(args, env);
    }

    private static Map<String, String> merge(Map<String, String> a, Map<String, String> b) {
        Map<String, String> merged = new TreeMap<>(a);
        merged.putAll(b);
        return merged;
    }
}
