package io.ultralong.gateway.security;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.StartupEvent;
import io.ultralong.gateway.GatewayConfig;
import io.ultralong.gateway.api.ErrorBody;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.HostAndPort;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * What the gateway exposes, and to whom, beyond the {@code /v1} API that {@link ApiKeyFilter} guards:
 * <ul>
 *   <li>it refuses to start with authentication off on anything but a loopback address;</li>
 *   <li>it answers only the Host names allowed (DNS rebinding: a web page of another origin that resolves its own
 *       name to 127.0.0.1 would otherwise reach a key-less gateway from the user's browser);</li>
 *   <li>{@code /q/metrics}, {@code /q/openapi} and the Swagger UI take the same API keys as the API unless a separate
 *       management interface serves them; {@code /q/health} stays open for probes.</li>
 * </ul>
 */
@ApplicationScoped
public class ExposureGuard {

    private static final Logger LOG = Logger.getLogger(ExposureGuard.class);
    private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "::1");
    private static final String BEARER = "Bearer ";

    private final GatewayConfig config;
    private final ApiKeys apiKeys;
    private final ObjectMapper json;
    private final String httpHost;
    private final boolean managementInterface;
    private final Optional<Set<String>> allowedHosts;

    public ExposureGuard(GatewayConfig config, ApiKeys apiKeys, ObjectMapper json,
            @ConfigProperty(name = "quarkus.http.host", defaultValue = "0.0.0.0") String httpHost,
            @ConfigProperty(name = "quarkus.management.enabled", defaultValue = "false") boolean managementInterface) {
        this.config = config;
        this.apiKeys = apiKeys;
        this.json = json;
        this.httpHost = httpHost;
        this.managementInterface = managementInterface;
        this.allowedHosts = allowedHosts(config.auth().enabled(), config.auth().allowedHosts());
    }

    void checkAtStartup(@Observes StartupEvent started) {
        String refusal = bindingRefusal(config.auth().enabled(), httpHost);
        if (refusal != null) {
            throw new IllegalStateException(refusal);
        }
        if (config.auth().enabled() && apiKeys.isEmpty()) {
            LOG.warn("Authentication is on and no API key is configured: every /v1 call answers 401. Add keys with "
                    + "ul.auth.api-key-hashes (scripts/api-key.sh makes one) or ul.auth.api-keys.\"<key>\"=<tenant>.");
        }
    }

    /** Runs before every route, Quarkus's own {@code /q} endpoints included. */
    void install(@Observes Router router) {
        router.route().order(-1_000).handler(this::guard);
    }

    /** Why the gateway must not start with these settings, or null when it may. */
    static String bindingRefusal(boolean authEnabled, String httpHost) {
        if (authEnabled || isLoopback(httpHost)) {
            return null;
        }
        return "Authentication is off (ul.auth.enabled=false) but the gateway would listen on " + httpHost
                + ", not a loopback address: anyone who reaches the port would read every session. Set "
                + "quarkus.http.host=127.0.0.1, or switch authentication on and configure API keys.";
    }

    private void guard(RoutingContext context) {
        if (allowedHosts.isPresent()) {
            // the Host header of HTTP/1.1 or the :authority of HTTP/2 (Java's HttpClient upgrades to h2c)
            HostAndPort authority = context.request().authority();
            String host = authority == null ? null : hostName(authority.host());
            if (host == null || !allowedHosts.get().contains(host)) {
                deny(context, 403, "host-not-allowed", "This gateway does not answer requests for host '" + host
                        + "' (ul.auth.allowed-hosts).");
                return;
            }
        }
        String path = context.normalizedPath();
        if (config.auth().enabled() && !managementInterface && path.startsWith("/q/") && !path.startsWith("/q/health")
                && !authenticated(context.request().getHeader(HttpHeaders.AUTHORIZATION))) {
            deny(context, 401, "unauthenticated", "Send an API key as 'Authorization: Bearer <key>'.");
            return;
        }
        context.next();
    }

    private boolean authenticated(String authorization) {
        return authorization != null && authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())
                && apiKeys.tenantOf(authorization.substring(BEARER.length()).trim()).isPresent();
    }

    private void deny(RoutingContext context, int status, String code, String message) {
        String body;
        try {
            body = json.writeValueAsString(ErrorBody.of(code, message));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        context.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body);
    }

    private static Optional<Set<String>> allowedHosts(boolean authEnabled, Optional<List<String>> configured) {
        if (configured.isPresent()) {
            return Optional.of(Set.copyOf(configured.get().stream().map(ExposureGuard::hostName).toList()));
        }
        return authEnabled ? Optional.empty() : Optional.of(LOOPBACK_NAMES);
    }

    /**
     * A host name without port or IPv6 brackets, lower case: {@code Example.com:8080} -> {@code example.com},
     * {@code [::1]:80} -> {@code ::1}; a bare IPv6 address (more than one colon) is kept whole.
     */
    static String hostName(String hostOrAuthority) {
        if (hostOrAuthority == null || hostOrAuthority.isBlank()) {
            return null;
        }
        String host = hostOrAuthority.trim().toLowerCase(Locale.ROOT);
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end < 0 ? host.substring(1) : host.substring(1, end);
        }
        int colon = host.indexOf(':');
        return colon < 0 || host.indexOf(':', colon + 1) >= 0 ? host : host.substring(0, colon);
    }

    private static boolean isLoopback(String host) {
        if (LOOPBACK_NAMES.contains(hostName(host))) {
            return true;
        }
        try {
            // literal addresses only: a name is not resolved here (it could resolve differently later)
            return host.matches("[0-9.]+|[0-9a-fA-F:\\[\\]]+") && InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
