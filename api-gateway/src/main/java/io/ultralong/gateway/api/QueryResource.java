package io.ultralong.gateway.api;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Multi;
import io.ultralong.gateway.GatewayConfig;
import io.ultralong.gateway.kafka.QueryRelay;
import io.ultralong.gateway.kafka.SeqTracker;
import io.ultralong.gateway.security.Caller;
import io.ultralong.gateway.security.TenantAdmission;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.ultralong.protocol.query.SamplingParams;
import io.vertx.core.buffer.Buffer;
import org.jboss.resteasy.reactive.RestMulti;

/** {@code POST /v1/sessions/{id}/query}: a question over the session's whole context, as JSON or SSE. */
@Path("/v1/sessions/{id}/query")
public class QueryResource {

    /** The highest temperature either API takes (OpenAI's range is [0, 2] too). */
    static final double MAX_TEMPERATURE = 2.0;

    @Inject
    Caller caller;

    @Inject
    QueryRelay relay;

    @Inject
    SeqTracker seqs;

    @Inject
    GatewayConfig config;

    @Inject
    ObjectMapper json;

    @Inject
    TenantAdmission admission;

    /** The query body of the REST contract. */
    public record QueryBody(String question, Integer maxTokens, Double temperature, Double topP, Integer topK,
                            Long seed, Long asOfSeq, Long minSeq, Boolean stream) {
    }

    /** The JSON answer of the REST contract; {@code warnings}, e.g. dead-lettered records the context lacks. */
    public record QueryAnswer(String answer, String finishReason, ResponseEvent.Usage usage,
                              ResponseEvent.Timings timings, String model, boolean demoModel, List<String> warnings) {
        static QueryAnswer of(ResponseEvent.Done done) {
            return new QueryAnswer(done.answer(), done.finishReason(), done.usage(), done.timings(), done.model(),
                    done.demoModel(), done.warnings());
        }
    }

    /**
     * Runs on the event loop and returns at once: the answer, streamed or whole, is written as the worker's events
     * arrive, so a query waiting on the model holds no thread.
     */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public RestMulti<Buffer> query(@PathParam("id") String id, @HeaderParam(HttpHeaders.ACCEPT) String accept,
                                   JsonNode json) {
        String key = caller.sessionKey(id);
        QueryBody body = queryBody(json);
        if (body.question() == null || body.question().isBlank()) {
            throw ApiException.badRequest("\"question\" is required.");
        }
        if (body.question().length() > config.limits().maxQuestionChars()) {
            throw ApiException.tooLarge("The question has " + body.question().length() + " characters; the limit is "
                    + config.limits().maxQuestionChars() + ".");
        }
        requireNotDeletedHere(key, id);
        boolean sse = Boolean.TRUE.equals(body.stream()) || (accept != null && accept.contains(MediaType.SERVER_SENT_EVENTS));
        QueryRequest request = new QueryRequest(QueryRelay.newRequestId(), key, body.question(), null,
                sampling(body.maxTokens(), body.temperature(), body.topP(), body.topK(), body.seed()),
                body.minSeq() != null ? body.minSeq() : seqs.lastAcknowledged(key), body.asOfSeq(),
                System.currentTimeMillis() + config.query().timeout().toMillis(), sse);
        // Nothing is sent to the worker before the response subscribes: a refused stream costs it nothing.
        Multi<ResponseEvent> events = relay.events(request, config.query().timeout());
        if (sse) {
            return SseStream.of(events, this::frames, List.of(), admission.admitStream(caller.tenant()));
        }
        return SseStream.json(events.collect().last().map(last -> {
            if (last instanceof ResponseEvent.Done done) {
                return new SseStream.JsonAnswer(200, bytes(QueryAnswer.of(done)));
            }
            ApiException failure = Answers.failure(last);
            return new SseStream.JsonAnswer(failure.status(), bytes(ErrorBody.of(failure.code(), failure.getMessage())));
        }));
    }

    private byte[] bytes(Object value) {
        try {
            return json.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Whether a session exists is the worker's to say (it answers {@code session-not-found}); only a delete
     * this gateway made a moment ago is answered here, as the worker may not have applied its tombstone yet.
     */
    void requireNotDeletedHere(String key, String id) {
        if (seqs.recentlyDeleted(key)) {
            throw SessionResource.sessionNotFound(id);
        }
    }

    /** The body's fields, each strictly typed and ranged (a wrong one answers 400 naming it). */
    private QueryBody queryBody(JsonNode json) {
        if (json == null || !json.isObject()) {
            throw ApiException.badRequest("The body must be a JSON object with a \"question\".");
        }
        return new QueryBody(BodyFields.text(json, "question"),
                BodyFields.toInt(BodyFields.integer(json, "maxTokens", 1, config.limits().maxTokens())),
                BodyFields.number(json, "temperature", 0, false, MAX_TEMPERATURE),
                BodyFields.number(json, "topP", 0, true, 1),
                BodyFields.toInt(BodyFields.integer(json, "topK", 0, Integer.MAX_VALUE)),
                BodyFields.integer(json, "seed", Long.MIN_VALUE, Long.MAX_VALUE),
                BodyFields.integer(json, "asOfSeq", 0, Long.MAX_VALUE),
                BodyFields.integer(json, "minSeq", -1, Long.MAX_VALUE),
                BodyFields.bool(json, "stream"));
    }

    /**
     * Sampling parameters within the configured limits. A request without a seed gets one here, so
     * that a request processed twice (its worker died) produces the same tokens both times.
     */
    SamplingParams sampling(Integer maxTokens, Double temperature, Double topP, Integer topK, Long seed) {
        int tokens = maxTokens != null ? maxTokens : Math.min(config.query().defaultMaxTokens(), config.limits().maxTokens());
        if (tokens < 1 || tokens > config.limits().maxTokens()) {
            throw ApiException.badRequest("\"maxTokens\" must be between 1 and " + config.limits().maxTokens() + "; got " + tokens + ".");
        }
        try {
            return new SamplingParams(tokens, temperature == null ? 0.0 : temperature, topP == null ? 1.0 : topP,
                    topK == null ? 0 : topK, seed != null ? seed : ThreadLocalRandom.current().nextLong());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
    }

    private List<SseStream.Frame> frames(ResponseEvent event) {
        Object data;
        String name;
        if (event instanceof ResponseEvent.Progress p) {
            name = "progress";
            data = Map.of("prefilled", p.prefilled(), "total", p.total());
        } else if (event instanceof ResponseEvent.Token t) {
            name = "token";
            data = Map.of("text", t.text());
        } else if (event instanceof ResponseEvent.Done d) {
            name = "done";
            data = QueryAnswer.of(d);
        } else if (event instanceof ResponseEvent.Error e) {
            name = "error";
            data = ErrorBody.of(e.code(), e.message());
        } else {
            return List.of();
        }
        try {
            return List.of(new SseStream.Frame(name, json.writeValueAsString(data)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
