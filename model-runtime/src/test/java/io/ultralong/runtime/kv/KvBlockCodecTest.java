package io.ultralong.runtime.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.ultralong.runtime.model.SafetensorsCheckpoint;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;

/** The documented byte layout, value by value, and the f32 <-> f16 conversion on import. */
class KvBlockCodecTest {

    private static final int LAYERS = 2;
    private static final int TOKENS = 3;
    private static final int HEADS = 2;
    private static final int DIM = 4;

    /** A distinct, f16-representable-ish value for each (layer, K/V, token, head, dim). */
    private static float value(int layer, int kv, int t, int h, int d) {
        return (float) (layer * 1000 + kv * 100 + t * 10 + h + d * 0.1 + 0.0123);
    }

    /** A block's data in the export order [layers, 2, tokens, heads, dim]. */
    private static NDArray block(NDManager manager) {
        float[] data = new float[LAYERS * 2 * TOKENS * HEADS * DIM];
        for (int layer = 0; layer < LAYERS; layer++) {
            for (int kv = 0; kv < 2; kv++) {
                for (int t = 0; t < TOKENS; t++) {
                    for (int h = 0; h < HEADS; h++) {
                        for (int d = 0; d < DIM; d++) {
                            data[(((layer * 2 + kv) * TOKENS + t) * HEADS + h) * DIM + d] = value(layer, kv, t, h, d);
                        }
                    }
                }
            }
        }
        return manager.create(data, new Shape(LAYERS, 2, TOKENS, HEADS, DIM));
    }

    @Test
    void encodedBlockFollowsTheDocumentedLittleEndianLayout() {
        KvLayout layout = new KvLayout(LAYERS, HEADS, DIM, TOKENS, DataType.FLOAT32);
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            byte[] bytes = KvBlockCodec.encode(block(manager), layout);
            ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(new String(bytes, 0, 4, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("ULKV");
            assertThat(new int[] {in.getInt(4), in.getInt(8), in.getInt(12), in.getInt(16), in.getInt(20), in.getInt(24)})
                    .containsExactly(1, 1, LAYERS, HEADS, DIM, TOKENS);
            assertThat(bytes).hasSize(32 + LAYERS * 2 * TOKENS * HEADS * DIM * 4);
            for (int layer = 0; layer < LAYERS; layer++) {
                for (int kv = 0; kv < 2; kv++) {
                    for (int t = 0; t < TOKENS; t++) {
                        for (int h = 0; h < HEADS; h++) {
                            for (int d = 0; d < DIM; d++) {
                                int element = ((layer * 2 + kv) * TOKENS + t) * HEADS * DIM + h * DIM + d;
                                assertThat(in.getFloat(32 + 4 * element)).isEqualTo(value(layer, kv, t, h, d));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void f32BlocksImportIntoF16CachesAndBack() {
        KvLayout f32 = new KvLayout(LAYERS, HEADS, DIM, TOKENS, DataType.FLOAT32);
        KvLayout f16 = new KvLayout(LAYERS, HEADS, DIM, TOKENS, DataType.FLOAT16);
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            byte[] asF32 = KvBlockCodec.encode(block(manager), f32);
            // decode keeps the stored dtype; the arena converts on its way in, as toType does here
            NDArray decoded = KvBlockCodec.decode(asF32, f16, manager);
            assertThat(decoded.getDataType()).isEqualTo(DataType.FLOAT32);
            byte[] asF16 = KvBlockCodec.encode(decoded.toType(DataType.FLOAT16, false), f16);
            assertThat(ByteBuffer.wrap(asF16).order(ByteOrder.LITTLE_ENDIAN).getInt(8)).isEqualTo(2);
            assertThat(asF16).hasSize(32 + LAYERS * 2 * TOKENS * HEADS * DIM * 2);
            NDArray back = KvBlockCodec.decode(asF16, f32, manager);
            assertThat(back.getDataType()).isEqualTo(DataType.FLOAT16);
            float[] values = back.get(1, 1).toType(DataType.FLOAT32, false).toFloatArray();   // layer 1, V
            for (int t = 0; t < TOKENS; t++) {
                for (int d = 0; d < DIM; d++) {
                    float original = value(1, 1, t, 1, d);
                    float rounded = SafetensorsCheckpoint.halfToFloat(SyntheticModelWriter.toF16(original));
                    assertThat(values[(t * HEADS + 1) * DIM + d]).isEqualTo(rounded);
                }
            }
        }
    }
}
