package io.ultralong.runtime.model;

import java.nio.file.Path;
import java.util.Arrays;

/** Where one tensor lies in a safetensors file: dataOffset is absolute in the file. */
public record TensorInfo(String name, TensorDType dtype, long[] shape, Path file, long dataOffset, long byteLength) {
    public long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @" + file.getFileName() + "+" + dataOffset;
    }
}
