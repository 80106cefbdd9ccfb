package io.ultralong.runtime.generate;

/**
 * Streaming callback, called once per sampled token (stop tokens included) in order.
 *
 * <p>{@code text} is the newly decodable text: possibly "" (a token that only starts a multi-byte
 * character, or a stop token), never a broken UTF-8 character. The pieces of one generation concatenate to
 * {@link GenerationResult#text()}. Return false to cancel: generation ends with finish reason
 * "cancelled" after this token.
 */
@FunctionalInterface
public interface TokenListener {

    boolean onToken(int tokenId, String text);

    TokenListener NONE = (id, text) -> true;
}
