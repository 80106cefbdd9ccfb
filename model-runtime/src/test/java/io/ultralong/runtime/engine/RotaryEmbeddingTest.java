package io.ultralong.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

import io.ultralong.runtime.rope.YarnRope;
import org.junit.jupiter.api.Test;

class RotaryEmbeddingTest {

    /** 2*pi to 60 digits. */
    private static final BigDecimal TWO_PI = new BigDecimal(
            "6.28318530717958647692528676655900576839433879875021164194988918");
    private static final MathContext WIDE = new MathContext(80);

    /** UltraLong-1M: base 5e5, head_dim 128, yarn factor 128 over 8192, beta_fast 4, beta_slow 1. */
    private static RotaryEmbedding ultraLong1M() {
        YarnRope yarn = new YarnRope(128, 8192, 4, 1, null, null, null, true);
        return new RotaryEmbedding(yarn.inverseFrequencies(128, 500000), yarn.attentionFactor(), 128);
    }

    @Test
    void anglesAtPositionFourMillionMatchExactArithmetic() {
        RotaryEmbedding rope = ultraLong1M();
        YarnRope yarn = new YarnRope(128, 8192, 4, 1, null, null, null, true);
        double[] invFreq = yarn.inverseFrequencies(128, 500000);
        long position = 4_000_000L;
        for (int i = 0; i < 64; i++) {
            // the exact product of the position and the (double) inverse frequency, reduced mod 2*pi in 80 digits
            BigDecimal exact = new BigDecimal(position).multiply(new BigDecimal(invFreq[i]), WIDE);
            BigDecimal turns = exact.divide(TWO_PI, WIDE).setScale(0, RoundingMode.FLOOR);
            double reduced = exact.subtract(turns.multiply(TWO_PI, WIDE), WIDE).doubleValue();
            double angle = rope.angle(position, i);
            assertThat(Math.cos(angle)).as("cos, frequency %d", i).isCloseTo(StrictMath.cos(reduced), within(1e-9));
            assertThat(Math.sin(angle)).as("sin, frequency %d", i).isCloseTo(StrictMath.sin(reduced), within(1e-9));
        }
    }

    @Test
    void chunkTablesCarryTheAttentionFactorAndPairDimensionJWithJPlusHalf() {
        RotaryEmbedding rope = ultraLong1M();
        assertThat(rope.attentionFactor()).isCloseTo(1.4852030263919618, within(1e-15));
        long start = 3_999_998L;
        float[][] cosSin = rope.cosSin(start, 3);   // the last rows of a 4M context, with no table before them
        assertThat(cosSin[0]).hasSize(3 * 128);
        for (int t = 0; t < 3; t++) {
            for (int i = 0; i < 64; i++) {
                double angle = rope.angle(start + t, i);
                float cos = cosSin[0][t * 128 + i];
                float sin = cosSin[1][t * 128 + i];
                assertThat((double) cos).isCloseTo(Math.cos(angle) * rope.attentionFactor(), within(3e-7));
                assertThat((double) sin).isCloseTo(Math.sin(angle) * rope.attentionFactor(), within(3e-7));
                assertThat(cosSin[0][t * 128 + i + 64]).isEqualTo(cos);
                assertThat(cosSin[1][t * 128 + i + 64]).isEqualTo(sin);
            }
        }
    }
}
