package io.ultralong.worker.model;

import java.lang.management.MemoryUsage;
import java.util.function.LongSupplier;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import io.ultralong.runtime.engine.LlamaRuntime;
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

    KvAdmission(long kvMemoryBytes, long deviceHeadroomBytes, LongSupplier deviceFreeBytes, Runnable releaseCachedDeviceMemory) {
        this.kvMemoryBytes = kvMemoryBytes;
        this.deviceHeadroomBytes = deviceHeadroomBytes;
        this.deviceFreeBytes = deviceFreeBytes;
        this.releaseCachedDeviceMemory = releaseCachedDeviceMemory;
    }

    static KvAdmission of(LlamaRuntime runtime, long kvMemoryBytes, long deviceHeadroomBytes) {
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
        return new KvAdmission(kvMemoryBytes, deviceHeadroomBytes, free, runtime::releaseCachedDeviceMemory);
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

    long kvMemoryBytes() {
        return kvMemoryBytes;
    }
}
