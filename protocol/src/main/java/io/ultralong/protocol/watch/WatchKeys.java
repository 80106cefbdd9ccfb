package io.ultralong.protocol.watch;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.common.utils.Utils;

/**
 * Keys and partitions of {@code ul.watches}. A watch's key is {@code <session>\0<watchId>}, so that
 * compaction keeps every watch of a session, but it is written to the partition of its session
 * key (Kafka's default murmur2 partitioning of the session key): the worker owning a session's
 * partition of ul.tokens also owns its watches.
 */
public final class WatchKeys {

    private static final char SEPARATOR = '\0';

    private WatchKeys() {
    }

    public static String key(String session, String watchId) {
        return session + SEPARATOR + watchId;
    }

    public static String session(String key) {
        return key.substring(0, key.indexOf(SEPARATOR));
    }

    public static String watchId(String key) {
        return key.substring(key.indexOf(SEPARATOR) + 1);
    }

    /** The partition Kafka's default partitioner gives {@code session} as a key. */
    public static int partitionOf(String session, int partitions) {
        return Utils.toPositive(Utils.murmur2(session.getBytes(StandardCharsets.UTF_8))) % partitions;
    }
}
