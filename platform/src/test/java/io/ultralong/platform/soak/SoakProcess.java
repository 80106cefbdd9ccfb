package io.ultralong.platform.soak;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One component as an OS process: started from a command line, its output appended to {@code <name>.log} (every
 * start of it, marked), ready once it prints a given line, and killed with SIGKILL ({@link Process#destroyForcibly()}
 * on Linux: no shutdown hook, no flush, a transaction or a write in flight).
 */
final class SoakProcess {

    private final String name;
    private final List<String> command;
    private final String readyLine;
    private final Path log;
    private Process process;
    private int starts;

    SoakProcess(String name, List<String> command, String readyLine, Path logDir) {
        this.name = name;
        this.command = List.copyOf(command);
        this.readyLine = readyLine;
        this.log = logDir.resolve(name + ".log");
    }

    /** A JVM running {@code mainClass} on this test's classpath. */
    static List<String> java(String maxHeap, Class<?> mainClass, String... args) {
        List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xmx" + maxHeap, "-XX:TieredStopAtLevel=1",
                "-Dai.djl.offline=true",
                // plain slf4j-simple logging to the process's output (the classpath also holds JBoss's, unconfigured here)
                "-Dslf4j.provider=org.slf4j.simple.SimpleServiceProvider", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dorg.slf4j.simpleLogger.log.io.ultralong=info", "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-cp", System.getProperty("java.class.path"), mainClass.getName()));
        command.addAll(List.of(args));
        return command;
    }

    static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    String name() {
        return name;
    }

    /** Starts the process and returns once it printed its ready line; fails with the log's path if it exits first. */
    void start(Duration within) throws IOException {
        starts++;
        Files.writeString(log, "\n===== start " + starts + " of " + name + " at " + java.time.Instant.now() + "\n",
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        process = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<Void> ready = new CompletableFuture<>();
        Process started = process;
        Thread pump = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(started.getInputStream(), StandardCharsets.UTF_8));
                 PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8,
                         StandardOpenOption.CREATE, StandardOpenOption.APPEND), true)) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    out.println(line);
                    if (line.contains(readyLine)) {
                        ready.complete(null);
                    }
                }
            } catch (IOException e) {
                // the process was killed
            }
            ready.completeExceptionally(new AssertionError(name + " exited before it was ready: see " + log));
        }, "soak-" + name + "-output");
        pump.setDaemon(true);
        pump.start();
        try {
            ready.get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            killHard();
            throw new AssertionError(name + " was not ready within " + within + ": see " + log, e);
        }
    }

    /** SIGKILL, and waits until the process is gone (its ports and file locks are free then). */
    void killHard() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                if (!process.waitFor(60, TimeUnit.SECONDS)) {
                    throw new AssertionError(name + " survived SIGKILL for 60 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    boolean alive() {
        return process != null && process.isAlive();
    }
}
