package io.ultralong.protocol.watch;

import io.ultralong.protocol.query.ResponseEvent;

/**
 * One evaluation of a watch that is to be announced (every answer, or only those {@code notifyWhen}
 * finds a match in): the value on {@code ul.answers}, keyed by the session key.
 *
 * @param watchId     the watch
 * @param session     the full session key
 * @param coveredSeq  the answer saw the session's context up to this ul.records offset
 * @param answer      the model's answer
 * @param usage       token accounting of the evaluation (cached vs prefilled)
 * @param timings     where the time went
 * @param evaluatedAt epoch milliseconds
 */
public record WatchAnswer(
        String watchId,
        String session,
        long coveredSeq,
        String answer,
        ResponseEvent.Usage usage,
        ResponseEvent.Timings timings,
        long evaluatedAt) {
}
