package io.ultralong.gateway.api;

/**
 * OpenAI's error shape, {@code {"error": {"message", "type", "param", "code"}}}, answered by the
 * chat completions endpoint so that OpenAI clients raise their typed errors (NotFoundError, ...).
 * {@code code} is ours ({@code session-not-found}, ...), so the body also reads as the REST contract's.
 */
public record OpenAiError(Detail error) {

    public record Detail(String message, String type, String param, String code) {
    }

    static OpenAiError of(int status, String code, String message) {
        String type = switch (status) {
            case 401, 403 -> "authentication_error";
            case 404 -> "not_found_error";
            case 429 -> "rate_limit_error";
            default -> status >= 500 ? "server_error" : "invalid_request_error";
        };
        return new OpenAiError(new Detail(message, type, null, code));
    }
}
