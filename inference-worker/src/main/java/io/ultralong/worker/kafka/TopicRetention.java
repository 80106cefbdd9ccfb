package io.ultralong.worker.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.ultralong.protocol.topics.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Checks at start how long Kafka keeps the topics a worker depends on, because a worker rebuilds a partition's
 * sessions from {@code ul.tokens} (a new owner with an empty store, a lost disk) and evaluates watches from
 * {@code ul.watches}. The rule:
 * <ul>
 * <li>{@code ul.tokens} compacted: refused. Compaction keeps one chunk per session key, so every session would be
 * rebuilt from its last chunk only.</li>
 * <li>{@code ul.tokens} with a finite {@code retention.ms} or {@code retention.bytes}: a warning. Sessions older than
 * that cannot be rebuilt whole; a worker that meets the hole marks them {@code context-incomplete} (see
 * {@link TokenFeed}).</li>
 * <li>{@code ul.watches} not compacted: a warning (watches older than its retention are forgotten).</li>
 * <li>{@code ul.records}: reported only. After a DELETE, a session's raw text stays there (and, as tokens, in
 * {@code ul.tokens}) until retention removes it: forever with the platform's defaults.</li>
 * </ul>
 * A topic that does not exist yet, or whose configuration this worker may not read, is not checked (logged).
 */
public final class TopicRetention {

    /** A topic configuration that makes a worker give wrong answers. */
    public static final class UnsafeRetentionException extends IllegalStateException {
        UnsafeRetentionException(String message) {
            super(message);
        }
    }

    private TopicRetention() {
    }

    /**
     * @return warnings about the configuration, one sentence each (empty when all is as the platform creates it)
     * @throws UnsafeRetentionException when {@code ul.tokens} is compacted
     */
    public static List<String> check(Admin admin, Topics topics) {
        Map<String, Config> configs = describe(admin, List.of(topics.tokens(), topics.watches(), topics.records()));
        List<String> warnings = new ArrayList<>();
        Config tokens = configs.get(topics.tokens());
        if (tokens != null) {
            if (policy(tokens).contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
                throw new UnsafeRetentionException(topics.tokens() + " has cleanup.policy=" + policy(tokens)
                        + ": compaction keeps only the last chunk of each session, so workers would rebuild sessions with "
                        + "holes. Set cleanup.policy=delete (and retention.ms=-1 to rebuild any session).");
            }
            String kept = retention(tokens);
            if (kept != null) {
                warnings.add(topics.tokens() + " deletes chunks after " + kept + ": a worker that rebuilds a partition "
                        + "(new owner, empty or lost store) cannot rebuild sessions older than that; their queries answer "
                        + "context-incomplete. Set retention.ms=-1 and retention.bytes=-1 to rebuild any session.");
            }
        }
        Config watches = configs.get(topics.watches());
        if (watches != null && !policy(watches).contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
            warnings.add(topics.watches() + " has cleanup.policy=" + policy(watches) + ": watches are forgotten once "
                    + "retention deletes them. Set cleanup.policy=compact.");
        }
        return warnings;
    }

    /**
     * How long a DELETEd session's raw text stays in {@code ul.records}, for the log ("forever" with infinite retention),
     * or null when the topic is absent or unreadable.
     */
    public static String recordsRetention(Admin admin, Topics topics) {
        Config records = describe(admin, List.of(topics.records())).get(topics.records());
        if (records == null) {
            return null;
        }
        String kept = retention(records);
        return kept == null ? "forever (retention.ms=-1, retention.bytes=-1)" : kept;
    }

    private static String policy(Config config) {
        var entry = config.get(TopicConfig.CLEANUP_POLICY_CONFIG);
        return entry == null || entry.value() == null ? TopicConfig.CLEANUP_POLICY_DELETE : entry.value();
    }

    /** "N days (retention.ms=...)" and/or the size bound, or null when both are infinite. */
    private static String retention(Config config) {
        long ms = longValue(config, TopicConfig.RETENTION_MS_CONFIG);
        long bytes = longValue(config, TopicConfig.RETENTION_BYTES_CONFIG);
        List<String> bounds = new ArrayList<>();
        if (ms >= 0) {
            bounds.add(Duration.ofMillis(ms) + " (retention.ms=" + ms + ")");
        }
        if (bytes >= 0) {
            bounds.add(bytes + " bytes per partition (retention.bytes)");
        }
        return bounds.isEmpty() ? null : String.join(" or ", bounds);
    }

    private static long longValue(Config config, String name) {
        var entry = config.get(name);
        return entry == null || entry.value() == null ? -1 : Long.parseLong(entry.value());
    }

    private static Map<String, Config> describe(Admin admin, Collection<String> names) {
        Map<String, Config> out = new java.util.HashMap<>();
        for (String name : names) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, name);
            try {
                out.put(name, admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource));
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    org.slf4j.LoggerFactory.getLogger(TopicRetention.class)
                            .warn("Retention of {} not checked: {}", name, e.getCause().getMessage());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted reading the configuration of " + name, e);
            } catch (TimeoutException e) {
                org.slf4j.LoggerFactory.getLogger(TopicRetention.class).warn("Retention of {} not checked: timed out", name);
            }
        }
        return out;
    }
}
