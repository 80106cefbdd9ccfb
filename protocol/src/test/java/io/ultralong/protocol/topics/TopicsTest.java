package io.ultralong.protocol.topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

class TopicsTest {

    @Test
    void defaultPrefixGivesTheNamesOfDesignMd() {
        Topics topics = Topics.withDefaultPrefix();

        assertThat(topics.all()).containsExactly(
                "ul.records", "ul.tokens", "ul.requests", "ul.responses", "ul.records.dlq", "ul.tokens.dlq", "ul.watches",
                "ul.watch-progress", "ul.answers");
        assertThat(topics.coPartitioned()).containsExactly("ul.records", "ul.tokens", "ul.requests");
    }

    @Test
    void prefixIsPrependedToEveryName() {
        assertThat(new Topics("staging.ul.").recordsDlq()).isEqualTo("staging.ul.records.dlq");
    }

    @Test
    void equalPartitionCountsPass() {
        assertThat(CoPartitioning.requireEqual(Map.of("ul.records", 6, "ul.tokens", 6, "ul.requests", 6))).isEqualTo(6);
    }

    @Test
    void unequalPartitionCountsAreRefusedNamingEveryCount() {
        assertThatThrownBy(() -> CoPartitioning.requireEqual(Map.of("ul.records", 6, "ul.tokens", 3, "ul.requests", 6)))
                .isInstanceOf(CoPartitioning.CoPartitioningException.class)
                .hasMessageContaining("same number of partitions")
                .hasMessageContaining("ul.records=6")
                .hasMessageContaining("ul.tokens=3");
    }
}
