package io.ultralong.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URL;
import java.util.List;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.ultralong.protocol.query.ChatMessage;
import io.ultralong.protocol.query.QueryRequest;
import io.ultralong.testkit.KafkaBrokerTestResource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java client against {@code /v1/chat/completions}, plain and streaming. */
@QuarkusTest
@WithTestResource(KafkaBrokerTestResource.class)
class OpenAiClientTest {

    static ScriptedResponder responder;

    @TestHTTPResource("/v1")
    URL baseUrl;

    @BeforeAll
    static void responder() {
        responder = ScriptedResponder.shared();
    }

    private OpenAIClient client(String session) {
        var builder = OpenAIOkHttpClient.builder().baseUrl(baseUrl.toString()).apiKey("test-key-acme").maxRetries(0);
        if (session != null) {
            builder.putHeader("X-Session-Id", session);
        }
        return builder.build();
    }

    private static ChatCompletionCreateParams params() {
        return ChatCompletionCreateParams.builder()
                .model("ultralong-8b")
                .addSystemMessage("Answer from the log.")
                .addUserMessage("What failed?")
                .maxCompletionTokens(16)
                .temperature(0.0)
                .build();
    }

    @Test
    void plainCompletionIsAnsweredOverTheSession() {
        ChatCompletion completion = client("oa-plain").chat().completions().create(params());
        assertThat(completion.choices()).hasSize(1);
        assertThat(completion.choices().get(0).message().content()).contains(ScriptedResponder.ANSWER);
        assertThat(completion.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(completion.usage().orElseThrow().promptTokens()).isEqualTo(130);
        assertThat(completion.usage().orElseThrow().completionTokens()).isEqualTo(2);

        QueryRequest sent = responder.lastQuery();
        assertThat(sent.session()).isEqualTo("acme/oa-plain");
        assertThat(sent.messages()).containsExactly(new ChatMessage("system", "Answer from the log."),
                new ChatMessage("user", "What failed?"));
        assertThat(sent.sampling().maxTokens()).isEqualTo(16);
    }

    @Test
    void streamingCompletionArrivesAsChunksInOrder() {
        try (StreamResponse<ChatCompletionChunk> stream = client("oa-stream").chat().completions().createStreaming(params())) {
            List<ChatCompletionChunk> chunks = stream.stream().toList();
            String text = chunks.stream().flatMap(c -> c.choices().stream())
                    .map(choice -> choice.delta().content().orElse("")).reduce("", String::concat);
            assertThat(text).isEqualTo(ScriptedResponder.ANSWER);
            assertThat(chunks.get(chunks.size() - 1).choices().get(0).finishReason())
                    .contains(ChatCompletionChunk.Choice.FinishReason.STOP);
        }
        assertThat(responder.lastQuery().stream()).isTrue();
    }

    @Test
    void aMissingSessionIsAClientError() {
        assertThatThrownBy(() -> client(null).chat().completions().create(params()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("X-Session-Id");
    }
}
