package io.ultralong.worker.service;

import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.opentelemetry.sdk.trace.SpanProcessor;
import io.ultralong.protocol.trace.OtlpTraceExport;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigValue;
import org.jboss.logging.Logger;

/**
 * Hands the worker service's OpenTelemetry SDK (every {@link SpanProcessor} bean joins it) the OTLP export, which
 * exists only when {@code quarkus.otel.exporter.otlp.endpoint} is set; the gateway has the same (the embedded
 * platform uses the gateway's).
 */
@ApplicationScoped
public class TraceExport {

    private static final Logger LOG = Logger.getLogger(TraceExport.class);

    @Produces
    @Singleton
    SpanProcessor otlpExport(Config config) {
        Optional<String> url = OtlpTraceExport.tracesUrl(name -> setByUser(config, name));
        url.ifPresent(u -> LOG.infof("Exporting traces by OTLP/HTTP to %s", u));
        return OtlpTraceExport.processor(url);
    }

    /**
     * The value only when someone set it (a file, an environment variable, a system property): Quarkus gives the
     * endpoint a default (localhost:4317) from a source of negative ordinal.
     */
    static Optional<String> setByUser(Config config, String name) {
        ConfigValue value = config.getConfigValue(name);
        return value.getValue() != null && value.getSourceOrdinal() > 0 ? Optional.of(value.getValue()) : Optional.empty();
    }
}
