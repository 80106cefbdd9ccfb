package io.ultralong.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import io.ultralong.runtime.reference.ReferenceLlama;
import io.ultralong.runtime.rope.YarnRope;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContractSmokeTest {

    @Test
    void tinySyntheticModelLoadsAndGivesFiniteNonDegenerateReferenceLogits(@TempDir Path dir) {
        SyntheticModelSpec spec = SyntheticModelSpec.tiny();
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, spec));
        LlamaConfig c = model.config();
        assertThat(c.hiddenSize()).isEqualTo(64);
        assertThat(c.headDim()).isEqualTo(16);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(4096);
        assertThat(c.ropeScaling()).isInstanceOf(YarnRope.class);
        assertThat(c.kvBytesPerToken(2)).isEqualTo(2L * 2 * 16 * 2 * 2);
        assertThat(model.generationConfig().eosTokenIds()).containsExactly(503, 511);
        try (SafetensorsCheckpoint w = model.openWeights()) {
            assertThat(w.tensorNames()).hasSize(1 + 2 * 9 + 2);
            assertThat(w.readAsFloatArray("model.norm.weight")).hasSize(64);
        }
        double[][] logits = ReferenceLlama.load(model).logits(new int[] {1, 2, 3, 4, 5});
        assertThat(logits).hasNumberOfRows(5);
        assertThat(logits[4]).hasSize(512);
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (double v : logits[4]) {
            assertThat(Double.isFinite(v)).isTrue();
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertThat(max - min).isGreaterThan(1.0);
    }
}
