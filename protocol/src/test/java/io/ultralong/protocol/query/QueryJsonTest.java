package io.ultralong.protocol.query;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class QueryJsonTest {

    @Test
    void requestRoundTrips() {
        QueryRequest request = new QueryRequest("r-1", "acme/s1", null,
                List.of(new ChatMessage("user", "Was ist passiert? ✓")),
                new SamplingParams(32, 0.7, 0.9, 40, 7L), 41, 40L, 1_700_000_000_000L, true);
        assertThat(QueryJson.decodeRequest(QueryJson.encode(request))).isEqualTo(request);
        WorkerRequest cancel = new WorkerRequest.Cancel("r-2", "acme/s1", "r-1");
        assertThat(new String(QueryJson.encode(cancel), UTF_8)).contains("\"type\":\"cancel\"");
        assertThat(QueryJson.decodeRequest(QueryJson.encode(cancel))).isEqualTo(cancel);
    }

    @Test
    void eventsCarryTheirTypeOnTheWire() {
        ResponseEvent done = new ResponseEvent.Done("r-1", "42", "stop",
                new ResponseEvent.Usage(1000, 900, 110, 3), new ResponseEvent.Timings(1, 2, 3, 4), "tiny", true);
        String json = new String(QueryJson.encode(done), UTF_8);
        assertThat(json).contains("\"type\":\"done\"");
        assertThat(QueryJson.decodeEvent(json.getBytes(UTF_8))).isEqualTo(done);
        assertThat(QueryJson.decodeEvent("{\"type\":\"token\",\"requestId\":\"r\",\"index\":3,\"text\":\"é\",\"extra\":1}".getBytes(UTF_8)))
                .isEqualTo(new ResponseEvent.Token("r", 3, "é"));
    }

    @Test
    void warningsAndSessionMetadataTravelAndOlderEventsStillRead() throws Exception {
        ResponseEvent.Done warned = new ResponseEvent.Done("r-1", "42", "stop", new ResponseEvent.Usage(1, 0, 1, 1),
                new ResponseEvent.Timings(0, 0, 0, 0), "tiny", false, List.of("Record seq 7 was dead-lettered"));
        assertThat(QueryJson.decodeEvent(QueryJson.encode(warned))).isEqualTo(warned);
        // An event from a worker that predates warnings reads with none.
        assertThat(((ResponseEvent.Done) QueryJson.decodeEvent(("{\"type\":\"done\",\"requestId\":\"r\",\"answer\":\"a\","
                + "\"finishReason\":\"stop\"}").getBytes(UTF_8))).warnings()).isEmpty();
        var metadata = new com.fasterxml.jackson.databind.ObjectMapper().readTree("{\"team\":\"sre\",\"n\":[1,2]}");
        ResponseEvent.SessionInfo info = new ResponseEvent.SessionInfo("r-2", true, 0, 0, 5, 5, 0, 1, 10, 10, metadata);
        assertThat(QueryJson.decodeEvent(QueryJson.encode(info))).isEqualTo(info);
    }

    @Test
    void invalidRequestsAreRejectedWithTheReason() {
        assertThatThrownBy(() -> new QueryRequest("r", "s", "q", List.of(new ChatMessage("user", "x")),
                SamplingParams.GREEDY, -1, null, 0, false)).hasMessageContaining("exactly one of question and messages");
        assertThatThrownBy(() -> new SamplingParams(0, 0, 1, 0, null)).hasMessageContaining("maxTokens");
        assertThatThrownBy(() -> QueryJson.decodeRequest("{\"type\":\"query\",\"requestId\":\"r\"}".getBytes(UTF_8)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("WorkerRequest");
    }

    @Test
    void errorCodesMapToHttpStatuses() {
        assertThat(ErrorCode.fromWireName("deadline-exceeded").httpStatus()).isEqualTo(504);
        assertThat(ErrorCode.fromWireName("no-such-code")).isEqualTo(ErrorCode.INTERNAL);
    }
}
