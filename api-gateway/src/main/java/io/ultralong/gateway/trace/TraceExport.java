package io.ultralong.gateway.trace;

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
 * Hands the OpenTelemetry SDK (every {@link SpanProcessor} bean joins it) the OTLP export, which exists only when
 * {@code quarkus.otel.exporter.otlp.endpoint} is set: Quarkus's own exporter is off (application.properties), as it
 * would export to localhost and log failures when nothing is configured.
 */
@ApplicationScoped
public class TraceExport {

    private static final Logger LOG = Logger.getLogger(TraceExport.class);

    @Produces
    @Singleton
    SpanProcessor otlpExport(Config config) {
        Optional<String> url = OtlpTraceExport.tracesUrl(name -> setByUser(config, name));
        if (url.isPresent()) {
            LOG.infof("Exporting traces by OTLP/HTTP to %s", url.get());
        } else {
            LOG.debug("No OTLP endpoint configured: traces are made (X-Trace-Id, Kafka headers) but not exported");
        }
        return OtlpTraceExport.processor(url);
    }

    /**
     * The value only when someone set it (a file, an environment variable, a system property): Quarkus gives the
     * endpoint a default (localhost:4317) from a source of negative ordinal.
     */
    public static Optional<String> setByUser(Config config, String name) {
        ConfigValue value = config.getConfigValue(name);
        return value.getValue() != null && value.getSourceOrdinal() > 0 ? Optional.of(value.getValue()) : Optional.empty();
    }
}
