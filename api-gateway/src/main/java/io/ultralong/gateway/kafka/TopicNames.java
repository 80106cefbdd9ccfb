package io.ultralong.gateway.kafka;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.ultralong.gateway.GatewayConfig;
import io.ultralong.protocol.topics.Topics;

/** The platform's topic names under the configured prefix, shared with every other service. */
public class TopicNames {

    @Produces
    @Singleton
    Topics topics(GatewayConfig config) {
        return new Topics(config.topics().prefix());
    }
}
