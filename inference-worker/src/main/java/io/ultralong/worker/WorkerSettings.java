package io.ultralong.worker;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import io.ultralong.protocol.kafka.KafkaConnection;
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
 * @param modelStallTimeout liveness turns DOWN when the model thread goes this long without progress
 * @param kafkaProperties   passthrough client properties of every Kafka client of the worker (security),
 *                          see {@link KafkaConnection}
 * @param maxQueuedQueriesPerTenant of {@code maxQueuedQueries}, what one tenant may hold; its next queries get
 *                          {@code unavailable}, and other tenants' still find room
 */
public record WorkerSettings(
        String bootstrapServers,
        String topicPrefix,
        String groupId,
        String workerId,
        Path dataDir,
        Duration sessionTimeout,
        int maxQueuedQueries,
        Duration modelStallTimeout,
        Map<String, String> kafkaProperties,
        int maxQueuedQueriesPerTenant) {

    public static final String DEFAULT_MODEL_STALL_TIMEOUT = "PT5M";

    public WorkerSettings {
        kafkaProperties = Map.copyOf(kafkaProperties);
    }

    /** Without passthrough Kafka properties, with the default stall timeout. */
    public WorkerSettings(String bootstrapServers, String topicPrefix, String groupId, String workerId, Path dataDir,
                          Duration sessionTimeout, int maxQueuedQueries) {
        this(bootstrapServers, topicPrefix, groupId, workerId, dataDir, sessionTimeout, maxQueuedQueries,
                Duration.parse(DEFAULT_MODEL_STALL_TIMEOUT), Map.of(), defaultPerTenant(maxQueuedQueries));
    }

    public WorkerSettings withKafka(KafkaConnection kafka) {
        return new WorkerSettings(kafka.bootstrapServers(), topicPrefix, groupId, workerId, dataDir, sessionTimeout,
                maxQueuedQueries, modelStallTimeout, kafka.properties(), maxQueuedQueriesPerTenant);
    }

    public WorkerSettings withModelStallTimeout(Duration timeout) {
        return new WorkerSettings(bootstrapServers, topicPrefix, groupId, workerId, dataDir, sessionTimeout,
                maxQueuedQueries, timeout, kafkaProperties, maxQueuedQueriesPerTenant);
    }

    public WorkerSettings withMaxQueuedQueriesPerTenant(int perTenant) {
        return new WorkerSettings(bootstrapServers, topicPrefix, groupId, workerId, dataDir, sessionTimeout,
                maxQueuedQueries, modelStallTimeout, kafkaProperties, perTenant);
    }

    /** A quarter of the queue: four tenants flooding at once still leave nothing to a fifth, one never does. */
    public static int defaultPerTenant(int maxQueuedQueries) {
        return Math.max(1, maxQueuedQueries / 4);
    }

    /** How every Kafka client of this worker connects. */
    public KafkaConnection kafka() {
        return new KafkaConnection(bootstrapServers, kafkaProperties);
    }

    /** The platform's topic names under this worker's prefix. */
    public Topics topics() {
        return new Topics(topicPrefix);
    }

    /** Requests partitions follow tokens partitions, so their offsets live in a group of their own. */
    public String requestsGroupId() {
        return groupId + ".requests";
    }
}
