package io.ultralong.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuntimeSetupTest {

    @TempDir
    Path dir;

    @Test
    void devicesParseToCpuHereAndGpuRequestsFailClearlyWithoutOne() {
        assertThat(ComputeDevice.parse("cpu")).isEqualTo(new ComputeDevice(Device.cpu(), DataType.FLOAT32));
        assertThat(ComputeDevice.parse("auto").device()).isEqualTo(Device.cpu());   // no GPU on this machine
        assertThatThrownBy(() -> ComputeDevice.parse("cuda:0")).hasMessageContaining("sees 0 GPU");
        assertThatThrownBy(() -> ComputeDevice.parse("cuda:x")).hasMessageContaining("cuda:N");
        assertThatThrownBy(() -> ComputeDevice.parse("tpu")).hasMessageContaining("cpu, gpu, cuda:N or auto");
        assertThatThrownBy(() -> new RuntimeOptions("cpu", 0, 256, 1024)).isInstanceOf(IllegalArgumentException.class);
        assertThat(RuntimeOptions.defaults()).isEqualTo(new RuntimeOptions("auto", 512, 256, 1024));
    }

    @Test
    void fingerprintIdentifiesModelDtypeAndBlockSize() {
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, SyntheticModelSpec.tiny()));
        RuntimeOptions options = new RuntimeOptions("cpu", 64, 16, 64);
        String first;
        try (LlamaRuntime runtime = LlamaRuntime.load(model, options)) {
            first = runtime.fingerprint();
            assertThat(first).matches("[0-9a-f]{64}");
            assertThat(runtime.kvBytesPerToken()).isEqualTo(2L * 2 * 16 * 2 * 4);   // layers*kvHeads*headDim*(K,V)*f32
        }
        try (LlamaRuntime again = LlamaRuntime.load(model, options.withPrefillChunkTokens(7))) {
            assertThat(again.fingerprint()).isEqualTo(first);   // chunking does not change the blocks
        }
        try (LlamaRuntime otherBlocks = LlamaRuntime.load(model, options.withKvBlockTokens(32))) {
            assertThat(otherBlocks.fingerprint()).isNotEqualTo(first);
        }
    }

    @Test
    void prefillRejectsTokensOutsideTheVocabularyAndContextsBeyondTheMaximum() {
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, SyntheticModelSpec.tiny()));
        try (LlamaRuntime runtime = LlamaRuntime.load(model, new RuntimeOptions("cpu", 64, 16, 64));
                KvCache cache = runtime.newCache()) {
            assertThatThrownBy(() -> runtime.prefill(cache, new int[] {512}, PrefillListener.NONE))
                    .hasMessageContaining("outside the vocabulary");
            assertThatThrownBy(() -> runtime.prefill(cache, new int[4097], PrefillListener.NONE))
                    .hasMessageContaining("max_position_embeddings 4096");
            assertThat(cache.length()).isZero();
        }
    }
}
