package io.ultralong.worker;

import java.nio.file.Path;
import java.time.Duration;

import io.ultralong.protocol.topics.Topics;

/**
 * What one worker needs to run: where Kafka and its data are, who it is, and its limits.
 *
 * @param bootstrapServers  Kafka
 * @param topicPrefix       prefix of every topic ({@code ul.})
 * @param groupId           the consumer group of all workers on {@code <prefix>tokens}
 * @param workerId          stable identity: the static group member id, so a restart within the
 *                          session timeout keeps this worker's partitions (and their sessions) in place
 * @param dataDir           the worker's context store (RocksDB) directory
 * @param sessionTimeout    how long the group waits for a restarting static member before moving its partitions
 * @param maxQueuedQueries  queries waiting beyond this are refused with {@code unavailable}
 */
public record WorkerSettings(
        String bootstrapServers,
        String topicPrefix,
        String groupId,
        String workerId,
        Path dataDir,
        Duration sessionTimeout,
        int maxQueuedQueries) {

    /** The platform's topic names under this worker's prefix. */
    public Topics topics() {
        return new Topics(topicPrefix);
    }

    /** Requests partitions follow tokens partitions, so their offsets live in a group of their own. */
    public String requestsGroupId() {
        return groupId + ".requests";
    }
}
