package io.ultralong.runtime.placement;

import java.util.ArrayList;
import java.util.List;

/**
 * Works out where a session's KV can live on an ordered list of devices plus the host, and so the longest context
 * a worker can hold, before any tensor is allocated: the worker logs the plan at startup and refuses a longer
 * session up front instead of failing midway with an out-of-memory error.
 *
 * <p>Each device gives its memory minus a reserve (CUDA context, allocator slack, one prefill chunk's activations)
 * minus the weights where they sit (the first device, or every device when replicated) to whole KV blocks. The host
 * tier, when enabled, takes whatever the devices cannot: it holds the oldest blocks, so that decoding appends to a
 * device and only the prefix is streamed from the host.
 */
public final class MemoryPlanner {

    private MemoryPlanner() {
    }

    /** A device's memory as the engine reports it (usable bytes). */
    public record Device(String name, long memoryBytes) {
    }

    /**
     * @param devices          devices in fill order; the first holds the weights
     * @param hostKvBytes      host memory given to KV blocks (0: no host tier)
     * @param weightBytes      bytes of the weights on one device
     * @param replicateWeights whether every device holds a copy of the weights
     * @param reserveBytes     bytes kept free on every device for activations and the runtime
     * @param kvBytesPerToken  see {@link KvPrecision#bytesPerToken}
     * @param blockTokens      tokens per KV block: the unit of placement
     */
    public static MemoryPlan plan(List<Device> devices, long hostKvBytes, long weightBytes, boolean replicateWeights,
            long reserveBytes, long kvBytesPerToken, int blockTokens) {
        if (devices.isEmpty()) {
            throw new IllegalArgumentException("at least one device is needed");
        }
        if (kvBytesPerToken <= 0 || blockTokens <= 0) {
            throw new IllegalArgumentException("kvBytesPerToken and blockTokens must be positive");
        }
        long blockBytes = kvBytesPerToken * blockTokens;
        List<MemoryPlan.Tier> tiers = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) {
            Device device = devices.get(i);
            long weights = i == 0 || replicateWeights ? weightBytes : 0;
            long free = Math.max(0, device.memoryBytes() - weights - reserveBytes);
            long blocks = free / blockBytes;
            tiers.add(new MemoryPlan.Tier(device.name(), false, device.memoryBytes(), weights, reserveBytes,
                    blocks * blockTokens, blocks * blockBytes));
        }
        if (hostKvBytes > 0) {
            long blocks = hostKvBytes / blockBytes;
            tiers.add(new MemoryPlan.Tier("host", true, hostKvBytes, 0, 0, blocks * blockTokens, blocks * blockBytes));
        }
        return new MemoryPlan(List.copyOf(tiers), kvBytesPerToken, blockTokens);
    }
}
