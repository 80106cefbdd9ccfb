package io.ultralong.gateway.api;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.gateway.kafka.AnswerRouter;
import io.ultralong.gateway.security.Caller;
import io.ultralong.gateway.security.TenantAdmission;
import io.ultralong.protocol.watch.WatchAnswer;
import io.ultralong.protocol.watch.WatchDefinition;
import io.vertx.core.buffer.Buffer;
import org.jboss.resteasy.reactive.RestMulti;

/**
 * {@code GET /v1/sessions/{id}/watches/{wid}/events}: a watch's answers as Server-Sent Events, from now until the
 * client disconnects. Its own resource because the stream sets its own content type, which a class-level
 * {@code @Produces} (the watches' JSON) would override.
 */
@Path("/v1/sessions/{id}/watches/{wid}/events")
public class WatchEventsResource {

    @Inject
    Caller caller;

    @Inject
    WatchResource watches;

    @Inject
    AnswerRouter answers;

    @Inject
    TenantAdmission admission;

    @Inject
    ObjectMapper json;

    /** Runs on the event loop and holds no thread while open: answers are written as they arrive. */
    @GET
    public RestMulti<Buffer> events(@PathParam("id") String sessionId, @PathParam("wid") String watchId) {
        WatchDefinition watch = watches.find(sessionId, watchId);
        return SseStream.of(answers.follow(watch.session(), watch.watchId()), this::frame, List.of(),
                admission.admitStream(caller.tenant()));
    }

    private List<SseStream.Frame> frame(WatchAnswer answer) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("watchId", answer.watchId());
        data.put("coveredSeq", answer.coveredSeq());
        data.put("answer", answer.answer());
        data.put("usage", answer.usage());
        data.put("timings", answer.timings());
        data.put("evaluatedAt", answer.evaluatedAt());
        try {
            return List.of(new SseStream.Frame("answer", json.writeValueAsString(data)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
