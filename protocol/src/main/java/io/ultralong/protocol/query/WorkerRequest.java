package io.ultralong.protocol.query;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * A value on {@code ul.requests}, keyed by the session key so it reaches the worker that owns the
 * session. Every request is answered on {@code ul.responses} under its {@link #requestId()}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = QueryRequest.class, name = "query"),
        @JsonSubTypes.Type(value = WorkerRequest.Cancel.class, name = "cancel"),
        @JsonSubTypes.Type(value = WorkerRequest.SessionInfo.class, name = "session-info"),
        @JsonSubTypes.Type(value = WorkerRequest.ListSessions.class, name = "list-sessions"),
        @JsonSubTypes.Type(value = WorkerRequest.WorkerStatus.class, name = "worker-status")})
public sealed interface WorkerRequest permits QueryRequest, WorkerRequest.Cancel, WorkerRequest.SessionInfo,
        WorkerRequest.ListSessions, WorkerRequest.WorkerStatus {

    String requestId();

    String session();

    /** Stop work on {@code cancelledRequestId} (its client went away); answered by nothing. */
    record Cancel(String requestId, String session, String cancelledRequestId) implements WorkerRequest {
    }

    /** Live statistics of a session, answered by a {@link ResponseEvent.SessionInfo}. */
    record SessionInfo(String requestId, String session, long deadlineEpochMs) implements WorkerRequest {
    }

    /**
     * The sessions of one partition whose key starts with {@code session} (the tenant's prefix, e.g.
     * {@code acme/}) and contains {@code contains}; sent to an explicit partition, answered by a
     * {@link ResponseEvent.SessionList} from that partition's owner.
     */
    record ListSessions(String requestId, String session, String contains, long deadlineEpochMs) implements WorkerRequest {
    }

    /** What the owner of the partition it is sent to is and does, answered by a {@link ResponseEvent.WorkerStatus}. */
    record WorkerStatus(String requestId, String session, long deadlineEpochMs) implements WorkerRequest {
    }
}
