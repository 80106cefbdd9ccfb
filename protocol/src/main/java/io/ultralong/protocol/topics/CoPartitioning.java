package io.ultralong.protocol.topics;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * The co-partitioning rule of DESIGN.md: {@code records}, {@code tokens} and {@code requests} must have the same
 * partition count, because a session's records, its token log and its queries must all land on the partition (and
 * so the worker) that owns the session. Services call {@link #verify} at start and refuse to run otherwise.
 */
public final class CoPartitioning {

    private static final Duration METADATA_PROPAGATION = Duration.ofSeconds(5);
    private static final Duration RETRY_BACKOFF = Duration.ofMillis(200);

    private CoPartitioning() {
    }

    /** Thrown when the co-partitioned topics are missing or disagree; the message says what to fix. */
    public static final class CoPartitioningException extends IllegalStateException {
        public CoPartitioningException(String message) {
            super(message);
        }
    }

    /**
     * Describes the co-partitioned topics and checks them.
     *
     * @return the common partition count
     * @throws CoPartitioningException when one is absent or their partition counts differ
     */
    public static int verify(Admin admin, Topics topics) {
        List<String> names = topics.coPartitioned();
        Map<String, Integer> partitionCounts = new TreeMap<>();
        describe(admin, names).forEach((name, description) -> partitionCounts.put(name, description.partitions().size()));
        return requireEqual(partitionCounts);
    }

    /**
     * Checks the topics a service reads (a subset of the co-partitioned ones, e.g. a worker's tokens and requests) if
     * they all exist already. A service that waits for its topics to appear calls this at start and checks again
     * (with the partition counts its clients see) when they do.
     *
     * @return the common partition count, or empty when one of them does not exist yet
     * @throws CoPartitioningException when their partition counts differ
     */
    public static OptionalInt verifyIfPresent(Admin admin, List<String> names) {
        Set<String> existing;
        try {
            existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Cannot list topics: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while listing topics", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Timed out listing topics", e);
        }
        if (!existing.containsAll(names)) {
            return OptionalInt.empty();
        }
        Map<String, Integer> partitionCounts = new TreeMap<>();
        describe(admin, names).forEach((name, description) -> partitionCounts.put(name, description.partitions().size()));
        return OptionalInt.of(requireEqual(partitionCounts));
    }

    /**
     * Topics created a moment ago (by this service or another) may not be in every broker's metadata yet: retry an
     * unknown topic for a few seconds before calling it absent.
     */
    private static Map<String, TopicDescription> describe(Admin admin, List<String> names) {
        long deadline = System.nanoTime() + METADATA_PROPAGATION.toNanos();
        while (true) {
            try {
                return admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw new CoPartitioningException("Cannot describe topics " + names + ": " + e.getCause().getMessage()
                            + " Create them with equal partition counts, or let the service create them.");
                }
                pause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while describing " + names, e);
            } catch (TimeoutException e) {
                throw new IllegalStateException("Timed out describing topics " + names, e);
            }
        }
    }

    private static void pause() {
        try {
            Thread.sleep(RETRY_BACKOFF.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for topic metadata", e);
        }
    }

    /**
     * The check itself on known partition counts.
     *
     * @return the common partition count
     * @throws CoPartitioningException when the counts differ
     */
    public static int requireEqual(Map<String, Integer> partitionCounts) {
        if (partitionCounts.isEmpty()) {
            throw new IllegalArgumentException("no topics to check");
        }
        long distinct = partitionCounts.values().stream().distinct().count();
        if (distinct != 1) {
            throw new CoPartitioningException("Topics " + new TreeMap<>(partitionCounts).keySet()
                    + " must have the same number of partitions (a session's records, tokens and requests must"
                    + " share one partition), but have " + new TreeMap<>(partitionCounts)
                    + ". Recreate them with equal counts or repartition before starting.");
        }
        return partitionCounts.values().iterator().next();
    }
}
