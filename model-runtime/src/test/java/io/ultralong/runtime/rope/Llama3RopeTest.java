package io.ultralong.runtime.rope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Llama 3.1 rope (factor 8, low 1, high 4, original 8192, theta 5e5, dim 128) against values worked out from HF's formula. */
class Llama3RopeTest {

    @Test
    void highFrequenciesKeptLowFrequenciesDividedMediumBandBlended() throws Exception {
        RopeScaling rope = RopeScaling.fromConfig(new ObjectMapper().readTree(
                "{\"type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                        + "\"original_max_position_embeddings\":8192}"), 131072);
        assertThat(rope).isInstanceOf(Llama3Rope.class);
        double[] inv = rope.inverseFrequencies(128, 500000.0);
        // wavelen 2*pi < 8192/4: high frequency, unchanged
        assertThat(inv[0]).isEqualTo(1.0);
        // i = 63: base 500000^(-126/128) = 2.4270e-6, wavelen ~2.59e6 > 8192: divided by 8
        assertThat(inv[63]).isCloseTo(Math.pow(500000.0, -126.0 / 128) / 8, within(1e-20));
        // i = 32: base = 500000^(-64/128); wavelen = 2*pi/base lies in [2048, 8192]: smooth blend
        double base = Math.pow(500000.0, -64.0 / 128);
        double wavelen = 2 * Math.PI / base;
        assertThat(wavelen).isBetween(2048.0, 8192.0);
        double smooth = (8192 / wavelen - 1) / (4 - 1);
        assertThat(inv[32]).isCloseTo((1 - smooth) * base / 8 + smooth * base, within(1e-15));
        assertThat(inv[32]).isStrictlyBetween(base / 8, base);
        assertThat(rope.attentionFactor()).isEqualTo(1.0);
    }
}
