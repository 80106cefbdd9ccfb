package io.ultralong.runtime.rope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** YaRN for the UltraLong-1M config against DESIGN.md's reference values (HF float32 vs our float64: 1e-6 relative). */
class YarnRopeTest {

    private static RopeScaling ultraLong(double factor) throws Exception {
        // max_position_embeddings deliberately differs from the original length: the older-HF pitfall
        return RopeScaling.fromConfig(new ObjectMapper().readTree("{\"rope_type\":\"yarn\",\"factor\":" + factor
                + ",\"original_max_position_embeddings\":8192,\"beta_fast\":4,\"beta_slow\":1}"), 1048576);
    }

    @Test
    void ultraLong1mInverseFrequenciesAndAttentionFactorMatchReference() throws Exception {
        YarnRope rope = (YarnRope) ultraLong(128);
        assertThat(rope.correctionRange(128, 5e5)).containsExactly(28.0, 35.0);
        double[] inv = rope.inverseFrequencies(128, 5e5);
        assertThat(inv).hasSize(64);
        assertRel(inv[0], 1.0);
        assertRel(inv[28], 0.0032114461);
        assertRel(inv[29], 0.0022452904);
        assertRel(inv[32], 0.0006124049);
        assertRel(inv[34], 0.0001403521);
        assertRel(inv[35], 5.9726326e-06);
        assertRel(inv[63], 1.9180787e-08);
        assertThat(rope.attentionFactor()).isCloseTo(1.4852030263919618, within(1e-12));
        assertThat(ultraLong(256).attentionFactor()).isCloseTo(1.5545177444479563, within(1e-12));
        assertThat(ultraLong(512).attentionFactor()).isCloseTo(1.6238324625039509, within(1e-12));
    }

    private static void assertRel(double actual, double expected) {
        assertThat(Math.abs(actual - expected) / Math.abs(expected)).isLessThan(1e-6);
    }
}
