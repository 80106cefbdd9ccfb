package io.ultralong.gateway.console;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import io.smallrye.common.annotation.Blocking;
import io.ultralong.gateway.api.ApiException;

/**
 * The evaluation module's HTML reports ({@code report.html}, self-contained with its heatmap) found in
 * {@code ul.console.reports-dir}: the directory itself and each of its subdirectories is one run.
 * Served under {@code /v1} so the API key guards them like everything else.
 */
@jakarta.ws.rs.Path("/v1/reports")
public class ReportResource {

    static final String REPORT = "report.html";
    /** The name of a report written straight into the reports directory. */
    static final String ROOT_RUN = "_";

    @Inject
    ConsoleConfig config;

    public record Run(String name, long modifiedAt) {
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    public Map<String, Object> list() {
        return Map.of("configured", config.reportsDir().isPresent(), "data", runs());
    }

    @GET
    @jakarta.ws.rs.Path("/{name}")
    @Produces(MediaType.TEXT_HTML)
    @Blocking
    public byte[] report(@PathParam("name") String name) {
        // Only names this listing produced are served: no path from the caller reaches the file system.
        return runs().stream().filter(run -> run.name().equals(name)).findFirst()
                .map(run -> read(reportOf(run.name())))
                .orElseThrow(() -> ApiException.notFound("No evaluation report '" + name + "'."));
    }

    private List<Run> runs() {
        if (config.reportsDir().isEmpty() || !Files.isDirectory(config.reportsDir().get())) {
            return List.of();
        }
        Path dir = config.reportsDir().get();
        List<Run> runs = new ArrayList<>();
        if (Files.isRegularFile(dir.resolve(REPORT))) {
            runs.add(new Run(ROOT_RUN, modified(dir.resolve(REPORT))));
        }
        try (Stream<Path> children = Files.list(dir)) {
            children.filter(child -> Files.isRegularFile(child.resolve(REPORT)))
                    .forEach(child -> runs.add(new Run(child.getFileName().toString(), modified(child.resolve(REPORT)))));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        runs.sort(Comparator.comparingLong(Run::modifiedAt).reversed());
        return runs;
    }

    private Path reportOf(String name) {
        Path dir = config.reportsDir().orElseThrow();
        return ROOT_RUN.equals(name) ? dir.resolve(REPORT) : dir.resolve(name).resolve(REPORT);
    }

    private static long modified(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
