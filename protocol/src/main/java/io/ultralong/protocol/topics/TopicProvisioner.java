package io.ultralong.protocol.topics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates the platform's topics that do not exist yet, and never alters existing ones (an operator's partition
 * count or retention wins; {@link CoPartitioning} then says whether they fit together).
 *
 * @param partitions        partitions of new topics (all get the same count, so new ones are co-partitioned)
 * @param replicationFactor replication factor of new topics
 * @param topicConfigs      per-topic configuration of new topics, e.g. {@code max.message.bytes} for the DLQ
 */
public record TopicProvisioner(int partitions, short replicationFactor, Map<String, Map<String, String>> topicConfigs) {

    public TopicProvisioner {
        if (partitions < 1 || replicationFactor < 1) {
            throw new IllegalArgumentException("partitions and replication factor must be positive");
        }
        topicConfigs = Map.copyOf(topicConfigs);
    }

    public TopicProvisioner(int partitions, short replicationFactor) {
        this(partitions, replicationFactor, Map.of());
    }

    /**
     * Creates those of {@code names} that are absent.
     *
     * @return the names this call created
     */
    public List<String> createMissing(Admin admin, List<String> names) {
        try {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (String name : names) {
                if (!existing.contains(name)) {
                    missing.add(new NewTopic(name, partitions, replicationFactor)
                            .configs(topicConfigs.getOrDefault(name, Map.of())));
                }
            }
            if (missing.isEmpty()) {
                return List.of();
            }
            List<String> created = new ArrayList<>();
            var results = admin.createTopics(missing).values();
            for (var entry : results.entrySet()) {
                try {
                    entry.getValue().get(30, TimeUnit.SECONDS);
                    created.add(entry.getKey());
                } catch (ExecutionException e) {
                    // Another service instance created it between our listing and our request: fine.
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("Cannot create topic " + entry.getKey() + ": "
                                + e.getCause().getMessage(), e.getCause());
                    }
                }
            }
            return List.copyOf(created);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Cannot list topics: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topics " + names, e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Timed out creating topics " + names, e);
        }
    }
}
