package io.ultralong.runtime.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ultralong.runtime.model.LlamaConfig;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.SafetensorsCheckpoint;
import io.ultralong.runtime.rope.DefaultRope;
import io.ultralong.runtime.rope.RopeScaling;
import io.ultralong.runtime.rope.YarnRope;

/**
 * Converts a HF Llama directory (config.json, tokenizer.json, safetensors) into a GGUF v3 file with f32 weights, so
 * llama.cpp runs the very weights this runtime runs: the same job as llama.cpp's {@code convert_hf_to_gguf.py}
 * for the subset our synthetic models use (LlamaForCausalLM, default or YaRN RoPE, byte-level BPE tokenizer).
 *
 * <p>Lives with the benchmarks, not in the runtime: nothing in the product reads or writes GGUF; it exists so the
 * llama.cpp comparison ({@code scripts/bench-llamacpp.sh}) measures the same model.
 *
 * <p>Format: GGUF v3 as specified in ggml's {@code docs/gguf.md}: magic, version, tensor count, key/value count,
 * the key/value pairs, the tensor infos (dimensions innermost first, type, offset), then the tensor data, each
 * tensor aligned to {@code general.alignment} bytes. All numbers little-endian.
 */
public final class GgufWriter {

    static final int VERSION = 3;
    static final int ALIGNMENT = 32;
    /** ggml_type GGML_TYPE_F32. */
    static final int GGML_F32 = 0;
    /** llama_ftype LLAMA_FTYPE_ALL_F32. */
    static final int FILE_TYPE_ALL_F32 = 0;
    /** llama.cpp's token types (llama_token_type). */
    static final int TOKEN_NORMAL = 1;
    static final int TOKEN_CONTROL = 3;
    static final int TOKEN_UNUSED = 5;

    /** gguf_type codes. */
    enum ValueType {
        UINT8(0), INT8(1), UINT16(2), INT16(3), UINT32(4), INT32(5), FLOAT32(6), BOOL(7), STRING(8), ARRAY(9),
        UINT64(10), INT64(11), FLOAT64(12);

        final int code;

        ValueType(int code) {
            this.code = code;
        }

        static ValueType of(int code) {
            for (ValueType t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            throw new IllegalArgumentException("Unknown GGUF value type " + code);
        }
    }

    /** One metadata entry; arrays carry their element type. */
    private record Entry(String key, ValueType type, ValueType elementType, Object value) { }

    /** A GGUF tensor taken from one HF tensor; {@code ropeHeads} > 0 means rows are re-ordered for llama.cpp's RoPE. */
    private record Tensor(String ggufName, String hfName, long[] hfShape, int ropeHeads) {
        long elements() {
            long n = 1;
            for (long d : hfShape) {
                n *= d;
            }
            return n;
        }
    }

    private GgufWriter() {
    }

    /** Writes {@code out} from the model in {@code modelDir}; returns {@code out}. */
    public static Path convert(Path modelDir, Path out) {
        ModelDirectory model = ModelDirectory.resolve(modelDir);
        LlamaConfig c = model.config();
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(model.root())) {
            List<Entry> metadata = new ArrayList<>();
            metadata.addAll(modelMetadata(c));
            metadata.addAll(tokenizerMetadata(model.root().resolve("tokenizer.json"), c));
            List<Tensor> tensors = tensors(c, checkpoint);
            write(out, metadata, tensors, checkpoint);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write GGUF " + out, e);
        }
    }

    /** The llama.* keys llama.cpp's loader reads (names as in its llama-arch.cpp LLM_KV_NAMES). */
    private static List<Entry> modelMetadata(LlamaConfig c) {
        List<Entry> m = new ArrayList<>();
        m.add(string("general.architecture", "llama"));
        m.add(string("general.name", "ultralong-synthetic"));
        m.add(u32("general.alignment", ALIGNMENT));
        m.add(u32("general.file_type", FILE_TYPE_ALL_F32));
        m.add(u32("llama.vocab_size", c.vocabSize()));
        m.add(u32("llama.context_length", c.maxPositionEmbeddings()));
        m.add(u32("llama.embedding_length", c.hiddenSize()));
        m.add(u32("llama.block_count", c.numHiddenLayers()));
        m.add(u32("llama.feed_forward_length", c.intermediateSize()));
        m.add(u32("llama.attention.head_count", c.numAttentionHeads()));
        m.add(u32("llama.attention.head_count_kv", c.numKeyValueHeads()));
        m.add(u32("llama.attention.key_length", c.headDim()));
        m.add(u32("llama.attention.value_length", c.headDim()));
        m.add(u32("llama.rope.dimension_count", c.headDim()));
        m.add(f32("llama.rope.freq_base", c.ropeTheta()));
        m.add(f32("llama.attention.layer_norm_rms_epsilon", c.rmsNormEps()));
        RopeScaling rope = c.ropeScaling();
        if (rope instanceof YarnRope yarn) {
            // llama.cpp derives YaRN's attention factor as 0.1*ln(factor)+1 (ggml's rope_yarn), as HF does when
            // attention_factor is absent; an explicit one (or mscale) would be silently different there
            if (yarn.attentionFactorOrNull() != null || yarn.mscale() != null || yarn.mscaleAllDim() != null
                    || !yarn.truncate()) {
                throw new IllegalArgumentException("YaRN with attention_factor, mscale or truncate=false is not "
                        + "converted: llama.cpp's llama architecture would compute other frequencies");
            }
            m.add(string("llama.rope.scaling.type", "yarn"));
            m.add(f32("llama.rope.scaling.factor", yarn.factor()));
            m.add(u32("llama.rope.scaling.original_context_length", yarn.originalMaxPositionEmbeddings()));
            // The keys llama.cpp names for YaRN's betas. Its llama architecture does not read them (measured with
            // node-llama-cpp 3.22.1: logits match the runtime's only with beta_fast/slow 32/1, llama.cpp's and HF's
            // defaults); llama.cpp users pass --yarn-beta-fast 4 for UltraLong. Written for loaders that read them.
            m.add(f32("llama.rope.scaling.yarn_beta_fast", yarn.betaFast()));
            m.add(f32("llama.rope.scaling.yarn_beta_slow", yarn.betaSlow()));
        } else if (!(rope instanceof DefaultRope)) {
            // llama3 scaling needs a rope_freqs tensor; no benchmark model uses it
            throw new IllegalArgumentException("rope_scaling " + rope + " is not converted (default and yarn only)");
        }
        return m;
    }

    /**
     * tokenizer.ggml.* for a byte-level BPE (llama.cpp's "gpt2" model with the Llama 3 pre-tokenizer "llama-bpe"):
     * every id's token text as tokenizer.json holds it, the merges in rank order, and the special tokens as control
     * tokens. Ids the tokenizer does not name (none in our synthetic vocabularies) become unused padding tokens.
     */
    private static List<Entry> tokenizerMetadata(Path tokenizerJson, LlamaConfig c) throws IOException {
        JsonNode root = new ObjectMapper().readTree(tokenizerJson.toFile());
        JsonNode bpe = root.path("model");
        if (!"BPE".equals(bpe.path("type").asText())) {
            throw new IllegalArgumentException(tokenizerJson + " is not a BPE tokenizer");
        }
        String[] tokens = new String[c.vocabSize()];
        int[] types = new int[c.vocabSize()];
        Map<String, Integer> ordered = new TreeMap<>();
        bpe.path("vocab").fields().forEachRemaining(e -> ordered.put(e.getKey(), e.getValue().asInt()));
        ordered.forEach((text, id) -> put(tokens, types, id, text, TOKEN_NORMAL, tokenizerJson));
        for (JsonNode added : root.path("added_tokens")) {
            put(tokens, types, added.path("id").asInt(), added.path("content").asText(),
                    added.path("special").asBoolean() ? TOKEN_CONTROL : TOKEN_NORMAL, tokenizerJson);
        }
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] == null) {
                tokens[id] = "[PAD" + id + "]";
                types[id] = TOKEN_UNUSED;
            }
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode merge : bpe.path("merges")) {
            // tokenizers writes "a b" (older files) or ["a", "b"] (newer ones)
            merges.add(merge.isArray() ? merge.get(0).asText() + " " + merge.get(1).asText() : merge.asText());
        }
        List<Entry> m = new ArrayList<>();
        m.add(string("tokenizer.ggml.model", "gpt2"));
        m.add(string("tokenizer.ggml.pre", "llama-bpe"));
        m.add(new Entry("tokenizer.ggml.tokens", ValueType.ARRAY, ValueType.STRING, List.of(tokens)));
        m.add(new Entry("tokenizer.ggml.token_type", ValueType.ARRAY, ValueType.INT32, types));
        m.add(new Entry("tokenizer.ggml.merges", ValueType.ARRAY, ValueType.STRING, merges));
        if (c.bosTokenId() >= 0) {
            m.add(u32("tokenizer.ggml.bos_token_id", c.bosTokenId()));
        }
        if (!c.eosTokenIds().isEmpty()) {
            m.add(u32("tokenizer.ggml.eos_token_id", c.eosTokenIds().get(0)));
        }
        // the benchmark feeds token ids; nothing should be prepended behind its back
        m.add(new Entry("tokenizer.ggml.add_bos_token", ValueType.BOOL, null, Boolean.FALSE));
        return m;
    }

    private static void put(String[] tokens, int[] types, int id, String text, int type, Path file) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException(file + ": token id " + id + " outside vocab_size " + tokens.length);
        }
        tokens[id] = text;
        types[id] = type;
    }

    /** llama.cpp's tensor names (llama-arch.cpp LLM_TENSOR_NAMES for LLM_ARCH_LLAMA), in HF order. */
    private static List<Tensor> tensors(LlamaConfig c, SafetensorsCheckpoint checkpoint) {
        List<Tensor> t = new ArrayList<>();
        t.add(tensor(checkpoint, "token_embd.weight", "model.embed_tokens.weight", 0));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String hf = "model.layers." + i + ".";
            String gg = "blk." + i + ".";
            t.add(tensor(checkpoint, gg + "attn_norm.weight", hf + "input_layernorm.weight", 0));
            t.add(tensor(checkpoint, gg + "attn_q.weight", hf + "self_attn.q_proj.weight", c.numAttentionHeads()));
            t.add(tensor(checkpoint, gg + "attn_k.weight", hf + "self_attn.k_proj.weight", c.numKeyValueHeads()));
            t.add(tensor(checkpoint, gg + "attn_v.weight", hf + "self_attn.v_proj.weight", 0));
            t.add(tensor(checkpoint, gg + "attn_output.weight", hf + "self_attn.o_proj.weight", 0));
            t.add(tensor(checkpoint, gg + "ffn_norm.weight", hf + "post_attention_layernorm.weight", 0));
            t.add(tensor(checkpoint, gg + "ffn_gate.weight", hf + "mlp.gate_proj.weight", 0));
            t.add(tensor(checkpoint, gg + "ffn_up.weight", hf + "mlp.up_proj.weight", 0));
            t.add(tensor(checkpoint, gg + "ffn_down.weight", hf + "mlp.down_proj.weight", 0));
        }
        t.add(tensor(checkpoint, "output_norm.weight", "model.norm.weight", 0));
        // llama.cpp falls back to token_embd when output.weight is absent, as tie_word_embeddings means
        if (!c.tieWordEmbeddings()) {
            t.add(tensor(checkpoint, "output.weight", "lm_head.weight", 0));
        }
        return t;
    }

    private static Tensor tensor(SafetensorsCheckpoint checkpoint, String ggufName, String hfName, int ropeHeads) {
        return new Tensor(ggufName, hfName, checkpoint.info(hfName).shape(), ropeHeads);
    }

    /**
     * HF keeps each head's rotary pairs as (j, j + headDim/2) ("rotate_half"); llama.cpp's llama architecture rotates
     * adjacent pairs (2j, 2j+1). Re-ordering the output rows of q_proj and k_proj per head, row 2j+h taking HF row
     * h*headDim/2 + j, gives the same attention scores under llama.cpp's rotation: the permutation that
     * {@code convert_hf_to_gguf.py} applies (and that HF's own Meta-to-HF script undoes).
     */
    static int hfRowForGgufRow(int ggufRow, int headDim) {
        int head = ggufRow / headDim;
        int r = ggufRow % headDim;
        return head * headDim + (r % 2) * (headDim / 2) + r / 2;
    }

    private static void write(Path out, List<Entry> metadata, List<Tensor> tensors, SafetensorsCheckpoint checkpoint)
            throws IOException {
        Files.createDirectories(out.toAbsolutePath().getParent());
        try (OutputStream stream = new BufferedOutputStream(Files.newOutputStream(out), 1 << 20)) {
            LittleEndian le = new LittleEndian(stream);
            le.bytes("GGUF".getBytes(StandardCharsets.US_ASCII));
            le.u32(VERSION);
            le.u64(tensors.size());
            le.u64(metadata.size());
            for (Entry e : metadata) {
                le.string(e.key());
                le.u32(e.type().code);
                if (e.type() == ValueType.ARRAY) {
                    le.u32(e.elementType().code);
                    if (e.value() instanceof int[] ints) {
                        le.u64(ints.length);
                        for (int v : ints) {
                            le.u32(v);
                        }
                    } else {
                        List<?> items = (List<?>) e.value();
                        le.u64(items.size());
                        for (Object item : items) {
                            le.string((String) item);
                        }
                    }
                } else {
                    le.scalar(e.type(), e.value());
                }
            }
            long offset = 0;
            for (Tensor t : tensors) {
                le.string(t.ggufName());
                le.u32(t.hfShape().length);
                for (int d = t.hfShape().length - 1; d >= 0; d--) {
                    le.u64(t.hfShape()[d]);   // ggml's ne[0] is the innermost (HF's last) dimension
                }
                le.u32(GGML_F32);
                le.u64(offset);
                offset = align(offset + t.elements() * Float.BYTES);
            }
            le.pad();
            long dataStart = le.written;
            for (Tensor t : tensors) {
                float[] values = checkpoint.readAsFloatArray(t.hfName());
                if (t.ropeHeads() > 0) {
                    values = permuteRows(values, t.hfShape(), (int) (t.hfShape()[0] / t.ropeHeads()));
                }
                ByteBuffer buffer = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                buffer.asFloatBuffer().put(values);
                le.bytes(buffer.array());
                le.pad();
            }
            if (le.written - dataStart != offset) {
                throw new IllegalStateException("GGUF data section is " + (le.written - dataStart) + " bytes, expected " + offset);
            }
        }
    }

    private static float[] permuteRows(float[] hf, long[] shape, int headDim) {
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        float[] out = new float[hf.length];
        for (int row = 0; row < rows; row++) {
            System.arraycopy(hf, hfRowForGgufRow(row, headDim) * cols, out, row * cols, cols);
        }
        return out;
    }

    static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static Entry string(String key, String value) {
        return new Entry(key, ValueType.STRING, null, value);
    }

    private static Entry u32(String key, long value) {
        return new Entry(key, ValueType.UINT32, null, value);
    }

    private static Entry f32(String key, double value) {
        return new Entry(key, ValueType.FLOAT32, null, (float) value);
    }

    /** Little-endian writes with a running count, for offsets and alignment padding. */
    private static final class LittleEndian {
        private final OutputStream out;
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        long written;

        LittleEndian(OutputStream out) {
            this.out = out;
        }

        void bytes(byte[] b) throws IOException {
            out.write(b);
            written += b.length;
        }

        void u32(long v) throws IOException {
            scratch.clear();
            scratch.putInt((int) v);
            bytes(java.util.Arrays.copyOf(scratch.array(), 4));
        }

        void u64(long v) throws IOException {
            scratch.clear();
            scratch.putLong(v);
            bytes(java.util.Arrays.copyOf(scratch.array(), 8));
        }

        void string(String s) throws IOException {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            bytes(utf8);
        }

        void scalar(ValueType type, Object value) throws IOException {
            switch (type) {
                case STRING -> string((String) value);
                case UINT32 -> u32((Long) value);
                case FLOAT32 -> u32(Float.floatToRawIntBits((Float) value));
                case BOOL -> bytes(new byte[] {(byte) (((Boolean) value) ? 1 : 0)});
                default -> throw new IllegalArgumentException("No writer for " + type);
            }
        }

        void pad() throws IOException {
            bytes(new byte[(int) (align(written) - written)]);
        }
    }
}
