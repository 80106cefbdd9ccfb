package io.ultralong.testkit;

import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Quarkus test resource on the same shared broker as {@link KafkaBrokerExtension}: points
 * {@code kafka.bootstrap.servers}, the one setting every service reads, at it. The broker outlives application restarts between test profiles.
 */
public final class KafkaBrokerTestResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        String servers = KafkaBroker.shared().bootstrapServers();
        return Map.of("kafka.bootstrap.servers", servers);
    }

    @Override
    public void stop() {
        // The broker is shared by the whole test JVM and stops with it.
    }
}
