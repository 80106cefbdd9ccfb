package io.ultralong.protocol.query;

import java.util.List;

/**
 * A question over a session's whole context: the value on {@code ul.requests}, keyed by the session
 * key so that it reaches the worker owning the session's partition.
 *
 * <p>{@code minSeq} and {@code asOfSeq} are positions in {@code ul.records} (the offsets that appends
 * answer with): the worker first waits until it has applied the session up to {@code minSeq}, and with
 * {@code asOfSeq} answers over the context as it stood after that record. Exactly one of
 * {@code question} and {@code messages} is set.
 *
 * @param requestId       unique id; responses are keyed by it and duplicates are dropped by it
 * @param session         the full session key ({@code tenant/session})
 * @param question        a question appended to the context (the query API)
 * @param messages        a conversation appended to the context (the chat completions API)
 * @param sampling        decoding parameters
 * @param minSeq          wait until the session has applied this ul.records offset; -1 for none
 * @param asOfSeq         answer over the context up to this ul.records offset; null for all of it
 * @param deadlineEpochMs give up with a {@code deadline-exceeded} error after this instant
 * @param stream          whether to emit {@code token} events, not only {@code done}
 */
public record QueryRequest(
        String requestId,
        String session,
        String question,
        List<ChatMessage> messages,
        SamplingParams sampling,
        long minSeq,
        Long asOfSeq,
        long deadlineEpochMs,
        boolean stream) implements WorkerRequest {

    public QueryRequest {
        if (requestId == null || requestId.isBlank()) {
            throw new IllegalArgumentException("requestId is required");
        }
        if (session == null || session.isBlank()) {
            throw new IllegalArgumentException("session is required");
        }
        if ((question == null) == (messages == null || messages.isEmpty())) {
            throw new IllegalArgumentException("exactly one of question and messages is required");
        }
        if (sampling == null) {
            throw new IllegalArgumentException("sampling is required");
        }
        messages = messages == null ? null : List.copyOf(messages);
    }
}
