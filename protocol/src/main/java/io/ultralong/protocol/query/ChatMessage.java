package io.ultralong.protocol.query;

/** One message of an OpenAI-style conversation: role {@code system}, {@code user} or {@code assistant}. */
public record ChatMessage(String role, String content) {
}
