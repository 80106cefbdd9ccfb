package io.ultralong.gateway.api;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import io.ultralong.gateway.GatewayConfig;
import io.ultralong.gateway.console.RecordTail;
import io.ultralong.gateway.console.SessionCatalog;
import io.ultralong.gateway.kafka.RecordAppender;
import io.ultralong.gateway.kafka.SessionLookup;
import io.ultralong.gateway.security.Caller;
import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.ResponseEvent;

/** Sessions and their records: create, read live statistics, append, delete. */
@Path("/v1/sessions")
@Produces(MediaType.APPLICATION_JSON)
public class SessionResource {

    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    static final int MAX_IDEMPOTENCY_KEY = 128;

    @Inject
    Caller caller;

    @Inject
    RecordAppender appender;

    @Inject
    SessionLookup sessions;

    @Inject
    GatewayConfig config;

    @Inject
    SessionCatalog catalog;

    @Inject
    RecordTail recordTail;

    /**
     * Stores the session and its metadata durably: a creation record on {@code ul.records} that ingest
     * turns into a marker chunk for the owning worker. Creating a session that exists keeps its records
     * and replaces its metadata.
     */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Blocking
    public Response create(JsonNode body) {
        if (body != null && !body.isNull() && !body.isObject()) {
            throw ApiException.badRequest("The body must be a JSON object {\"id\"?, \"metadata\"?}.");
        }
        String requested = body == null ? null : BodyFields.text(body, "id");
        String id = requested == null ? UUID.randomUUID().toString() : requested;
        String key = caller.sessionKey(id);   // validates the id
        JsonNode metadata = body == null ? null : body.get("metadata");
        if (metadata != null && !metadata.isNull() && !metadata.isObject()) {
            throw ApiException.badRequest("\"metadata\" must be a JSON object; got " + metadata.getNodeType() + ".");
        }
        byte[] value = (metadata == null || metadata.isNull() ? "{}" : metadata.toString()).getBytes(StandardCharsets.UTF_8);
        if (value.length > config.limits().maxRecordBytes()) {
            throw ApiException.tooLarge("\"metadata\" is " + value.length + " bytes; the limit is "
                    + config.limits().maxRecordBytes() + " bytes.");
        }
        RecordAppender.Appended created = Answers.await(appender.create(key, value), config.query().timeout());
        return Response.status(201).entity(Map.of("id", id, "seq", created.lastSeq())).build();
    }

    /** {@code GET /v1/sessions?offset=&limit=&q=}: the tenant's sessions by id, {@code q} a substring of the id. */
    @GET
    @Blocking
    public SessionCatalog.Page list(@QueryParam("offset") @DefaultValue("0") int offset,
                                    @QueryParam("limit") @DefaultValue("50") int limit, @QueryParam("q") String contains) {
        if (offset < 0 || limit < 1 || limit > 1000) {
            throw ApiException.badRequest("offset must be >= 0 and limit 1-1000.");
        }
        return catalog.page(caller.tenant(), contains, offset, limit);
    }

    /** {@code GET /v1/sessions/{id}/records?afterSeq=&limit=}: the session's latest records, read back from ul.records. */
    @GET
    @Path("/{id}/records")
    @Blocking
    public Map<String, Object> tail(@PathParam("id") String id, @QueryParam("afterSeq") @DefaultValue("-1") long afterSeq,
                                              @QueryParam("limit") @DefaultValue("20") int limit) {
        if (limit < 1 || limit > 500) {
            throw ApiException.badRequest("limit must be 1-500.");
        }
        return Map.of("data", recordTail.latest(caller.sessionKey(id), afterSeq, limit));
    }

    /** Runs on the event loop: the wait for the owning worker's answer holds no thread. */
    @GET
    @Path("/{id}")
    public Uni<Response> get(@PathParam("id") String id) {
        String key = caller.sessionKey(id);
        Duration timeout = Duration.ofSeconds(Math.min(30, config.query().timeout().toSeconds()));
        return sessions.infoLater(key, timeout).map(answer -> {
            if (answer instanceof ResponseEvent.SessionInfo info) {
                if (!info.exists()) {
                    throw sessionNotFound(id);
                }
                return Response.ok(new SessionView(id, info)).build();
            }
            throw Answers.failure(answer);
        });
    }

    static ApiException sessionNotFound(String id) {
        return new ApiException(404, ErrorCode.SESSION_NOT_FOUND.wireName(), "No session '" + id + "'.");
    }

    @DELETE
    @Path("/{id}")
    @Blocking
    public Response delete(@PathParam("id") String id) {
        String key = caller.sessionKey(id);
        RecordAppender.Appended tombstone = appender.delete(key).toCompletableFuture().join();
        return Response.accepted(Map.of("id", id, "seq", tombstone.lastSeq())).build();
    }

    /** The body is parsed as it arrives, record by record: a bad line ends the read with an error naming it. */
    @POST
    @Path("/{id}/records")
    @Consumes({MediaType.APPLICATION_JSON, "application/x-ndjson", "application/jsonl", MediaType.TEXT_PLAIN})
    @Blocking
    public Response append(@PathParam("id") String id, @HeaderParam(HttpHeaders.CONTENT_TYPE) String contentType,
                           @HeaderParam(IDEMPOTENCY_KEY) String idempotencyKey, InputStream body) {
        String key = caller.sessionKey(id);
        Optional<String> retryKey = idempotencyKey(idempotencyKey);
        var values = RecordBodies.parse(key, body, contentType, config.limits().maxRecordsPerRequest(),
                config.limits().maxRecordBytes());
        RecordAppender.Appended appended = Answers.await(appender.append(key, values, retryKey), config.query().timeout());
        return Response.accepted(Map.of("firstSeq", appended.firstSeq(), "lastSeq", appended.lastSeq(),
                "count", appended.count())).build();
    }

    /**
     * An append's {@code Idempotency-Key}: record i of the body gets the record id {@code <key>#<i>}, and ingest
     * drops a record whose session already has its id, so sending the same body again with the same key (after a
     * 503 or a lost answer) adds nothing twice. Printable ASCII, at most {@value #MAX_IDEMPOTENCY_KEY} characters.
     */
    static Optional<String> idempotencyKey(String header) {
        if (header == null) {
            return Optional.empty();
        }
        if (header.isEmpty() || header.length() > MAX_IDEMPOTENCY_KEY || !header.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new ApiException(400, "invalid-idempotency-key", IDEMPOTENCY_KEY + " must be 1 to "
                    + MAX_IDEMPOTENCY_KEY + " printable ASCII characters without spaces");
        }
        return Optional.of(header);
    }

    /** {@code GET /v1/sessions/{id}}: the session as its worker sees it now. */
    public record SessionView(String id, long records, long tokens, long lastSeq, long appliedSeq, long cachedTokens,
                              int partition, long createdAt, long updatedAt, JsonNode metadata) {
        SessionView(String id, ResponseEvent.SessionInfo info) {
            this(id, info.records(), info.tokens(), info.lastSeq(), info.appliedSeq(), info.cachedTokens(),
                    info.partition(), info.createdAt(), info.updatedAt(),
                    info.metadata() == null ? JsonNodeFactory.instance.objectNode() : info.metadata());
        }
    }
}
