package io.ultralong.gateway.api;

import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.NotSupportedException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vertx.core.http.HttpServerRequest;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Maps every failure, ours and the framework's, to the JSON error shape of the REST contract. */
public class ErrorMappers {

    private static final Logger LOG = Logger.getLogger(ErrorMappers.class);

    @ServerExceptionMapper
    public Response api(ApiException e, HttpServerRequest request) {
        return json(request, e.status(), e.code(), e.getMessage());
    }

    @ServerExceptionMapper
    public Response badJson(JsonProcessingException e, HttpServerRequest request) {
        return json(request, 400, "invalid-json", "The body is not valid JSON: " + e.getOriginalMessage());
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e, HttpServerRequest request) {
        int status = e.getResponse().getStatus();
        String code;
        if (e instanceof NotFoundException) {
            code = "not-found";
        } else if (e instanceof NotAllowedException) {
            code = "method-not-allowed";
        } else if (e instanceof NotSupportedException) {
            code = "unsupported-media-type";
        } else {
            code = status == 413 ? "too-large" : "http-" + status;
        }
        return json(request, status, code, e.getMessage());
    }

    @ServerExceptionMapper
    public Response unexpected(RuntimeException e, HttpServerRequest request) {
        LOG.error("Unexpected failure", e);
        return json(request, 500, "internal", "Internal error: " + e.getClass().getSimpleName());
    }

    /**
     * The OpenAI-compatible endpoint answers OpenAI's error shape, which OpenAI clients parse: {@code
     * {"error": {"message", "type", "param", "code"}}}. It holds our {@code code} and {@code message}
     * too, so a client of the REST contract reads it the same way.
     */
    private static Response json(HttpServerRequest request, int status, String code, String message) {
        if (request != null && request.path() != null && request.path().startsWith(ChatCompletionResource.PATH)) {
            return Response.status(status).type(MediaType.APPLICATION_JSON_TYPE)
                    .entity(OpenAiError.of(status, code, message)).build();
        }
        return json(status, code, message);
    }

    static Response json(int status, String code, String message) {
        return Response.status(status).type(MediaType.APPLICATION_JSON_TYPE).entity(ErrorBody.of(code, message)).build();
    }
}
