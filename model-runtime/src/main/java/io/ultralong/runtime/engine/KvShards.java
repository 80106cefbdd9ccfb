package io.ultralong.runtime.engine;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import ai.djl.ndarray.NDManager;
import ai.djl.util.cuda.CudaUtils;
import io.ultralong.runtime.kv.KvArena;
import io.ultralong.runtime.kv.KvLayout;

/** Turns a {@link KvPlacement} into the arena's shards: one per listed device, in order, then the host tier. */
final class KvShards {

    /**
     * On a CUDA shard without a configured budget: memory kept free of KV for the CUDA context, the allocator's slack
     * and one prefill chunk's activations (the worker's default headroom, ul.worker.kv-device-headroom-bytes).
     */
    static final long CUDA_RESERVE_BYTES = 2L << 30;

    private KvShards() {
    }

    /**
     * @param computeKv   the manager KV on the compute device hangs under
     * @param hostKvRoot  a CPU root for the host tier (null when there is none)
     * @param deviceRoots receives the roots this creates for other GPUs (the runtime closes them)
     */
    static List<KvArena.Shard> of(RuntimeOptions options, ComputeDevice compute, NDManager computeKv,
            NDManager hostKvRoot, long weightBytes, long blockBytes, List<NDManager> deviceRoots) {
        KvPlacement placement = options.placement();
        List<KvArena.Shard> shards = new ArrayList<>();
        Set<String> names = new HashSet<>();
        List<String> devices = options.kvDevices();
        for (int i = 0; i < devices.size(); i++) {
            ComputeDevice device = ComputeDevice.parse(devices.get(i));
            if (device.device().isGpu() != compute.device().isGpu()) {
                throw new IllegalArgumentException("KV devices " + devices + " mix the CPU and GPUs: list GPUs only, "
                        + "and use the host tier (hostKvBytes) for host memory");
            }
            NDManager parent;
            if (device.device().equals(compute.device())) {
                parent = computeKv;
            } else {
                parent = NDManager.newBaseManager(device.device(), "PyTorch");
                deviceRoots.add(parent);
            }
            String name = device.device().toString();
            // the same device listed twice is two shards (the CPU tests split a session that way)
            if (!names.add(name)) {
                if (device.device().isGpu() && placement.deviceKvBytes() == 0) {
                    throw new IllegalArgumentException(name + " is listed twice in " + devices + ": each entry would "
                            + "claim the whole GPU; list it once, or set deviceKvBytes (ul.worker.device-kv-bytes)");
                }
                name = name + "#" + i;
                names.add(name);
            }
            long capacity = capacityBlocks(placement.deviceKvBytes(), device, i == 0 ? weightBytes : 0, blockBytes, name);
            shards.add(new KvArena.Shard(name, parent, capacity, false, false));
        }
        if (placement.hostKvBytes() > 0) {
            long blocks = placement.hostKvBytes() / blockBytes;
            if (blocks < 1) {
                throw new IllegalArgumentException("hostKvBytes " + placement.hostKvBytes() + " is less than one KV block ("
                        + blockBytes + " bytes)");
            }
            // page-locked only beside a CUDA device: a CPU-only libtorch has no pinned allocator, nor use for one
            shards.add(new KvArena.Shard("host", hostKvRoot, blocks, true, compute.device().isGpu()));
        }
        return shards;
    }

    private static long capacityBlocks(long configuredBytes, ComputeDevice device, long weightBytes, long blockBytes,
            String name) {
        if (configuredBytes > 0) {
            long blocks = configuredBytes / blockBytes;
            if (blocks < 1) {
                throw new IllegalArgumentException("deviceKvBytes " + configuredBytes + " is less than one KV block ("
                        + blockBytes + " bytes)");
            }
            return blocks;
        }
        if (!device.device().isGpu()) {
            return Long.MAX_VALUE;
        }
        long memory = CudaUtils.getGpuMemory(device.device()).getMax();
        long blocks = (memory - weightBytes - CUDA_RESERVE_BYTES) / blockBytes;
        if (blocks < 1) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "%s has %,d bytes: no room for KV after %,d bytes of weights and a %,d-byte reserve", name, memory,
                    weightBytes, CUDA_RESERVE_BYTES));
        }
        return blocks;
    }

    /** "gpu(0) 1,024 blocks, gpu(1) 1,160 blocks, host 4,096 blocks (pinned) of 256 tokens" for the log. */
    static String describe(List<KvArena.Shard> shards, KvLayout layout) {
        StringBuilder out = new StringBuilder();
        for (KvArena.Shard shard : shards) {
            out.append(out.isEmpty() ? "" : ", ").append(shard.name()).append(' ')
                    .append(shard.capacityBlocks() == Long.MAX_VALUE ? "unlimited"
                            : String.format(Locale.ROOT, "%,d", shard.capacityBlocks()))
                    .append(" blocks").append(shard.pinned() ? " (pinned)" : "");
        }
        return out.append(" of ").append(layout.blockTokens()).append(" tokens").toString();
    }
}
