package io.ultralong.gateway.kafka;

import jakarta.enterprise.context.ApplicationScoped;

import io.ultralong.gateway.GatewayConfig;

/** The topic names under the configured prefix. */
@ApplicationScoped
public class TopicNames {

    private final String prefix;

    public TopicNames(GatewayConfig config) {
        this.prefix = config.topics().prefix();
    }

    public String records() {
        return prefix + "records";
    }

    public String requests() {
        return prefix + "requests";
    }

    public String responses() {
        return prefix + "responses";
    }

    public String watches() {
        return prefix + "watches";
    }

    public String answers() {
        return prefix + "answers";
    }
}
