package io.ultralong.store;

/** Outcome of applying one token chunk: applied, a duplicate re-apply (nothing changed), or a gap. */
public record AppendResult(Status status, long expectedSeq) {

    public enum Status { APPLIED, DUPLICATE, GAP }

    static AppendResult applied(long nextSeq) {
        return new AppendResult(Status.APPLIED, nextSeq);
    }

    static AppendResult duplicate(long nextSeq) {
        return new AppendResult(Status.DUPLICATE, nextSeq);
    }

    static AppendResult gap(long expectedSeq) {
        return new AppendResult(Status.GAP, expectedSeq);
    }
}
