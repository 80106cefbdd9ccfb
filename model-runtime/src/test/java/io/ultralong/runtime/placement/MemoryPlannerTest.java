package io.ultralong.runtime.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

/** UltraLong-8B's figures worked by hand: 32 layers x 8 KV heads x 128 x 2 (K, V) x 2 bytes = 131,072 B/token. */
class MemoryPlannerTest {

    private static final long GIB = 1L << 30;
    private static final long WEIGHTS = 16_060_000_000L;   // 8.03B parameters in bf16
    private static final long FP16_PER_TOKEN = 131_072;
    private static final int BLOCK = 256;                  // 256 tokens x 128 KiB = 32 MiB per block

    @Test
    void oneEightyGigabyteDeviceHoldsHalfAMillionTokens() {
        // (79 GiB - 16.06e9 - 4 GiB) / 32 MiB = 1921.4 -> 1921 whole blocks
        MemoryPlan plan = MemoryPlanner.plan(List.of(new MemoryPlanner.Device("cuda:0", 79 * GIB)), 0, WEIGHTS,
                false, 4 * GIB, FP16_PER_TOKEN, BLOCK);
        assertThat(plan.maxContextTokens()).isEqualTo(1921L * 256);
        assertThat(plan.fits(491_776)).isTrue();
        assertThat(plan.fits(491_777)).isFalse();
        assertThatThrownBy(() -> plan.placement(1L << 20))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1,048,576 tokens needs 128.0 GiB");
    }

    @Test
    void theHostTierTakesOnlyTheOldestTokensTheDeviceCannotHold() {
        MemoryPlan plan = MemoryPlanner.plan(List.of(new MemoryPlanner.Device("cuda:0", 79 * GIB)), 128 * GIB, WEIGHTS,
                false, 4 * GIB, FP16_PER_TOKEN, BLOCK);
        // 128 GiB / 32 MiB = 4096 blocks on the host
        assertThat(plan.maxContextTokens()).isEqualTo(491_776L + 4096 * 256);
        assertThat(plan.placement(1L << 20)).containsExactly(491_776L, 1_048_576L - 491_776L);
        assertThat(plan.placement(100_000)).containsExactly(100_000L, 0L);
    }

    @Test
    void devicesAfterTheFirstGiveAllButTheReserveToKvAndFillInOrder() {
        List<MemoryPlanner.Device> four = List.of(new MemoryPlanner.Device("cuda:0", 79 * GIB),
                new MemoryPlanner.Device("cuda:1", 79 * GIB), new MemoryPlanner.Device("cuda:2", 79 * GIB),
                new MemoryPlanner.Device("cuda:3", 79 * GIB));
        MemoryPlan plan = MemoryPlanner.plan(four, 0, WEIGHTS, false, 4 * GIB, FP16_PER_TOKEN, BLOCK);
        // (79 - 4) GiB / 32 MiB = 2400 blocks on each of the three without weights
        assertThat(plan.maxContextTokens()).isEqualTo(491_776L + 3 * 2400 * 256);
        assertThat(plan.placement(600_000)).containsExactly(491_776L, 108_224L, 0L, 0L);

        MemoryPlan replicated = MemoryPlanner.plan(four, 0, WEIGHTS, true, 4 * GIB, FP16_PER_TOKEN, BLOCK);
        assertThat(replicated.maxContextTokens()).isEqualTo(4 * 491_776L);
    }

    @Test
    void quantisedKvHalvesTheBytesPlusOneScalePerHeadAndBlock() {
        assertThat(KvPrecision.F16.bytesPerToken(32, 8, 128, 256)).isEqualTo(FP16_PER_TOKEN);
        assertThat(KvPrecision.F32.bytesPerToken(32, 8, 128, 256)).isEqualTo(2 * FP16_PER_TOKEN);
        // 2 x 32 x 8 float32 scales per 256-token block = 2048 B / 256 = 8 B per token
        assertThat(KvPrecision.INT8.bytesPerToken(32, 8, 128, 256)).isEqualTo(65_536L + 8);
        assertThat(KvPrecision.FP8.bytesPerToken(32, 8, 128, 100)).isEqualTo(65_536L + 21);
    }

    @Test
    void aDeviceSmallerThanItsWeightsHoldsNoKvRatherThanANegativeAmount() {
        MemoryPlan plan = MemoryPlanner.plan(List.of(new MemoryPlanner.Device("cuda:0", 16 * GIB),
                new MemoryPlanner.Device("cuda:1", 16 * GIB)), 0, WEIGHTS, false, 4 * GIB, FP16_PER_TOKEN, BLOCK);
        // cuda:1: 12 GiB / 32 MiB = 384 blocks
        assertThat(plan.tiers().get(0).kvTokens()).isZero();
        assertThat(plan.maxContextTokens()).isEqualTo(384L * 256);
        assertThat(plan.describe()).contains("longest context: 98,304 tokens");
    }
}
