package io.ultralong.protocol.watch;

/**
 * How far a watch's evaluations got: the value on {@code ul.watch-progress}, keyed like the watch
 * ({@link WatchKeys#key}). The owner of the session's partition writes it in the transaction that announces the
 * evaluation's answer (or, when {@code notifyWhen} lets none through, alone), so it never says more or less than what
 * was announced; the next owner of the partition counts new tokens from it.
 *
 * @param watchId       the watch
 * @param session       the full session key
 * @param coveredTokens the session's context tokens the last evaluation saw
 * @param coveredSeq    the ul.records offset of the last record it saw
 * @param evaluatedAt   epoch milliseconds
 */
public record WatchProgress(String watchId, String session, long coveredTokens, long coveredSeq, long evaluatedAt) {
}
