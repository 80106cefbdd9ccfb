package io.ultralong.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** DJL's PyTorch engine loads from the Maven native jar with no network, and computes. */
class DjlPyTorchOfflineTest {

    @Test
    void pytorchEngineLoadsOfflineAndMultipliesMatrices() {
        assertThat(System.getProperty("ai.djl.offline")).isEqualTo("true");
        Engine engine = Engine.getEngine("PyTorch");
        assertThat(engine.getVersion()).isEqualTo("2.5.1");

        int n = 64;
        float[] a = new float[n * n];
        float[] b = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) Math.sin(i * 0.37);
            b[i] = (float) Math.cos(i * 0.11);
        }
        try (NDManager manager = engine.newBaseManager()) {
            NDArray product = manager.create(a, new Shape(n, n)).matMul(manager.create(b, new Shape(n, n)));
            float[] got = product.toFloatArray();
            for (int row = 0; row < n; row += 7) {
                for (int col = 0; col < n; col += 5) {
                    double expected = 0;
                    for (int k = 0; k < n; k++) {
                        expected += (double) a[row * n + k] * b[k * n + col];
                    }
                    assertThat((double) got[row * n + col]).isCloseTo(expected, within(1e-4));
                }
            }
        }
    }
}
