package io.ultralong.runtime.generate;

/**
 * The outcome of one generation.
 *
 * @param tokens every sampled token in order, including the stop token when finishReason is "stop"
 * @param text the completion: the concatenated streamed pieces (stop tokens and special tokens produce no
 *     text; an incomplete UTF-8 character at the very end is dropped)
 * @param finishReason {@link #STOP} (a stop token was sampled), {@link #LENGTH} (maxTokens reached) or
 *     {@link #CANCELLED} (the listener returned false)
 */
public record GenerationResult(int[] tokens, String text, String finishReason) {

    public static final String STOP = "stop";
    public static final String LENGTH = "length";
    public static final String CANCELLED = "cancelled";

    @Override
    public String toString() {
        return "GenerationResult[" + finishReason + ", " + tokens.length + " tokens " + java.util.Arrays.toString(tokens)
                + ", text=" + text + "]";
    }

    /** Generated tokens without a trailing stop token: what a client would count as the answer's tokens. */
    public int[] answerTokens() {
        return STOP.equals(finishReason) ? java.util.Arrays.copyOf(tokens, tokens.length - 1) : tokens.clone();
    }
}
