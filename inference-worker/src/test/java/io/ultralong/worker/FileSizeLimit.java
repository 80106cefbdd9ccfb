package io.ultralong.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A real write fault for tests: lowers this JVM's RLIMIT_FSIZE (the soft limit, with util-linux {@code prlimit}) so
 * the kernel fails every write that would make a file longer than the limit with EFBIG ("File too large"), exactly
 * as it fails writes on a full disk with ENOSPC. The JVM ignores the SIGXFSZ that comes with it. {@link #close()}
 * puts the previous limit back. The limit is per process: keep it above every file the rest of the test JVM grows
 * meanwhile (the in-JVM broker preallocates 10 MiB index files).
 */
final class FileSizeLimit implements AutoCloseable {

    private final String previous;

    private FileSizeLimit(String previous) {
        this.previous = previous;
    }

    /** Whether {@code prlimit} can change this process's limits here. */
    static boolean available() {
        try {
            current();
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    static FileSizeLimit set(long bytes) throws IOException {
        String previous = current();
        prlimit("--fsize=" + bytes + ":");
        return new FileSizeLimit(previous);
    }

    private static String current() throws IOException {
        return prlimit("--fsize", "--raw", "--noheadings", "--output=SOFT").trim();
    }

    private static String prlimit(String... args) throws IOException {
        String[] command = new String[args.length + 3];
        command[0] = "prlimit";
        command[1] = "--pid";
        command[2] = Long.toString(ProcessHandle.current().pid());
        System.arraycopy(args, 0, command, 3, args.length);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException("prlimit failed: " + out);
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        prlimit("--fsize=" + previous + ":");
    }
}
