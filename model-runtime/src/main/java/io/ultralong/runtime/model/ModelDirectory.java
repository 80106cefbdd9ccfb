package io.ultralong.runtime.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.ultralong.runtime.tokenizer.ModelTokenizer;
import io.ultralong.runtime.tokenizer.TokenizerConfig;

/**
 * A model on disk: plain HF directory or HF hub cache (models--org--name, resolved through refs/main to
 * snapshots/<rev> by {@link ModelResolver}, which also turns hub ids into directories).
 */
public final class ModelDirectory {

    private final Path root;
    private final LlamaConfig config;

    private ModelDirectory(Path root, LlamaConfig config) {
        this.root = root;
        this.config = config;
    }

    public static ModelDirectory resolve(Path pathOrHubCacheDir) {
        Path root = resolveRoot(pathOrHubCacheDir);
        return new ModelDirectory(root, LlamaConfig.read(root.resolve("config.json")));
    }

    static Path resolveRoot(Path p) {
        if (!Files.isDirectory(p)) {
            throw new IllegalArgumentException("Model directory does not exist: " + p);
        }
        return Files.isRegularFile(p.resolve("config.json")) ? p : ModelResolver.snapshotOf(p);
    }

    public Path root() {
        return root;
    }

    public LlamaConfig config() {
        return config;
    }

    public GenerationConfig generationConfig() {
        return GenerationConfig.read(root.resolve("generation_config.json"), config.eosTokenIds());
    }

    /** tokenizer_config.json ({@link TokenizerConfig#ABSENT} when the model has none). */
    public TokenizerConfig tokenizerConfig() {
        return TokenizerConfig.read(root.resolve("tokenizer_config.json"));
    }

    /**
     * The ids that end a sequence: generation_config.json's eos ids (config.json's when that file is absent)
     * together with tokenizer_config.json's eos_token, in ascending order.
     */
    public List<Integer> eosTokenIds(ModelTokenizer tokenizer) {
        java.util.TreeSet<Integer> ids = new java.util.TreeSet<>(generationConfig().eosTokenIds());
        tokenizer.eosTokenId().ifPresent(ids::add);
        return List.copyOf(ids);
    }

    /** The expected HF tensor names and shapes for this config. */
    public Map<String, long[]> expectedTensors() {
        return expectedTensors(config);
    }

    static Map<String, long[]> expectedTensors(LlamaConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        long h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        m.put("model.embed_tokens.weight", new long[] {c.vocabSize(), h});
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            m.put(p + "input_layernorm.weight", new long[] {h});
            m.put(p + "self_attn.q_proj.weight", new long[] {q, h});
            m.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            m.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            m.put(p + "self_attn.o_proj.weight", new long[] {h, q});
            m.put(p + "post_attention_layernorm.weight", new long[] {h});
            m.put(p + "mlp.gate_proj.weight", new long[] {c.intermediateSize(), h});
            m.put(p + "mlp.up_proj.weight", new long[] {c.intermediateSize(), h});
            m.put(p + "mlp.down_proj.weight", new long[] {h, c.intermediateSize()});
        }
        m.put("model.norm.weight", new long[] {h});
        if (!c.tieWordEmbeddings()) {
            m.put("lm_head.weight", new long[] {c.vocabSize(), h});
        }
        return m;
    }

    /** Opens the weights and checks every expected tensor name and shape against the config. */
    public SafetensorsCheckpoint openWeights() {
        ModelLicence.announce(root);
        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(root);
        try {
            List<String> problems = new ArrayList<>();
            for (Map.Entry<String, long[]> e : expectedTensors().entrySet()) {
                if (!ckpt.tensorNames().contains(e.getKey())) {
                    problems.add("missing tensor " + e.getKey());
                } else if (!Arrays.equals(ckpt.info(e.getKey()).shape(), e.getValue())) {
                    problems.add("shape mismatch for " + e.getKey() + ": checkpoint "
                            + Arrays.toString(ckpt.info(e.getKey()).shape()) + ", config expects "
                            + Arrays.toString(e.getValue()));
                }
            }
            if (!problems.isEmpty()) {
                throw new IllegalArgumentException("Checkpoint in " + root + " does not match config.json: "
                        + String.join("; ", problems.subList(0, Math.min(5, problems.size())))
                        + (problems.size() > 5 ? " (+" + (problems.size() - 5) + " more)" : ""));
            }
            return ckpt;
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    /** The licence the model card (README.md) or config.json states. */
    public Optional<ModelLicence> licence() {
        return ModelLicence.read(root);
    }

    public ModelTokenizer openTokenizer() {
        return ModelTokenizer.load(root);
    }
}
