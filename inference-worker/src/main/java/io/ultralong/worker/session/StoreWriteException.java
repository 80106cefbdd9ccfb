package io.ultralong.worker.session;

/**
 * The context store could not write a record (disk full, a file-size limit, an I/O error). Unlike a
 * {@link RejectedChunkException} the record is fine: nothing of it was written, and applying it again once the store
 * writes again gives the same result.
 */
public final class StoreWriteException extends RuntimeException {

    public StoreWriteException(String message, Throwable cause) {
        super(message, cause);
    }
}
