package io.ultralong.runtime.engine;

import java.util.Arrays;
import java.util.List;

/**
 * Where one session's KV blocks may live (issue 18, sequence-sharded KV): an ordered list of devices, filled in
 * order, then optionally host memory for the oldest blocks. The weights and every computation but attention over
 * the KV stay on the first device; each layer's attention runs on every device that holds blocks of the session,
 * with the query sent there, and the partial results merge exactly on the first device.
 *
 * @param devices         ordered devices ({@code cpu}, {@code cuda:N}, as {@link RuntimeOptions#device()}); empty: the
 *                        runtime's one device. The same device may be listed more than once (each entry is its own
 *                        shard: how the CPU tests split a session)
 * @param deviceKvBytes   KV bytes each listed device may hold; 0: on the CPU no limit (the first device takes all),
 *                        on CUDA the device's memory less the weights (first device) and a reserve for activations
 * @param hostKvBytes     host memory for KV blocks the devices cannot hold (the oldest of a session); 0: none, and a
 *                        session beyond the devices fails to grow
 * @param hostPieceTokens tokens per piece when host KV is streamed to the first device during attention: at most two
 *                        pieces of every layer are on the device at once
 */
public record KvPlacement(List<String> devices, long deviceKvBytes, long hostKvBytes, int hostPieceTokens) {

    /** One device, no host tier: the runtime as it was before sharding. */
    public static final KvPlacement SINGLE = new KvPlacement(List.of(), 0, 0, 8192);

    public KvPlacement {
        devices = List.copyOf(devices);
        if (deviceKvBytes < 0 || hostKvBytes < 0) {
            throw new IllegalArgumentException("deviceKvBytes and hostKvBytes must not be negative");
        }
        if (hostPieceTokens < 1) {
            throw new IllegalArgumentException("hostPieceTokens must be >= 1, not " + hostPieceTokens);
        }
        for (String device : devices) {
            if (device.isBlank()) {
                throw new IllegalArgumentException("empty entry in the device list " + devices);
            }
        }
    }

    /** "cuda:0,cuda:1" or "cpu, cpu" as a list; blank: empty. */
    public static List<String> parseDevices(String csv) {
        if (csv == null || csv.isBlank()) {
            return List.of();
        }
        return Arrays.stream(csv.split(",", -1)).map(String::trim).toList();
    }

    public KvPlacement withDevices(List<String> list) {
        return new KvPlacement(list, deviceKvBytes, hostKvBytes, hostPieceTokens);
    }

    public KvPlacement withDeviceKvBytes(long bytes) {
        return new KvPlacement(devices, bytes, hostKvBytes, hostPieceTokens);
    }

    public KvPlacement withHostKvBytes(long bytes) {
        return new KvPlacement(devices, deviceKvBytes, bytes, hostPieceTokens);
    }

    public KvPlacement withHostPieceTokens(int tokens) {
        return new KvPlacement(devices, deviceKvBytes, hostKvBytes, tokens);
    }
}
