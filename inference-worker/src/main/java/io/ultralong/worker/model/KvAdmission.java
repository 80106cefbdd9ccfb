package io.ultralong.worker.model;

import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.placement.MemoryPlan;
import io.ultralong.runtime.placement.MemoryPlanner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many bytes of KV the worker may hold, asked before every prefill so that a session too big for the memory its
 * KV lives in is refused up front instead of failing with an out-of-memory error halfway through.
 *
 * <p>The limit is {@code ul.worker.kv-memory-bytes}. When the KV lives on a CUDA device it is also what the device
 * can still take: its free memory (measured, after the weights and everything else) plus the KV the session caches
 * hold now (evicting them gives it back), less a headroom for the forward pass's activations. With
 * {@code kv-on-host} the KV lives in host memory and the device is not asked.
 */
final class KvAdmission {

    private static final Logger LOG = LoggerFactory.getLogger(KvAdmission.class);

    private final long kvMemoryBytes;
    private final long deviceHeadroomBytes;
    /** Free bytes of the device the KV lives on; null when the KV is not on a CUDA device. */
    private final LongSupplier deviceFreeBytes;
    private final Runnable releaseCachedDeviceMemory;
    /** With sharded KV: what the shards hold in all (they have fixed sizes) and their names; else -1 and null. */
    private final long shardBytes;
    private final String shardNames;

    KvAdmission(long kvMemoryBytes, long deviceHeadroomBytes, LongSupplier deviceFreeBytes, Runnable releaseCachedDeviceMemory) {
        this(kvMemoryBytes, deviceHeadroomBytes, deviceFreeBytes, releaseCachedDeviceMemory, -1, null);
    }

    private KvAdmission(long kvMemoryBytes, long deviceHeadroomBytes, LongSupplier deviceFreeBytes,
            Runnable releaseCachedDeviceMemory, long shardBytes, String shardNames) {
        this.kvMemoryBytes = kvMemoryBytes;
        this.deviceHeadroomBytes = deviceHeadroomBytes;
        this.deviceFreeBytes = deviceFreeBytes;
        this.releaseCachedDeviceMemory = releaseCachedDeviceMemory;
        this.shardBytes = shardBytes;
        this.shardNames = shardNames;
    }

    /**
     * Sharded KV (several devices, a host tier, or a per-device budget): the shards' sizes were fixed when the runtime
     * loaded (configured, or measured on CUDA), so their sum, capped by {@code kvMemoryBytes}, is the limit.
     */
    static KvAdmission sharded(List<LlamaRuntime.KvShardUsage> shards, long kvMemoryBytes) {
        long total = 0;
        for (LlamaRuntime.KvShardUsage shard : shards) {
            total = shard.capacityBytes() == Long.MAX_VALUE || total + shard.capacityBytes() < 0 ? Long.MAX_VALUE
                    : total + shard.capacityBytes();
        }
        String names = String.join(", ", shards.stream().map(LlamaRuntime.KvShardUsage::name).toList());
        return new KvAdmission(kvMemoryBytes, 0, null, () -> { }, total, names);
    }

    static KvAdmission of(LlamaRuntime runtime, long kvMemoryBytes, long deviceHeadroomBytes) {
        List<LlamaRuntime.KvShardUsage> shards = runtime.kvShards();
        if (shards.size() > 1 || shards.get(0).capacityBytes() != Long.MAX_VALUE) {
            logShardPlan(runtime, shards, kvMemoryBytes);
            KvAdmission sharded = sharded(shards, kvMemoryBytes);
            return new KvAdmission(kvMemoryBytes, deviceHeadroomBytes, null, runtime::releaseCachedDeviceMemory,
                    sharded.shardBytes, sharded.shardNames);
        }
        Device kvDevice = gpu(runtime.kvDevice());
        LongSupplier free = null;
        if (kvDevice != null) {
            try {
                MemoryUsage probe = CudaUtils.getGpuMemory(kvDevice);
                LOG.info("KV admission: {} has {} MiB free of {} MiB after the weights", kvDevice,
                        (probe.getMax() - probe.getCommitted()) >> 20, probe.getMax() >> 20);
                free = () -> {
                    MemoryUsage usage = CudaUtils.getGpuMemory(kvDevice);
                    return usage.getMax() - usage.getCommitted();
                };
            } catch (RuntimeException | LinkageError e) {
                // DJL reads the free memory through the CUDA runtime library; without it only the budget is known.
                LOG.warn("Cannot read the free memory of {} ({}): KV admission checks ul.worker.kv-memory-bytes only",
                        kvDevice, e.toString());
            }
        }
        logPlan(runtime, kvDevice, kvMemoryBytes, deviceHeadroomBytes);
        return new KvAdmission(kvMemoryBytes, deviceHeadroomBytes, free, runtime::releaseCachedDeviceMemory);
    }

    /**
     * Logs where KV lives and the longest context this worker can answer, before any query: the device's whole memory
     * less weights and headroom on CUDA (capped by the budget), the budget elsewhere, the host tier with kv-on-host.
     */
    private static void logPlan(LlamaRuntime runtime, Device kvDevice, long kvMemoryBytes, long headroomBytes) {
        List<MemoryPlanner.Device> devices = new ArrayList<>();
        long weights = 0;
        long reserve = 0;
        if (kvDevice != null) {
            try {
                devices.add(new MemoryPlanner.Device(runtime.kvDevice(), CudaUtils.getGpuMemory(kvDevice).getMax()));
                weights = runtime.weightBytes();
                reserve = headroomBytes;
            } catch (RuntimeException | LinkageError e) {
                devices.clear();
            }
        }
        boolean onHost = runtime.options().kvOnHost();
        if (devices.isEmpty()) {
            devices.add(new MemoryPlanner.Device(onHost ? runtime.device() : runtime.kvDevice(), onHost ? 0 : kvMemoryBytes));
        }
        MemoryPlan plan = MemoryPlanner.plan(devices, onHost ? kvMemoryBytes : 0, weights, false, reserve,
                runtime.kvBytesPerToken(), runtime.options().kvBlockTokens());
        long longest = Math.min(plan.maxContextTokens(), kvMemoryBytes / runtime.kvBytesPerToken());
        LOG.info("KV memory plan (ul.worker.kv-memory-bytes {} MiB{}): longest context {} tokens\n{}",
                kvMemoryBytes >> 20, onHost ? ", kv-on-host" : "", longest, plan.describe());
    }

    /**
     * The plan of a sharded worker: each shard's KV capacity (the devices in fill order, the host tier last), the
     * longest context, and where its tokens live (the host holds the oldest, the devices the most recent).
     */
    private static void logShardPlan(LlamaRuntime runtime, List<LlamaRuntime.KvShardUsage> shards, long kvMemoryBytes) {
        MemoryPlan plan = shardPlan(shards, runtime.weightBytes(), runtime.kvBytesPerToken(),
                runtime.options().kvBlockTokens(), kvMemoryBytes);
        long longest = plan.maxContextTokens();
        StringBuilder where = new StringBuilder();
        List<Long> placement = plan.placement(longest);
        for (int i = 0; i < plan.tiers().size(); i++) {
            where.append(i == 0 ? "" : ", ").append(plan.tiers().get(i).name()).append(' ')
                    .append(String.format(java.util.Locale.ROOT, "%,d", placement.get(i)));
        }
        LOG.info("KV memory plan (sharded over {}; ul.worker.kv-memory-bytes {} MiB): longest context {} tokens, "
                + "placed {}{}\n{}", shards.size(), kvMemoryBytes >> 20, longest, where,
                shards.get(shards.size() - 1).host() ? " (the host tier holds the oldest)" : "", plan.describe());
    }

    /**
     * The plan of sharded KV: one tier per shard with the whole blocks it holds (a shard without a limit counts as
     * {@code kvMemoryBytes}), the weights on the first, and the total trimmed to whole blocks within
     * {@code kvMemoryBytes} (taken from the host tier first, then the last devices).
     */
    static MemoryPlan shardPlan(List<LlamaRuntime.KvShardUsage> shards, long weightBytes, long perToken, int blockTokens,
            long kvMemoryBytes) {
        long left = kvMemoryBytes / perToken / blockTokens * blockTokens;
        List<MemoryPlan.Tier> tiers = new ArrayList<>();
        // devices first, in fill order, then the host: the budget goes where blocks go first
        for (LlamaRuntime.KvShardUsage shard : shards) {
            long kvBytes = shard.capacityBytes() == Long.MAX_VALUE ? kvMemoryBytes : shard.capacityBytes();
            long tokens = Math.min(left, kvBytes / perToken / blockTokens * blockTokens);
            left -= tokens;
            long weights = tiers.isEmpty() ? weightBytes : 0;
            tiers.add(new MemoryPlan.Tier(shard.name(), shard.host(), kvBytes + weights, weights, 0, tokens,
                    tokens * perToken));
        }
        return new MemoryPlan(List.copyOf(tiers), perToken, blockTokens);
    }

    /** "gpu(N)" as DJL prints it, else null. */
    private static Device gpu(String device) {
        if (!device.startsWith("gpu(") || !device.endsWith(")")) {
            return null;
        }
        return Device.gpu(Integer.parseInt(device.substring(4, device.length() - 1)));
    }

    /** Whether the device is asked besides the configured budget. */
    boolean onDevice() {
        return deviceFreeBytes != null;
    }

    /**
     * The KV bytes the worker can hold in all, {@code heldBytes} (the session caches' KV now) included. Measures the
     * device; when that says {@code neededBytes} would not fit, gives PyTorch's cached free blocks back to the device
     * and measures once more (they only look used).
     */
    long capacity(long heldBytes, long neededBytes) {
        if (shardBytes >= 0) {
            return Math.min(kvMemoryBytes, shardBytes);
        }
        if (deviceFreeBytes == null) {
            return kvMemoryBytes;
        }
        long device = deviceFreeBytes.getAsLong() + heldBytes - deviceHeadroomBytes;
        if (device < neededBytes) {
            releaseCachedDeviceMemory.run();
            device = deviceFreeBytes.getAsLong() + heldBytes - deviceHeadroomBytes;
        }
        return Math.min(kvMemoryBytes, Math.max(0, device));
    }

    /** The KV shards' names when they, not ul.worker.kv-memory-bytes, set {@code capacity}; else null. */
    String limitingShards(long capacity) {
        return shardBytes >= 0 && capacity < kvMemoryBytes ? shardNames : null;
    }

    long kvMemoryBytes() {
        return kvMemoryBytes;
    }
}
