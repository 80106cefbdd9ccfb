package io.ultralong.runtime.engine;

/** Prefill progress: called after each chunk. */
@FunctionalInterface
public interface PrefillListener {
    PrefillListener NONE = (done, total) -> { };

    void onProgress(long tokensDone, long tokensTotal);
}
