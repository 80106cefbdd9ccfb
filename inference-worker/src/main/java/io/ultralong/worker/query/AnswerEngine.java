package io.ultralong.worker.query;

import java.util.Collection;
import java.util.function.Consumer;

import io.ultralong.protocol.query.ResponseEvent;

/**
 * Answers one query over its session's context with the model: restores or prefills the session's
 * KV cache, appends the question on a fork, generates. Runs on the scheduler's one model thread.
 */
public interface AnswerEngine {

    /**
     * Emits {@code progress} and {@code token} events, then returns the terminal {@code done} or
     * {@code error} event (not emitted). Checks {@link QueryJob#cancelled()} between steps and
     * returns null once it is set.
     */
    ResponseEvent answer(QueryJob job, Consumer<ResponseEvent> events);

    /** How many of the session's tokens its in-memory KV cache holds now. Called from any thread. */
    default long cachedTokens(String session) {
        return 0;
    }

    /**
     * The session is about to be deleted from the store: stop writing anything of it, and return only once nothing
     * of it is being written. Called from any thread, before {@link #sessionDeleted}.
     */
    default void sessionDeleting(String session) {
    }

    /** The session was deleted: forget whatever is cached of it. Called from any thread. */
    default void sessionDeleted(String session) {
    }

    /**
     * This worker gave up these partitions: their sessions' caches only hold memory another owner
     * needs now (their persisted KV stays in the store). Called from any thread.
     */
    default void partitionsReleased(Collection<Integer> partitions) {
    }
}
