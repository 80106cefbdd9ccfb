package io.ultralong.runtime.synthetic;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ultralong.runtime.model.TensorDType;

/**
 * Writes config.json (yarn rope_scaling with beta_fast 4 / beta_slow 1 as UltraLong), generation_config.json,
 * tokenizer.json, tokenizer_config.json and safetensors (sharded with an index when shards > 1),
 * deterministic in the seed. Weights are scaled by 1/sqrt(fan_in) so activations and logits stay O(1).
 */
public final class SyntheticModelWriter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SyntheticModelWriter() {
    }

    public static Path write(Path dir, SyntheticModelSpec spec) {
        try {
            Files.createDirectories(dir);
            writeConfig(dir, spec);
            ByteLevelBpeTokenizerWriter.write(dir, spec.vocabSize());
            writeWeights(dir, spec);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write synthetic model to " + dir, e);
        }
    }

    private static void writeConfig(Path dir, SyntheticModelSpec s) throws IOException {
        int bos = s.vocabSize() - 10;   // <|begin_of_text|> sits at the end of the vocabulary
        int eot = s.vocabSize() - 1;    // <|eot_id|>
        int eos = s.vocabSize() - 9;    // <|end_of_text|>
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("hidden_size", s.hiddenSize());
        c.put("intermediate_size", s.intermediateSize());
        c.put("num_hidden_layers", s.layers());
        c.put("num_attention_heads", s.heads());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("head_dim", s.headDim());
        c.put("vocab_size", s.vocabSize());
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.put("max_position_embeddings", s.maxPositions());
        c.put("tie_word_embeddings", s.tieWordEmbeddings());
        c.put("torch_dtype", switch (s.dtype()) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
        });
        c.put("hidden_act", "silu");
        c.put("attention_bias", false);
        c.put("mlp_bias", false);
        c.put("bos_token_id", bos);
        c.putArray("eos_token_id").add(eos).add(eot);
        ObjectNode rope = c.putObject("rope_scaling");
        rope.put("rope_type", "yarn");
        rope.put("factor", s.yarnFactor());
        rope.put("original_max_position_embeddings", s.originalMaxPositions());
        rope.put("beta_fast", 4);
        rope.put("beta_slow", 1);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), c);

        ObjectNode g = JSON.createObjectNode();
        g.put("bos_token_id", bos);
        g.putArray("eos_token_id").add(eos).add(eot);
        g.put("temperature", 0.6);
        g.put("top_p", 0.9);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("generation_config.json").toFile(), g);

        ObjectNode t = JSON.createObjectNode();
        t.put("bos_token", "<|begin_of_text|>");
        t.put("eos_token", "<|eot_id|>");
        t.put("model_max_length", s.maxPositions());
        t.put("tokenizer_class", "PreTrainedTokenizerFast");
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), t);
    }

    private record Tensor(String name, long[] shape, float[] values) { }

    /** What a tensor holds: gaussian values of standard deviation {@code std}, or RMSNorm gains near 1 when std is 0. */
    private record Planned(String name, long[] shape, double std) {
        long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private static List<Planned> plan(SyntheticModelSpec s) {
        long h = s.hiddenSize();
        long q = (long) s.heads() * s.headDim();
        long kv = (long) s.kvHeads() * s.headDim();
        long inter = s.intermediateSize();
        List<Planned> list = new ArrayList<>();
        // embeddings of unit-ish scale so the first RMSNorm sees non-degenerate input
        list.add(new Planned("model.embed_tokens.weight", new long[] {s.vocabSize(), h}, 1.0));
        for (int i = 0; i < s.layers(); i++) {
            String p = "model.layers." + i + ".";
            list.add(new Planned(p + "input_layernorm.weight", new long[] {h}, 0));
            // q and k a little larger than 1/sqrt(h) so attention is not uniform
            list.add(new Planned(p + "self_attn.q_proj.weight", new long[] {q, h}, 2.0 / Math.sqrt(h)));
            list.add(new Planned(p + "self_attn.k_proj.weight", new long[] {kv, h}, 2.0 / Math.sqrt(h)));
            list.add(new Planned(p + "self_attn.v_proj.weight", new long[] {kv, h}, 1.0 / Math.sqrt(h)));
            list.add(new Planned(p + "self_attn.o_proj.weight", new long[] {h, q}, 1.0 / Math.sqrt(q)));
            list.add(new Planned(p + "post_attention_layernorm.weight", new long[] {h}, 0));
            list.add(new Planned(p + "mlp.gate_proj.weight", new long[] {inter, h}, 1.0 / Math.sqrt(h)));
            list.add(new Planned(p + "mlp.up_proj.weight", new long[] {inter, h}, 1.0 / Math.sqrt(h)));
            list.add(new Planned(p + "mlp.down_proj.weight", new long[] {h, inter}, 1.0 / Math.sqrt(inter)));
        }
        list.add(new Planned("model.norm.weight", new long[] {h}, 0));
        if (!s.tieWordEmbeddings()) {   // tied: LlamaForCausalLM uses embed_tokens as lm_head, HF saves no copy
            list.add(new Planned("lm_head.weight", new long[] {s.vocabSize(), h}, 1.0 / Math.sqrt(h)));
        }
        return list;
    }

    private static List<Tensor> tensors(SyntheticModelSpec s) {
        SplittableRandom rnd = new SplittableRandom(s.seed());
        List<Tensor> list = new ArrayList<>();
        for (Planned p : plan(s)) {
            int n = Math.toIntExact(p.elements());
            list.add(new Tensor(p.name(), p.shape(), p.std() == 0 ? norm(rnd, n) : gaussian(rnd, n, p.std())));
        }
        return list;
    }

    /**
     * Writes only {@code model.safetensors}, for models too large to hold in memory as {@link #write} does (an
     * UltraLong-8B-shaped one: 8.0B parameters, 16 GB in bf16), in seconds rather than minutes: every tensor is
     * generated in 1M-value slices on all cores, each slice from its own seeded stream (deterministic in the seed),
     * straight into the file. Values are uniform with the standard deviation {@link #write}'s gaussians have (what
     * benchmarks need is the shapes and O(1) activations, not the distribution).
     */
    public static Path writeWeightsStreaming(Path dir, SyntheticModelSpec spec) {
        List<Planned> plan = plan(spec);
        Path file = dir.resolve("model.safetensors");
        try {
            Files.createDirectories(dir);
            ObjectNode header = JSON.createObjectNode();
            header.putObject("__metadata__").put("format", "pt");
            long offset = 0;
            long[] starts = new long[plan.size()];
            for (int t = 0; t < plan.size(); t++) {
                Planned p = plan.get(t);
                ObjectNode n = header.putObject(p.name());
                n.put("dtype", spec.dtype().name());
                ArrayNode shape = n.putArray("shape");
                for (long d : p.shape()) {
                    shape.add(d);
                }
                starts[t] = offset;
                offset += p.elements() * spec.dtype().bytes();
                n.putArray("data_offsets").add(starts[t]).add(offset);
            }
            byte[] headerBytes = paddedHeader(JSON.writeValueAsBytes(header));
            long dataStart = 8L + headerBytes.length;
            try (java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(file,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ByteBuffer prefix = ByteBuffer.allocate((int) dataStart).order(ByteOrder.LITTLE_ENDIAN);
                prefix.putLong(headerBytes.length).put(headerBytes).flip();
                writeFully(out, prefix, 0);
                int slice = 1 << 20;
                for (int t = 0; t < plan.size(); t++) {
                    Planned p = plan.get(t);
                    long base = dataStart + starts[t];
                    long tensorSeed = spec.seed() * 1_000_003L + t;
                    int slices = (int) ((p.elements() + slice - 1) / slice);
                    java.util.stream.IntStream.range(0, slices).parallel().forEach(k -> {
                        int n = (int) Math.min(slice, p.elements() - (long) k * slice);
                        SplittableRandom rnd = new SplittableRandom(tensorSeed * 0x9E3779B97F4A7C15L + k);
                        float[] values = p.std() == 0 ? norm(rnd, n) : uniform(rnd, n, p.std());
                        ByteBuffer bytes = ByteBuffer.wrap(encode(values, spec.dtype()));
                        try {
                            writeFully(out, bytes, base + (long) k * slice * spec.dtype().bytes());
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                }
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + file, e);
        }
    }

    private static void writeFully(java.nio.channels.FileChannel out, ByteBuffer bytes, long position) throws IOException {
        while (bytes.hasRemaining()) {
            position += out.write(bytes, position);
        }
    }

    /** Uniform on [-std*sqrt(3), std*sqrt(3)]: standard deviation std. */
    private static float[] uniform(SplittableRandom rnd, int n, double std) {
        double half = std * Math.sqrt(3);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (half * (2 * rnd.nextDouble() - 1));
        }
        return v;
    }

    private static float[] gaussian(SplittableRandom rnd, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller from the seeded stream: same bytes for the same seed on every JVM
            double u1 = 1.0 - rnd.nextDouble();
            double u2 = rnd.nextDouble();
            v[i] = (float) (std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return v;
    }

    private static float[] norm(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (1.0 + 0.2 * (rnd.nextDouble() - 0.5));
        }
        return v;
    }

    private static void writeWeights(Path dir, SyntheticModelSpec s) throws IOException {
        List<Tensor> all = tensors(s);
        int shards = Math.max(1, s.shards());
        if (shards == 1) {
            writeFile(dir.resolve("model.safetensors"), all, s.dtype());
            return;
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        long total = 0;
        for (int k = 0; k < shards; k++) {
            String name = String.format("model-%05d-of-%05d.safetensors", k + 1, shards);
            List<Tensor> part = new ArrayList<>();
            // contiguous slices so each shard holds whole layers, as HF's sharding does
            int from = (int) ((long) all.size() * k / shards);
            int to = (int) ((long) all.size() * (k + 1) / shards);
            for (Tensor t : all.subList(from, to)) {
                part.add(t);
                weightMap.put(t.name(), name);
                total += (long) t.values().length * s.dtype().bytes();
            }
            writeFile(dir.resolve(name), part, s.dtype());
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
    }

    /** Writes one safetensors file: 8-byte LE header length, JSON header, then the tensors back to back. */
    private static void writeFile(Path file, List<Tensor> tensors, TensorDType dtype) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Tensor t : tensors) {
            ObjectNode n = header.putObject(t.name());
            n.put("dtype", dtype.name());
            ArrayNode shape = n.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            long len = (long) t.values().length * dtype.bytes();
            n.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] padded = paddedHeader(JSON.writeValueAsBytes(header));
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length);
            out.write(len.array());
            out.write(padded);
            for (Tensor t : tensors) {
                out.write(encode(t.values(), dtype));
            }
        }
    }

    private static byte[] paddedHeader(byte[] headerBytes) {
        int pad = (8 - headerBytes.length % 8) % 8;   // keep tensor data 8-byte aligned, padding with spaces as HF does
        byte[] padded = new byte[headerBytes.length + pad];
        System.arraycopy(headerBytes, 0, padded, 0, headerBytes.length);
        for (int i = headerBytes.length; i < padded.length; i++) {
            padded[i] = ' ';
        }
        return padded;
    }

    static byte[] encode(float[] v, TensorDType dtype) {
        ByteBuffer b = ByteBuffer.allocate(v.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            switch (dtype) {
                case F32 -> b.putFloat(f);
                case BF16 -> b.putShort(toBf16(f));
                case F16 -> b.putShort(toF16(f));
            }
        }
        return b.array();
    }

    /** float32 -> bfloat16 with round-to-nearest-even, as torch's .to(torch.bfloat16). */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** float32 -> IEEE binary16, round to nearest even (values here are far from the f16 range limits). */
    public static short toF16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
        int mant = bits & 0x7FFFFF;
        if (exp >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (exp <= 0) {
            if (exp < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            int shift = 14 - exp;
            int half = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int h = (exp << 10) | (mant >>> 13);
        int rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1)) {
            h++;
        }
        return (short) (sign | h);
    }
}
