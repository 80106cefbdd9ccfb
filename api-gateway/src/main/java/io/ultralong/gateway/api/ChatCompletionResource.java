package io.ultralong.gateway.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
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
import io.ultralong.protocol.query.ChatMessage;
import io.ultralong.protocol.query.ErrorCode;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.protocol.query.ResponseEvent;
import io.vertx.core.buffer.Buffer;
import org.jboss.resteasy.reactive.RestMulti;

/**
 * {@code POST /v1/chat/completions}, OpenAI-compatible. The conversation is answered over the whole
 * context of the session named by the {@code X-Session-Id} header (or the {@code user} field).
 */
@Path(ChatCompletionResource.PATH)
public class ChatCompletionResource {

    static final String PATH = "/v1/chat/completions";

    static final String SESSION_HEADER = "X-Session-Id";

    @Inject
    Caller caller;

    @Inject
    QueryRelay relay;

    @Inject
    SeqTracker seqs;

    @Inject
    GatewayConfig config;

    @Inject
    QueryResource queries;

    @Inject
    ObjectMapper json;

    @Inject
    TenantAdmission admission;

    /** Runs on the event loop and returns at once, as a query does: no thread waits for the model. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public RestMulti<Buffer> complete(@HeaderParam(SESSION_HEADER) String sessionHeader, JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("The body must be an OpenAI chat completion request object.");
        }
        String sessionId = sessionHeader != null ? sessionHeader : text(body, "user");
        if (sessionId == null) {
            throw ApiException.badRequest("Name the session with the " + SESSION_HEADER + " header or the \"user\" field.");
        }
        String key = caller.sessionKey(sessionId);
        queries.requireNotDeletedHere(key, sessionId);
        List<ChatMessage> messages = messages(body.path("messages"));
        boolean stream = Boolean.TRUE.equals(BodyFields.bool(body, "stream"));
        int maxTokensLimit = config.limits().maxTokens();
        Long maxTokens = body.hasNonNull("max_completion_tokens")
                ? BodyFields.integer(body, "max_completion_tokens", 1, maxTokensLimit)
                : BodyFields.integer(body, "max_tokens", 1, maxTokensLimit);
        QueryRequest request = new QueryRequest(QueryRelay.newRequestId(), key, null, messages,
                queries.sampling(BodyFields.toInt(maxTokens),
                        BodyFields.number(body, "temperature", 0, false, QueryResource.MAX_TEMPERATURE),
                        BodyFields.number(body, "top_p", 0, true, 1),
                        BodyFields.toInt(BodyFields.integer(body, "top_k", 0, Integer.MAX_VALUE)),
                        BodyFields.integer(body, "seed", Long.MIN_VALUE, Long.MAX_VALUE)),
                seqs.lastAcknowledged(key), null, System.currentTimeMillis() + config.query().timeout().toMillis(), stream);
        String id = "chatcmpl-" + request.requestId();
        long created = System.currentTimeMillis() / 1000;
        Multi<ResponseEvent> events = relay.events(request, config.query().timeout());
        if (stream) {
            boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
            return SseStream.of(events, event -> chunks(id, created, event, includeUsage),
                    List.of(new SseStream.Frame(null, "[DONE]")), admission.admitStream(caller.tenant()));
        }
        return SseStream.json(events.collect().last().map(last -> {
            if (!(last instanceof ResponseEvent.Done done)) {
                ApiException failure = Answers.failure(last);
                return new SseStream.JsonAnswer(failure.status(),
                        bytes(OpenAiError.of(failure.status(), failure.code(), failure.getMessage())));
            }
            Map<String, Object> answer = new LinkedHashMap<>();
            answer.put("id", id);
            answer.put("object", "chat.completion");
            answer.put("created", created);
            answer.put("model", config.modelId());
            answer.put("choices", List.of(Map.of("index", 0,
                    "message", Map.of("role", "assistant", "content", done.answer()),
                    "finish_reason", done.finishReason())));
            answer.put("usage", usage(done.usage()));
            if (!done.warnings().isEmpty()) {
                answer.put("warnings", done.warnings());   // not OpenAI's; its clients ignore unknown fields
            }
            return new SseStream.JsonAnswer(200, bytes(answer));
        }));
    }

    private byte[] bytes(Object value) {
        try {
            return json.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private List<SseStream.Frame> chunks(String id, long created, ResponseEvent event, boolean includeUsage) {
        List<Object> payloads = new ArrayList<>();
        if (event instanceof ResponseEvent.Token token) {
            Map<String, Object> delta = token.index() == 0
                    ? Map.of("role", "assistant", "content", token.text()) : Map.of("content", token.text());
            payloads.add(chunk(id, created, delta, null));
        } else if (event instanceof ResponseEvent.Done done) {
            payloads.add(chunk(id, created, Map.of(), done.finishReason()));
            if (includeUsage) {
                Map<String, Object> usageChunk = chunk(id, created, null, null);
                usageChunk.put("choices", List.of());
                usageChunk.put("usage", usage(done.usage()));
                payloads.add(usageChunk);
            }
        } else if (event instanceof ResponseEvent.Error error) {
            payloads.add(OpenAiError.of(ErrorCode.fromWireName(error.code()).httpStatus(), error.code(), error.message()));
        }
        List<SseStream.Frame> frames = new ArrayList<>();
        for (Object payload : payloads) {
            try {
                frames.add(new SseStream.Frame(null, json.writeValueAsString(payload)));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
        return frames;
    }

    private Map<String, Object> chunk(String id, long created, Map<String, Object> delta, String finishReason) {
        Map<String, Object> chunk = new LinkedHashMap<>();
        chunk.put("id", id);
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", created);
        chunk.put("model", config.modelId());
        if (delta != null) {
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", 0);
            choice.put("delta", delta);
            choice.put("finish_reason", finishReason);
            chunk.put("choices", List.of(choice));
        }
        return chunk;
    }

    private static Map<String, Object> usage(ResponseEvent.Usage usage) {
        return Map.of("prompt_tokens", usage.contextTokens(),
                "completion_tokens", usage.completionTokens(),
                "total_tokens", usage.contextTokens() + usage.completionTokens(),
                "prompt_tokens_details", Map.of("cached_tokens", usage.cachedTokens()));
    }

    private List<ChatMessage> messages(JsonNode node) {
        if (!node.isArray() || node.isEmpty()) {
            throw ApiException.badRequest("\"messages\" must be a non-empty array.");
        }
        if (node.size() > config.limits().maxChatMessages()) {
            throw ApiException.badRequest("\"messages\" has " + node.size() + " messages; the limit is "
                    + config.limits().maxChatMessages() + ".");
        }
        List<ChatMessage> messages = new ArrayList<>();
        int chars = 0;
        for (JsonNode message : node) {
            String role = text(message, "role");
            if (role == null || !List.of("system", "user", "assistant", "developer").contains(role)) {
                throw ApiException.badRequest("Each message needs a role of system, developer, user or assistant.");
            }
            String content = content(message.path("content"));
            chars += content.length();
            messages.add(new ChatMessage("developer".equals(role) ? "system" : role, content));
        }
        if (chars > config.limits().maxQuestionChars()) {
            throw ApiException.tooLarge("The messages have " + chars + " characters; the limit is "
                    + config.limits().maxQuestionChars() + ".");
        }
        return messages;
    }

    /** Content is a string or an array of parts; only text parts are understood. */
    private static String content(JsonNode content) {
        if (content.isTextual()) {
            return content.asText();
        }
        if (content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!"text".equals(part.path("type").asText())) {
                    throw ApiException.badRequest("Only text content parts are supported.");
                }
                text.append(part.path("text").asText());
            }
            return text.toString();
        }
        throw ApiException.badRequest("A message's content must be a string or an array of text parts.");
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value != null && value.isTextual() ? value.asText() : null;
    }
}
