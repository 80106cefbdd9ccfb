package io.ultralong.gateway.api;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.ResponseEvent;
import org.apache.kafka.common.errors.RecordTooLargeException;

/** Turning worker answers and Kafka acknowledgements into HTTP outcomes. */
final class Answers {

    private Answers() {
    }

    /** The API error for a non-successful terminal event. */
    static ApiException failure(ResponseEvent event) {
        if (event instanceof ResponseEvent.Error error) {
            return new ApiException(ErrorCode.fromWireName(error.code()).httpStatus(), error.code(), error.message());
        }
        return new ApiException(500, "internal", "Unexpected answer from the worker: " + event);
    }

    /** Waits for a Kafka acknowledgement: 504 when it takes too long, 503 when Kafka refuses. */
    static <T> T await(CompletionStage<T> stage, Duration timeout) {
        try {
            return stage.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new ApiException(504, "deadline-exceeded", "Kafka did not acknowledge within " + timeout.toSeconds() + " s.");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RecordTooLargeException) {
                // The gateway's own limit let the record through, so Kafka's is lower (the producer's
                // max.request.size or the topic's max.message.bytes): the record is too large, retrying cannot help.
                throw ApiException.tooLarge("Kafka refused a record this large: " + e.getCause().getMessage()
                        + " The records topic's max.message.bytes must exceed ul.limits.max-record-bytes.");
            }
            throw new ApiException(503, "unavailable", "Kafka did not accept the records: " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "unavailable", "Interrupted while waiting for Kafka.");
        }
    }
}
