package io.ultralong.gateway.api;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import io.ultralong.gateway.GatewayConfig;

/** {@code GET /v1/models}: the OpenAI-shaped list of the one model the platform serves. */
@Path("/v1/models")
@Produces(MediaType.APPLICATION_JSON)
public class ModelResource {

    private static final long CREATED = 1_743_465_600L;   // 2025-04-01, the UltraLong release

    @Inject
    GatewayConfig config;

    static final String DEMO_WARNING = "Demo model with random weights: its answers are meaningless.";

    @GET
    public Map<String, Object> list() {
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("id", config.modelId());
        model.put("object", "model");
        model.put("created", CREATED);
        model.put("owned_by", "ultralong-stream");
        model.put("demo_model", config.demoModel());
        if (config.demoModel()) {
            model.put("warning", DEMO_WARNING);
        }
        return Map.of("object", "list", "data", List.of(model));
    }
}
