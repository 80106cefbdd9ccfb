package io.ultralong.gateway.api;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.common.annotation.Blocking;
import io.ultralong.gateway.GatewayConfig;
import io.ultralong.gateway.kafka.SessionLookup;
import io.ultralong.gateway.kafka.WatchRegistry;
import io.ultralong.gateway.security.Caller;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.watch.NotifyPattern;
import io.ultralong.protocol.watch.WatchDefinition;

/** Standing queries ("watches") on a session: questions re-answered as the session grows. */
@Path("/v1/sessions/{id}/watches")
@Produces(MediaType.APPLICATION_JSON)
public class WatchResource {

    @Inject
    Caller caller;

    @Inject
    WatchRegistry registry;

    @Inject
    SessionLookup sessions;

    @Inject
    QueryResource queries;

    @Inject
    GatewayConfig config;

    @Inject
    ObjectMapper json;


    /** When a watch is evaluated again: after {@code everyTokens} new tokens and/or at most once per interval. */
    public record Trigger(Long everyTokens, Long minIntervalSeconds) {
    }

    public record CreateWatch(String id, String question, Integer maxTokens, Double temperature, Double topP,
                              Integer topK, Long seed, Trigger trigger, String notifyWhen) {
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Blocking
    public Response create(@PathParam("id") String sessionId, JsonNode json) {
        String session = caller.sessionKey(sessionId);
        CreateWatch body = createWatch(json);
        if (body == null || body.question() == null || body.question().isBlank()) {
            throw ApiException.badRequest("\"question\" is required.");
        }
        if (body.question().length() > config.limits().maxQuestionChars()) {
            throw ApiException.tooLarge("The question has " + body.question().length() + " characters; the limit is "
                    + config.limits().maxQuestionChars() + ".");
        }
        ResponseEvent existing = sessions.info(session, Duration.ofSeconds(Math.min(30, config.query().timeout().toSeconds())));
        if (!(existing instanceof ResponseEvent.SessionInfo info)) {
            throw Answers.failure(existing);
        }
        if (!info.exists()) {
            throw SessionResource.sessionNotFound(sessionId);   // a watch on nothing would never answer
        }
        String watchId = body.id() != null ? body.id() : UUID.randomUUID().toString();
        caller.sessionKey(watchId);   // same rules as session ids
        // Replacing a watch adds none. Creates racing each other may pass the check together: the cap bounds a
        // tenant's watches, it is not an exact quota.
        if (registry.find(session, watchId).isEmpty()
                && registry.countOfTenant(caller.tenant()) >= config.limits().maxWatchesPerTenant()) {
            throw new ApiException(429, "too-many-watches", "This tenant has " + config.limits().maxWatchesPerTenant()
                    + " watches, its limit; delete one first.");
        }
        if (body.notifyWhen() != null) {
            try {
                NotifyPattern.compile(body.notifyWhen(), config.limits().maxNotifyWhenChars());
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest(e.getMessage());
            }
        }
        Trigger trigger = body.trigger() != null ? body.trigger() : new Trigger(null, null);
        long minEveryTokens = config.limits().minEveryTokens();
        long everyTokens = trigger.everyTokens() == null ? minEveryTokens : trigger.everyTokens();
        long intervalSeconds = trigger.minIntervalSeconds() == null ? 0 : trigger.minIntervalSeconds();
        if (everyTokens < minEveryTokens) {
            throw ApiException.badRequest("\"trigger.everyTokens\" must be at least " + minEveryTokens + "; got "
                    + everyTokens + ".");
        }
        if (intervalSeconds < 0) {
            throw ApiException.badRequest("Trigger values must be >= 0.");
        }
        WatchDefinition watch;
        try {
            watch = new WatchDefinition(watchId, session, body.question(),
                    queries.sampling(body.maxTokens(), body.temperature(), body.topP(), body.topK(), body.seed()),
                    everyTokens, intervalSeconds * 1000, body.notifyWhen(), System.currentTimeMillis());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
        Answers.await(registry.put(watch), config.query().timeout());
        return Response.status(201).entity(view(watch)).build();
    }

    /** The body's fields, strictly typed and ranged as a query's are. */
    private CreateWatch createWatch(JsonNode json) {
        if (json == null || !json.isObject()) {
            throw ApiException.badRequest("The body must be a JSON object with a \"question\".");
        }
        JsonNode trigger = json.get("trigger");
        if (trigger != null && !trigger.isNull() && !trigger.isObject()) {
            throw ApiException.badRequest("\"trigger\" must be an object {\"everyTokens\"?, \"minIntervalSeconds\"?}.");
        }
        return new CreateWatch(BodyFields.text(json, "id"), BodyFields.text(json, "question"),
                BodyFields.toInt(BodyFields.integer(json, "maxTokens", 1, config.limits().maxTokens())),
                BodyFields.number(json, "temperature", 0, false, QueryResource.MAX_TEMPERATURE),
                BodyFields.number(json, "topP", 0, true, 1),
                BodyFields.toInt(BodyFields.integer(json, "topK", 0, Integer.MAX_VALUE)),
                BodyFields.integer(json, "seed", Long.MIN_VALUE, Long.MAX_VALUE),
                trigger == null || trigger.isNull() ? null : new Trigger(
                        BodyFields.integer(trigger, "everyTokens", 0, Long.MAX_VALUE),
                        BodyFields.integer(trigger, "minIntervalSeconds", 0, Long.MAX_VALUE / 1000)),
                BodyFields.text(json, "notifyWhen"));
    }

    @GET
    public Map<String, Object> list(@PathParam("id") String sessionId) {
        String session = caller.sessionKey(sessionId);
        return Map.of("data", registry.list(session).stream().map(WatchResource::view).toList());
    }

    @GET
    @Path("/{wid}")
    public Map<String, Object> get(@PathParam("id") String sessionId, @PathParam("wid") String watchId) {
        return view(find(sessionId, watchId));
    }

    @DELETE
    @Path("/{wid}")
    @Blocking
    public Response delete(@PathParam("id") String sessionId, @PathParam("wid") String watchId) {
        WatchDefinition watch = find(sessionId, watchId);
        Answers.await(registry.delete(watch.session(), watch.watchId()), config.query().timeout());
        return Response.noContent().build();
    }

    /** The watch's answers as SSE {@code answer} events, from now until the client disconnects. */
    WatchDefinition find(String sessionId, String watchId) {
        return registry.find(caller.sessionKey(sessionId), watchId)
                .orElseThrow(() -> ApiException.notFound("No watch '" + watchId + "' on session '" + sessionId + "'."));
    }

    private static Map<String, Object> view(WatchDefinition watch) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", watch.watchId());
        view.put("question", watch.question());
        view.put("maxTokens", watch.sampling().maxTokens());
        view.put("temperature", watch.sampling().temperature());
        view.put("trigger", Map.of("everyTokens", watch.everyTokens(), "minIntervalSeconds", watch.minIntervalMs() / 1000));
        if (watch.notifyWhen() != null) {
            view.put("notifyWhen", watch.notifyWhen());
        }
        view.put("createdAt", watch.createdAt());
        return view;
    }
}
