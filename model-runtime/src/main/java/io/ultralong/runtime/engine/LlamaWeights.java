package io.ultralong.runtime.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import io.ultralong.runtime.cpu.VectorDecoder;
import io.ultralong.runtime.djl.HostUpload;
import io.ultralong.runtime.djl.RawViews;
import io.ultralong.runtime.djl.TorchScriptModule;
import io.ultralong.runtime.model.LlamaConfig;
import io.ultralong.runtime.model.SafetensorsCheckpoint;
import io.ultralong.runtime.model.TensorDType;
import io.ultralong.runtime.model.TensorInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model's tensors on the compute device, loaded once and shared by every sequence. Projections that read
 * the same input are fused (q|k|v, gate|up) so each is one matmul, and every matrix is kept as a transposed view
 * [in, out] so {@code x.matMul(w)} is HF's {@code nn.Linear} (x W^T) with x first (results then belong to x's
 * scope, not to the weights).
 *
 * <p>In bf16 ({@code dtype} BFLOAT16) every tensor is held as its raw bytes (uint8, the last axis of the stored
 * [out, in] matrix doubled; the transposed views then have their bytes along the first axis): DJL aborts on
 * bfloat16 arrays, and the fused forward pass sees bfloat16 views of these bytes ({@link RawViews}). A bf16
 * checkpoint's bytes go up as they are, tensor by tensor, with no float32 copy anywhere; an f32 or f16 checkpoint
 * is rounded to bf16 on the device.
 */
final class LlamaWeights implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LlamaWeights.class);
    /** fp32 bytes per host-to-device transfer: well under DJL's 2 GiB limit, and bounds the direct buffers. */
    private static final long UPLOAD_SLICE_BYTES = 256L << 20;

    record Layer(NDArray inputNorm, NDArray qkv, NDArray o, NDArray postNorm, NDArray gateUp, NDArray down) { }

    private final NDManager manager;
    final NDArray embedTokens;     // [vocab, hidden]
    final Layer[] layers;
    final NDArray finalNorm;       // [hidden]
    final NDArray lmHead;          // [hidden, vocab] (view)
    final long parameterBytes;

    private LlamaWeights(NDManager manager, NDArray embedTokens, Layer[] layers, NDArray finalNorm, NDArray lmHead,
            long parameterBytes) {
        this.manager = manager;
        this.embedTokens = embedTokens;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.parameterBytes = parameterBytes;
    }

    static LlamaWeights load(LlamaConfig config, SafetensorsCheckpoint checkpoint, NDManager parent, DataType dtype) {
        NDManager manager = parent.newSubManager();
        manager.setName("llama-weights");
        try (Uploader up = new Uploader(checkpoint, manager, dtype)) {
            NDArray embed = up.tensor("model.embed_tokens.weight");
            Layer[] layers = new Layer[config.numHiddenLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = "model.layers." + i + ".";
                layers[i] = new Layer(
                        up.tensor(p + "input_layernorm.weight"),
                        up.fusedTransposed(p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
                                p + "self_attn.v_proj.weight"),
                        up.fusedTransposed(p + "self_attn.o_proj.weight"),
                        up.tensor(p + "post_attention_layernorm.weight"),
                        up.fusedTransposed(p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"),
                        up.fusedTransposed(p + "mlp.down_proj.weight"));
                LOG.info("Loaded layer {}/{} onto {}", i + 1, layers.length, manager.getDevice());
            }
            NDArray norm = up.tensor("model.norm.weight");
            // LlamaForCausalLM: lm_head is embed_tokens itself when tie_word_embeddings
            NDArray head = config.tieWordEmbeddings() ? embed.transpose() : up.fusedTransposed("lm_head.weight");
            if (manager.getDevice().isGpu()) {
                JniUtils.emptyCudaCache();   // the fp32 staging copies are gone; give their blocks back
            }
            return new LlamaWeights(manager, embed, layers, norm, head, up.bytes);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Uploads tensors in row slices and converts on the way: F16 goes up as is on GPU; BF16 goes up as its raw bytes
     * (uint8) and is widened or rounded on the device by a TorchScript view (no fp32 staging copy, half the
     * transfer); F32 goes up as is and is cast on the device when fp16 is wanted.
     */
    private static final class Uploader implements AutoCloseable {
        private final SafetensorsCheckpoint checkpoint;
        private final NDManager manager;
        private final DataType dtype;
        /** Loaded on the first BF16 tensor. */
        private TorchScriptModule bf16;
        /** Loaded on the first tensor rounded to bf16. */
        private RawViews views;
        long bytes;

        Uploader(SafetensorsCheckpoint checkpoint, NDManager manager, DataType dtype) {
            this.checkpoint = checkpoint;
            this.manager = manager;
            this.dtype = dtype;
        }

        NDArray tensor(String name) {
            TensorInfo info = checkpoint.info(name);
            long[] shape = info.shape();
            long rows = shape[0];
            long rowElements = info.elements() / Math.max(1, rows);
            long rowsPerSlice = Math.max(1, UPLOAD_SLICE_BYTES / (rowElements * 4));
            List<NDArray> slices = new ArrayList<>();
            for (long start = 0; start < rows; start += rowsPerSlice) {
                long end = Math.min(rows, start + rowsPerSlice);
                Shape sliceShape = shape.length == 1 ? new Shape(end - start) : new Shape(end - start, rowElements);
                slices.add(slice(name, info.dtype(), start, end, sliceShape));
            }
            NDArray whole = slices.size() == 1 ? slices.get(0) : NDArrays.concat(new NDList(slices), 0);
            if (slices.size() > 1) {
                slices.forEach(NDArray::close);
            }
            bytes += whole.getShape().size() * whole.getDataType().getNumOfBytes();
            return shape.length <= 2 ? whole : whole.reshape(new Shape(shape));
        }

        private NDArray slice(String name, TensorDType stored, long start, long end, Shape shape) {
            if (dtype == DataType.BFLOAT16) {
                return bf16Bits(name, stored, start, end, shape);
            }
            if (dtype == DataType.FLOAT16 && stored == TensorDType.F16) {
                return HostUpload.create(manager, checkpoint.readRowsRaw(name, start, end), shape, DataType.FLOAT16);
            }
            if (stored == TensorDType.BF16) {
                // bf16 (and int16) arrays abort the JVM in DJL: the bytes travel as uint8, two per value along the
                // last axis, and become dtype in TorchScript
                long[] dims = shape.getShape();
                dims[dims.length - 1] *= 2;
                try (NDArray bits = HostUpload.create(manager, checkpoint.readRowsRaw(name, start, end), new Shape(dims),
                        DataType.UINT8)) {
                    return widenBf16(bits);
                }
            }
            NDArray fp32 = HostUpload.create(manager, checkpoint.readRowsAsFloat(name, start, end), shape, DataType.FLOAT32);
            if (dtype == DataType.FLOAT32) {
                return fp32;
            }
            NDArray cast = fp32.toType(dtype, false);
            fp32.close();
            return cast;
        }

        /** Rows as bf16 bytes: a bf16 checkpoint's own, or an f32/f16 one's rounded on the device. */
        private NDArray bf16Bits(String name, TensorDType stored, long start, long end, Shape shape) {
            if (stored == TensorDType.BF16) {
                long[] dims = shape.getShape();
                dims[dims.length - 1] *= 2;
                return HostUpload.create(manager, checkpoint.readRowsRaw(name, start, end), new Shape(dims), DataType.UINT8);
            }
            if (views == null) {
                views = new RawViews(manager);
            }
            try (NDArray wide = HostUpload.create(manager, checkpoint.readRowsAsFloat(name, start, end), shape,
                    DataType.FLOAT32)) {
                return views.toBits(wide, RawViews.BFLOAT16, manager);
            }
        }

        private NDArray widenBf16(NDArray bits) {
            if (bf16 == null) {
                bf16 = TorchScriptModule.load(LlamaWeights.class, "bf16_weights.torchscript", "Bf16Weights", manager);
            }
            try (IValue in = IValue.from((PtNDArray) bits); IValue to = IValue.from((long) (dtype == DataType.FLOAT16 ? 5 : 6));
                    IValue out = bf16.call("widen", in, to)) {
                return out.toTensor((PtNDManager) manager);
            }
        }

        @Override
        public void close() {
            if (bf16 != null) {
                bf16.close();
            }
            if (views != null) {
                views.close();
            }
        }

        /** [out_a + out_b + ..., in] stacked, returned as the [in, out] view used by x.matMul(w). */
        NDArray fusedTransposed(String... names) {
            NDArray stacked;
            if (names.length == 1) {
                stacked = tensor(names[0]);
            } else {
                NDList parts = new NDList();
                for (String name : names) {
                    parts.add(tensor(name));
                }
                stacked = NDArrays.concat(parts, 0);
                parts.close();
            }
            NDArray view = stacked.transpose();
            stacked.close();   // the transposed view keeps the storage alive
            return view;
        }
    }

    /** Whether {@link #hostViews} can address every tensor: a direct buffer spans at most 2 GiB. */
    boolean hostAddressable() {
        List<NDArray> all = new ArrayList<>(List.of(embedTokens, finalNorm, lmHead));
        for (Layer layer : layers) {
            all.addAll(List.of(layer.qkv(), layer.o(), layer.gateUp(), layer.down()));
        }
        return all.stream().allMatch(w -> w.getShape().size() * w.getDataType().getNumOfBytes() <= Integer.MAX_VALUE);
    }

    /**
     * Float32 weights in host memory as the Java decode kernels read them, in place: every matrix in its stored
     * [out, in] layout (the transposed views turned back), norms copied. The buffers live as long as these weights.
     */
    VectorDecoder.Weights hostViews() {
        List<VectorDecoder.Layer> views = new ArrayList<>();
        for (Layer layer : layers) {
            views.add(new VectorDecoder.Layer(layer.inputNorm().toFloatArray(), stored(layer.qkv()), stored(layer.o()),
                    layer.postNorm().toFloatArray(), stored(layer.gateUp()), stored(layer.down())));
        }
        return new VectorDecoder.Weights(buffer(embedTokens), List.copyOf(views), finalNorm.toFloatArray(),
                stored(lmHead));
    }

    /** The [out, in] storage under an [in, out] view. */
    private static ByteBuffer stored(NDArray inOut) {
        try (NDArray outIn = inOut.transpose()) {
            return buffer(outIn);
        }
    }

    /** A direct buffer over a contiguous CPU tensor's own memory (no copy). */
    private static ByteBuffer buffer(NDArray contiguous) {
        if (contiguous.getDataType() != DataType.FLOAT32 || contiguous.getDevice().isGpu()) {
            throw new IllegalStateException("host views need float32 weights in host memory, not "
                    + contiguous.getDataType() + " on " + contiguous.getDevice());
        }
        return JniUtils.getByteBuffer((PtNDArray) contiguous, true).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void close() {
        manager.close();
    }
}
