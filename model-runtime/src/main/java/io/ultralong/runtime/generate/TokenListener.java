package io.ultralong.runtime.generate;

/**
 * Streaming callback: text is the newly decodable text (never a broken UTF-8 character; may be ""), called once
 * per sampled token; return false to cancel (finishReason "cancelled").
 * (Contract type owned by the generation helper.)
 */
@FunctionalInterface
public interface TokenListener {
    TokenListener NONE = (id, t) -> true;

    boolean onToken(int tokenId, String text);
}
