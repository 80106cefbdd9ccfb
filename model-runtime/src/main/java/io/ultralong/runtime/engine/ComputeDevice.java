package io.ultralong.runtime.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;

/** Where the model runs, and the dtype that follows from it: fp32 on CPU, fp16 on CUDA (DJL has no bf16). */
record ComputeDevice(Device device, DataType dataType) {

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
