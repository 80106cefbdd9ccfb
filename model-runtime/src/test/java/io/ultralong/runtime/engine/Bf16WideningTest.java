package io.ultralong.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import io.ultralong.runtime.djl.TorchScriptModule;
import org.junit.jupiter.api.Test;

/**
 * BF16 weights travel as raw bytes (uint8) and are viewed as bfloat16 inside TorchScript: the float32 they become must be
 * exactly Java's {@code bits << 16} for every one of the 65,536 patterns (signs, zeros, subnormals, infinities,
 * NaN payloads), and DJL never holds a bfloat16 array.
 */
class Bf16WideningTest {

    @Test
    void everyBf16PatternWidensToItsBitsShiftedLeftBy16() {
        ByteBuffer bits = ByteBuffer.allocateDirect(2 * 65_536).order(ByteOrder.nativeOrder());
        for (int pattern = 0; pattern < 65_536; pattern++) {
            bits.putShort((short) pattern);
        }
        bits.flip();
        try (NDManager manager = NDManager.newBaseManager("PyTorch");
                TorchScriptModule module = TorchScriptModule.load(LlamaWeights.class, "bf16_weights.torchscript",
                        "Bf16Weights", manager)) {
            NDArray raw = manager.create(bits, new Shape(2 * 65_536), DataType.UINT8);
            try (IValue in = IValue.from((PtNDArray) raw); IValue f32 = IValue.from(6L);
                    IValue out = module.call("widen", in, f32)) {
                NDArray widened = out.toTensor((PtNDManager) manager);
                assertThat(widened.getDataType()).isEqualTo(DataType.FLOAT32);
                float[] values = widened.toFloatArray();
                for (int pattern = 0; pattern < 65_536; pattern++) {
                    assertThat(Float.floatToRawIntBits(values[pattern])).as("bf16 bits %04x", pattern)
                            .isEqualTo(pattern << 16);
                }
            }
        }
    }
}
