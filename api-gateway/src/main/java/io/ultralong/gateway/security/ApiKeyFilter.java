package io.ultralong.gateway.security;

import java.util.Optional;

import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

import io.ultralong.gateway.GatewayConfig;
import io.ultralong.gateway.api.ApiException;
import io.ultralong.gateway.api.ErrorBody;
import io.vertx.ext.web.RoutingContext;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Authenticates {@code /v1} calls by bearer API key, resolves the tenant and applies the per-key
 * rate limit and the tenant's cap on requests in progress. With authentication off every caller is the
 * anonymous tenant, limited as one key.
 */
public class ApiKeyFilter {

    private static final String BEARER = "Bearer ";

    @Inject
    GatewayConfig config;

    @Inject
    Caller caller;

    @Inject
    RateLimiter rateLimiter;

    @Inject
    ApiKeys apiKeys;

    @Inject
    TenantAdmission admission;

    @ServerRequestFilter
    public Optional<Response> authenticate(ContainerRequestContext request, RoutingContext exchange) {
        if (!request.getUriInfo().getPath().startsWith("/v1")) {
            return Optional.empty();
        }
        String key;
        String tenant;
        if (config.auth().enabled()) {
            String header = request.getHeaderString(HttpHeaders.AUTHORIZATION);
            if (header == null || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
                return Optional.of(error(401, "unauthenticated",
                        "Send an API key as 'Authorization: Bearer <key>'."));
            }
            key = header.substring(BEARER.length()).trim();
            tenant = apiKeys.tenantOf(key).orElse(null);
            if (tenant == null) {
                return Optional.of(error(401, "unauthenticated", "The API key is not valid."));
            }
        } else {
            key = "";
            tenant = config.auth().anonymousTenant();
        }
        long waitNanos = rateLimiter.tryAcquire(key);
        if (waitNanos > 0) {
            // Retry-After is whole seconds (RFC 9110), rounded up so a client that honours it is let through
            long seconds = Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
            return Optional.of(Response.fromResponse(error(429, "rate-limited",
                    "Too many requests for this API key; retry after " + seconds + " s."))
                    .header("Retry-After", Long.toString(seconds)).build());
        }
        TenantAdmission.Permit inFlight;
        try {
            inFlight = admission.admitRequest(tenant);
        } catch (ApiException e) {
            // Requests end within the query timeout, most far sooner: a second is a fair first wait.
            return Optional.of(Response.fromResponse(error(e.status(), e.code(), e.getMessage()))
                    .header("Retry-After", "1").build());
        }
        // Called when the response ends or the connection closes, whichever comes first: a stream holds its
        // permit until its client goes away.
        exchange.addEndHandler(ended -> inFlight.close());
        caller.authenticate(tenant);
        return Optional.empty();
    }

    private static Response error(int status, String code, String message) {
        return Response.status(status).type("application/json").entity(ErrorBody.of(code, message)).build();
    }
}
