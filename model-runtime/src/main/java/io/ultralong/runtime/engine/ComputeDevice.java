package io.ultralong.runtime.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import io.ultralong.runtime.model.TensorDType;

/**
 * Where the model runs, and the dtype it computes in: by default fp32 on the CPU, fp16 on CUDA; see
 * {@link #withPrecision} for the {@code precision} option (bf16 is computed inside TorchScript: DJL only carries its
 * bytes).
 */
record ComputeDevice(Device device, DataType dataType) {

    /**
     * The compute dtype for {@code precision} ({@link RuntimeOptions#precision}) and a checkpoint stored as
     * {@code stored}: {@code auto} keeps the model's own precision on CUDA (bf16 for a bf16 checkpoint when the
     * fused attention runs, else fp16, the fallback) and fp32 on the CPU, where bf16 matmuls are slow.
     */
    ComputeDevice withPrecision(String precision, TensorDType stored, boolean fused) {
        DataType dtype = switch (precision) {
            case "f32" -> DataType.FLOAT32;
            case "f16" -> DataType.FLOAT16;
            case "bf16" -> DataType.BFLOAT16;
            default -> device.isGpu() ? (stored == TensorDType.BF16 && fused ? DataType.BFLOAT16 : DataType.FLOAT16)
                    : DataType.FLOAT32;
        };
        return new ComputeDevice(device, dtype);
    }

    /** "f32", "f16" or "bf16". */
    String dtypeName() {
        if (dataType == DataType.FLOAT16) {
            return "f16";
        }
        return dataType == DataType.BFLOAT16 ? "bf16" : "f32";
    }

    static ComputeDevice parse(String spec) {
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        Device device;
        if (s.equals("cpu")) {
            device = Device.cpu();
        } else if (s.equals("gpu") || s.equals("cuda")) {
            device = Device.gpu(0);
        } else if (s.startsWith("cuda:") || s.startsWith("gpu:")) {
            try {
                device = Device.gpu(Integer.parseInt(s.substring(s.indexOf(':') + 1)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Bad device '" + spec + "': expected cuda:N with N a number");
            }
        } else if (s.equals("auto")) {
            device = Engine.getEngine("PyTorch").getGpuCount() > 0 ? Device.gpu(0) : Device.cpu();
        } else {
            throw new IllegalArgumentException("Unknown device '" + spec + "': use cpu, gpu, cuda:N or auto");
        }
        if (device.isGpu() && device.getDeviceId() >= Engine.getEngine("PyTorch").getGpuCount()) {
            throw new IllegalArgumentException("Device " + spec + " requested but PyTorch sees "
                    + Engine.getEngine("PyTorch").getGpuCount() + " GPU(s) (is the CUDA native library on the classpath?)");
        }
        return new ComputeDevice(device, device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32);
    }
}
