package io.ultralong.protocol.topics;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The platform's topic names under one configurable prefix (default {@code ul.}): see DESIGN.md, "Topics".
 *
 * @param prefix prepended to every name, e.g. {@code ul.} or {@code staging.ul.}
 */
public record Topics(String prefix) {

    public static final String DEFAULT_PREFIX = "ul.";

    public Topics {
        Objects.requireNonNull(prefix, "prefix");
    }

    public static Topics withDefaultPrefix() {
        return new Topics(DEFAULT_PREFIX);
    }

    /** Input records, key = session key; a tombstone deletes the session. */
    public String records() {
        return prefix + "records";
    }

    /** Sequenced token chunks ({@code TokenChunkCodec}), key = session key. */
    public String tokens() {
        return prefix + "tokens";
    }

    /** Query requests, key = session key. */
    public String requests() {
        return prefix + "requests";
    }

    /** Response events, key = request id. */
    public String responses() {
        return prefix + "responses";
    }

    /** Rejected input records, with the reason in headers. */
    public String recordsDlq() {
        return prefix + "records.dlq";
    }

    /**
     * Token chunks a worker could not apply (unreadable, a seq gap, a wrong first position), copied whole with the
     * reason in headers ({@code ul.dlq.*}, as on the records DLQ), key = session key.
     */
    public String tokensDlq() {
        return prefix + "tokens.dlq";
    }

    /** Standing queries (watches), compacted, key = session key + NUL + watch id, in the session's partition. */
    public String watches() {
        return prefix + "watches";
    }

    /**
     * How far each watch's evaluations got, compacted, key = the watch's key, in its session's partition: written in
     * one transaction with the answer it belongs to, so the worker that takes a partition over neither announces an
     * answer again nor skips what arrived meanwhile.
     */
    public String watchProgress() {
        return prefix + "watch-progress";
    }

    /** Answers of standing queries (watches), key = session key. */
    public String answers() {
        return prefix + "answers";
    }

    /** The topics keyed by session whose partitions must line up: a session lives in one partition of each. */
    public List<String> coPartitioned() {
        return List.of(records(), tokens(), requests());
    }

    public List<String> all() {
        return List.of(records(), tokens(), requests(), responses(), recordsDlq(), tokensDlq(), watches(), watchProgress(),
                answers());
    }

    /**
     * Configuration for topics created by the platform: records and tokens are the sessions' source of truth
     * (kept forever), watches and their progress compacted tables, responses short-lived, answers kept a week.
     */
    public Map<String, Map<String, String>> defaultConfigs() {
        return Map.of(
                records(), Map.of("retention.ms", "-1"),
                tokens(), Map.of("retention.ms", "-1"),
                watches(), Map.of("cleanup.policy", "compact"),
                watchProgress(), Map.of("cleanup.policy", "compact"),
                responses(), Map.of("retention.ms", Long.toString(Duration.ofHours(1).toMillis())),
                tokensDlq(), Map.of("retention.ms", Long.toString(Duration.ofDays(7).toMillis())),
                answers(), Map.of("retention.ms", Long.toString(Duration.ofDays(7).toMillis())));
    }
}
