package io.ultralong.gateway.console;

import java.nio.file.Path;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Settings of the operator console and its inspection endpoints, under {@code ul.console.*}. */
@ConfigMapping(prefix = "ul.console")
public interface ConsoleConfig {

    /** Whether {@code /console} is served. */
    @WithDefault("true")
    boolean enabled();

    /**
     * Directory of the evaluation module's HTML reports ({@code evaluation --report-dir}); absent: the
     * console's reports page says none are configured.
     */
    Optional<Path> reportsDir();

    /**
     * How far back in the session's partition of {@code ul.records} the record tail looks for the
     * session's latest records. A session whose partition is busy with others may show fewer.
     */
    @WithDefault("5000")
    int tailScanRecords();

    /** How long listings and worker status wait for every partition's owner to answer. */
    @WithDefault("PT5S")
    java.time.Duration inspectTimeout();
}
