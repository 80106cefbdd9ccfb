package io.ultralong.gateway.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.ultralong.protocol.trace.OtlpTraceExport;
import org.junit.jupiter.api.Test;

/** Quarkus gives the OTLP endpoint a default; only an endpoint someone set turns export on. */
class TraceExportTest {

    @Test
    void quarkussDefaultEndpointIsNotAnEndpointSetByTheUser() {
        SmallRyeConfig defaults = new SmallRyeConfigBuilder()
                .withDefaultValue(OtlpTraceExport.ENDPOINT, "http://localhost:4317/").build();
        assertThat(defaults.getOptionalValue(OtlpTraceExport.ENDPOINT, String.class)).isPresent();
        assertThat(TraceExport.setByUser(defaults, OtlpTraceExport.ENDPOINT)).isEmpty();

        // As an environment variable (ordinal 300) or application.properties (250) would set it.
        SmallRyeConfig set = new SmallRyeConfigBuilder()
                .withDefaultValue(OtlpTraceExport.ENDPOINT, "http://localhost:4317/")
                .withSources(new PropertiesConfigSource(Map.of(OtlpTraceExport.ENDPOINT, "http://collector:4318"), "env", 300))
                .build();
        assertThat(TraceExport.setByUser(set, OtlpTraceExport.ENDPOINT)).contains("http://collector:4318");
        assertThat(OtlpTraceExport.tracesUrl(name -> TraceExport.setByUser(set, name))).contains("http://collector:4318/v1/traces");
    }
}
