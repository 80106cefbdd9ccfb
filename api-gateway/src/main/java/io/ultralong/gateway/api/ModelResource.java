package io.ultralong.gateway.api;

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

    @GET
    public Map<String, Object> list() {
        return Map.of("object", "list", "data", List.of(Map.of(
                "id", config.modelId(), "object", "model", "created", CREATED, "owned_by", "ultralong-stream")));
    }
}
