package io.ultralong.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.placement.MemoryPlan;
import org.junit.jupiter.api.Test;

/**
 * The arithmetic of the device budget. No GPU here: the device's free memory comes from a supplier standing in for
 * the CUDA runtime's answer (the real probe is DJL's {@code CudaUtils.getGpuMemory}, unmeasured until a GPU run).
 */
class KvAdmissionTest {

    private static final long GIB = 1L << 30;

    @Test
    void withoutADeviceTheBudgetIsTheConfiguredMemory() {
        KvAdmission admission = new KvAdmission(4 * GIB, GIB, null, () -> { throw new AssertionError("no device"); });
        assertThat(admission.onDevice()).isFalse();
        assertThat(admission.capacity(3 * GIB, 100 * GIB)).isEqualTo(4 * GIB);
    }

    @Test
    void onADeviceTheFreeMemoryPlusTheCachedKvLessTheHeadroomCapsTheBudget() {
        KvAdmission admission = new KvAdmission(100 * GIB, 2 * GIB, () -> 10 * GIB, () -> { });
        assertThat(admission.onDevice()).isTrue();
        // 10 free + 5 held by session caches (evicting them frees it) - 2 headroom.
        assertThat(admission.capacity(5 * GIB, GIB)).isEqualTo(13 * GIB);
        // The configured budget stays the cap when the device has more.
        assertThat(new KvAdmission(8 * GIB, 2 * GIB, () -> 60 * GIB, () -> { }).capacity(0, GIB)).isEqualTo(8 * GIB);
        // Never negative when the device is full.
        assertThat(new KvAdmission(8 * GIB, 2 * GIB, () -> GIB, () -> { }).capacity(0, GIB)).isZero();
    }

    @Test
    void shardedKvIsLimitedByItsShardsAndPlansTheLongestContextAcrossThem() {
        long perToken = 128 * 1024;
        List<LlamaRuntime.KvShardUsage> shards = List.of(new LlamaRuntime.KvShardUsage("gpu(0)", false, 62 * GIB, 0),
                new LlamaRuntime.KvShardUsage("gpu(1)", false, 77 * GIB, 0),
                new LlamaRuntime.KvShardUsage("host", true, 128 * GIB, 0));
        KvAdmission admission = KvAdmission.sharded(shards, 1024 * GIB);
        assertThat(admission.capacity(0, GIB)).isEqualTo(267 * GIB);
        assertThat(admission.limitingShards(267 * GIB)).isEqualTo("gpu(0), gpu(1), host");
        assertThat(KvAdmission.sharded(shards, 100 * GIB).capacity(0, GIB)).as("the budget caps").isEqualTo(100 * GIB);

        MemoryPlan plan = KvAdmission.shardPlan(shards, 15 * GIB, perToken, 256, 1024 * GIB);
        assertThat(plan.maxContextTokens()).isEqualTo(267L * 8192);
        // the longest context: the devices hold the most recent 139 GiB of it, the host the oldest 128 GiB
        assertThat(plan.placement(plan.maxContextTokens())).containsExactly(62L * 8192, 77L * 8192, 128L * 8192);
        assertThat(plan.tiers().get(0).weightBytes()).isEqualTo(15 * GIB);
        // a smaller budget trims the host tier first
        assertThat(KvAdmission.shardPlan(shards, 15 * GIB, perToken, 256, 200 * GIB).tiers())
                .extracting(MemoryPlan.Tier::kvTokens).containsExactly(62L * 8192, 77L * 8192, 61L * 8192);
    }

    @Test
    void cachedAllocatorMemoryIsGivenBackBeforeASessionIsJudgedTooBig() {
        AtomicLong free = new AtomicLong(3 * GIB);
        AtomicInteger releases = new AtomicInteger();
        // PyTorch keeps freed blocks reserved: they look used until the cache is emptied.
        KvAdmission admission = new KvAdmission(100 * GIB, GIB, free::get, () -> {
            releases.incrementAndGet();
            free.set(20 * GIB);
        });
        assertThat(admission.capacity(0, GIB)).as("fits: no release").isEqualTo(2 * GIB);
        assertThat(releases).hasValue(0);
        assertThat(admission.capacity(0, 10 * GIB)).as("measured again after the release").isEqualTo(19 * GIB);
        assertThat(releases).hasValue(1);
    }
}
