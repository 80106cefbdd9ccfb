package io.ultralong.protocol.watch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import io.ultralong.protocol.query.SamplingParams;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class WatchKeysTest {

    @Test
    void aWatchLandsInThePartitionOfItsSessionKey() {
        try (var serializer = new StringSerializer()) {
            serializer.configure(Map.of(), true);
            for (String session : new String[] {"acme/app-log", "globex/s1", "t/ü-✓", "x/0"}) {
                for (int partitions : new int[] {1, 3, 8, 12}) {
                    int kafkas = BuiltInPartitioner.partitionForKey(serializer.serialize("ul.tokens", session), partitions);
                    assertThat(WatchKeys.partitionOf(session, partitions)).isEqualTo(kafkas);
                }
            }
        }
    }

    @Test
    void keysSplitBackIntoSessionAndWatch() {
        String key = WatchKeys.key("acme/app-log", "errors");
        assertThat(WatchKeys.session(key)).isEqualTo("acme/app-log");
        assertThat(WatchKeys.watchId(key)).isEqualTo("errors");
    }

    @Test
    void watchesAndAnswersRoundTrip() {
        WatchDefinition watch = new WatchDefinition("errors", "acme/app-log", "Any errors?",
                new SamplingParams(32, 0, 1, 0, 1L), 256, 10_000, "(?i)error", 1_700_000_000_000L);
        assertThat(WatchJson.decodeWatch(WatchJson.encode(watch))).isEqualTo(watch);
    }
}
