package io.ultralong.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The KV fingerprint covers the weights' bytes, not only config, names, sizes and safetensors headers. */
class FingerprintWeightsTest {

    @TempDir
    Path dir;

    @Test
    void oneChangedWeightByteUnderIdenticalHeadersChangesTheFingerprint() throws Exception {
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, SyntheticModelSpec.tiny()));
        RuntimeOptions options = new RuntimeOptions("cpu", 64, 16, 64);
        Path weights = dir.resolve("model.safetensors");
        String before;
        try (LlamaRuntime runtime = LlamaRuntime.load(model, options)) {
            before = runtime.fingerprint();
        }
        long size = Files.size(weights);
        byte[] header = headerOf(weights);
        try (RandomAccessFile raf = new RandomAccessFile(weights.toFile(), "rw")) {
            raf.seek(size - 2);   // the last tensor's data, far after the header
            int b = raf.read();
            raf.seek(size - 2);
            raf.write(b ^ 0x01);
        }
        assertThat(Files.size(weights)).isEqualTo(size);
        assertThat(headerOf(weights)).isEqualTo(header);
        try (LlamaRuntime retrained = LlamaRuntime.load(ModelDirectory.resolve(dir), options)) {
            assertThat(retrained.fingerprint()).isNotEqualTo(before);
        }
    }

    private static byte[] headerOf(Path safetensors) throws Exception {
        byte[] all = Files.readAllBytes(safetensors);
        long length = java.nio.ByteBuffer.wrap(all, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        return java.util.Arrays.copyOf(all, Math.toIntExact(8 + length));
    }
}
