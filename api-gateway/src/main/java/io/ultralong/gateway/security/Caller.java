package io.ultralong.gateway.security;

import jakarta.enterprise.context.RequestScoped;

import io.ultralong.gateway.api.ApiException;

/** The tenant of the current request, set by {@link ApiKeyFilter}; scopes every session id. */
@RequestScoped
public class Caller {

    private static final int MAX_SESSION_ID_LENGTH = 128;

    private String tenant;

    void authenticate(String tenant) {
        this.tenant = tenant;
    }

    public String tenant() {
        if (tenant == null) {
            throw new IllegalStateException("No tenant: the API key filter did not run");
        }
        return tenant;
    }

    /**
     * The Kafka key of a session: {@code <tenant>/<session>}. Session ids are checked so that no
     * caller can name another tenant's session.
     */
    public String sessionKey(String sessionId) {
        if (sessionId == null || sessionId.isEmpty() || sessionId.length() > MAX_SESSION_ID_LENGTH
                || !sessionId.chars().allMatch(Caller::allowedInSessionId)) {
            throw ApiException.badRequest("A session id is 1-" + MAX_SESSION_ID_LENGTH
                    + " characters of letters, digits, '-', '_', '.' and ':'; got '" + sessionId + "'");
        }
        return tenant() + "/" + sessionId;
    }

    private static boolean allowedInSessionId(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '_' || c == '.' || c == ':';
    }
}
