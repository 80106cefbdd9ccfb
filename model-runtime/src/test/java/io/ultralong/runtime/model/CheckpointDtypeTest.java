package io.ultralong.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The same seed written as F32, BF16, F16 and sharded reads back to the same (rounded) floats. */
class CheckpointDtypeTest {

    private static final String NAME = "model.layers.1.mlp.down_proj.weight";

    private static float[] read(Path dir, SyntheticModelSpec spec) {
        try (SafetensorsCheckpoint w = ModelDirectory.resolve(SyntheticModelWriter.write(dir, spec)).openWeights()) {
            return w.readAsFloatArray(NAME);
        }
    }

    @Test
    void bf16AndF16WidenExactlyToTheRoundedFp32AndShardsEqualOneFile(@TempDir Path dir) {
        SyntheticModelSpec tiny = SyntheticModelSpec.tiny();
        float[] f32 = read(dir.resolve("f32"), tiny);
        float[] bf16 = read(dir.resolve("bf16"), tiny.withDtype(TensorDType.BF16));
        float[] f16 = read(dir.resolve("f16"), tiny.withDtype(TensorDType.F16));
        float[] sharded = read(dir.resolve("sharded"), tiny.withShards(3));
        assertThat(f32).hasSize(64 * 176);
        assertThat(sharded).containsExactly(f32);
        for (int i = 0; i < f32.length; i++) {
            assertThat(Float.floatToRawIntBits(bf16[i]))
                    .isEqualTo(SyntheticModelWriter.toBf16(f32[i]) << 16);
            assertThat(SafetensorsCheckpoint.halfToFloat(SyntheticModelWriter.toF16(f32[i]))).isEqualTo(f16[i]);
            assertThat(Math.abs(f16[i] - f32[i])).isLessThanOrEqualTo(Math.abs(f32[i]) / 1024 + 1e-7f);
        }
    }
}
