package io.ultralong.runtime.djl;

import java.nio.Buffer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Host buffer to device array, with storage owned by libtorch. On the CPU, DJL wraps a direct buffer with
 * torch::from_blob and only the Java NDArray object keeps the buffer reachable: a view (transpose, slice) outliving
 * that object would read memory the GC has freed. Copying once into a libtorch-allocated tensor removes the trap.
 */
public final class HostUpload {

    private HostUpload() {
    }

    public static NDArray create(NDManager manager, Buffer data, Shape shape, DataType dataType) {
        NDArray wrapped = manager.create(data, shape, dataType);
        if (manager.getDevice().isGpu()) {
            return wrapped;   // already copied to device memory
        }
        NDArray owned = wrapped.duplicate();
        wrapped.close();
        return owned;
    }
}
