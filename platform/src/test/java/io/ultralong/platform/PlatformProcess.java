package io.ultralong.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** Starts the packaged platform ({@code target/quarkus-app/quarkus-run.jar}) as a user does, with the demo model. */
final class PlatformProcess {

    private PlatformProcess() {
    }

    /** Starts it and returns once its HTTP port listens; its output goes into the failure message if it does not. */
    static Process start(Path dataDir, int port, int kafkaPort) throws Exception {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        assertThat(jar).as("the packaged platform (mvn package)").exists();
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-jar", jar.toString(), "--data-dir", dataDir.toString(), "--port", Integer.toString(port),
                "--kafka-port", Integer.toString(kafkaPort), "--device", "cpu")
                .redirectErrorStream(true).start();
        List<String> output = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> up = new CompletableFuture<>();
        Thread pump = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    output.add(line);
                    if (line.contains("Listening on:")) {
                        up.complete(null);
                    }
                }
            } catch (Exception e) {
                // killed
            }
            up.completeExceptionally(new AssertionError("the platform exited:\n" + String.join("\n", output)));
        });
        pump.setDaemon(true);
        pump.start();
        try {
            up.get(240, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new AssertionError("the platform did not come up:\n" + String.join("\n", output), e);
        }
        assertThat(Files.isDirectory(dataDir.resolve("kafka"))).isTrue();
        return process;
    }

}
