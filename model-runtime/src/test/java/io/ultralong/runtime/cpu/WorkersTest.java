package io.ultralong.runtime.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;

/** The decode kernels' parallel-for: every part runs once per region, and a part's failure reaches the caller. */
class WorkersTest {

    @Test
    void everyPartRunsOncePerRegionAndTheCallerSeesTheirWrites() {
        try (Workers workers = new Workers(3, "test-workers")) {
            AtomicIntegerArray runs = new AtomicIntegerArray(3);
            int[] plain = new int[3];
            for (int region = 0; region < 2000; region++) {
                workers.run(Workers.MIN_PARALLEL_FLOATS, part -> {
                    runs.incrementAndGet(part);
                    plain[part]++;   // a plain write, visible to the caller once run returns
                });
            }
            for (int part = 0; part < 3; part++) {
                assertThat(runs.get(part)).isEqualTo(2000);
                assertThat(plain[part]).isEqualTo(2000);
            }
        }
    }

    @Test
    void aFailingPartFailsTheRegionAndTheWorkersStayUsable() {
        try (Workers workers = new Workers(2, "test-workers")) {
            assertThatThrownBy(() -> workers.run(Workers.MIN_PARALLEL_FLOATS, part -> {
                if (part == 1) {
                    throw new IllegalStateException("part 1 failed");
                }
            })).isInstanceOf(IllegalStateException.class).hasMessage("part 1 failed");
            int[] done = new int[2];
            workers.run(Workers.MIN_PARALLEL_FLOATS, part -> done[part] = 1);
            assertThat(done).containsExactly(1, 1);
        }
    }
}
