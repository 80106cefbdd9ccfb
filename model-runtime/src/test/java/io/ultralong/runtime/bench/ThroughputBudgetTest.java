package io.ultralong.runtime.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;

import io.ultralong.runtime.bench.ThroughputBenchmark.Row;
import org.junit.jupiter.api.Test;

/** How the GPU check decides whether the next context fits the time left: its prediction from the measured ones. */
class ThroughputBudgetTest {

    private static Row measured(int n, double prefillSeconds, double decodeSeconds) {
        return new Row(n, prefillSeconds, n, 16, decodeSeconds, 0, 0, -1, -1, "", Double.NaN, Double.NaN);
    }

    @Test
    void nothingMeasuredPredictsNothing() {
        assertThat(ThroughputBenchmark.predict(List.of(), 131072)).isZero();
    }

    @Test
    void oneContextScalesPrefillQuadraticallyAndDecodeLinearly() {
        // an upper bound while attention is not yet dominant: 8K in 10 s -> 32K in at most 160 s
        assertThat(ThroughputBenchmark.predict(List.of(measured(8192, 10, 1)), 32768)).isCloseTo(160 + 4, within(1e-9));
    }

    @Test
    void twoContextsFitLinearPlusQuadraticPrefill() {
        double b = 1e-3;
        double c = 1e-8;
        List<Row> rows = List.of(measured(8192, b * 8192 + c * 8192.0 * 8192, 1),
                new Row(16384, Double.NaN, 0, 0, Double.NaN, 0, 0, -1, -1, "skipped", Double.NaN, Double.NaN),
                measured(32768, b * 32768 + c * 32768.0 * 32768, 2));
        double expected = b * 131072 + c * 131072.0 * 131072 + 2 * 4;
        assertThat(ThroughputBenchmark.predict(rows, 131072)).isCloseTo(expected, within(1e-6));
    }
}
