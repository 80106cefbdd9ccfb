package io.ultralong.gateway.api;

/** An error the client can act on: answered as {@code {"error": {"code", "message"}}} with {@link #status()}. */
public class ApiException extends RuntimeException {

    private final int status;
    private final String code;

    public ApiException(int status, String code, String message) {
        super(message);
        this.status = status;
        this.code = code;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, "invalid-request", message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "not-found", message);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(413, "too-large", message);
    }
}
