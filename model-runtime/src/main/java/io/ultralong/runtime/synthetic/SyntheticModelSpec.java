package io.ultralong.runtime.synthetic;

import io.ultralong.runtime.model.TensorDType;

/**
 * Sizes of a random Llama written in real HF layout, for tests and benchmarks. {@code headDim} is written to
 * config.json as {@code head_dim} (Llama 3.2 gives it explicitly; it need not be hiddenSize / heads), and
 * {@code tieWordEmbeddings} writes no {@code lm_head.weight}: the output projection is the embedding matrix, as
 * in Llama-3.2-1B/3B.
 */
public record SyntheticModelSpec(int hiddenSize, int intermediateSize, int layers, int heads, int kvHeads,
        int vocabSize, int originalMaxPositions, double yarnFactor, TensorDType dtype, int shards, long seed,
        int headDim, boolean tieWordEmbeddings) {

    /** headDim = hiddenSize / heads, untied embeddings (Llama 3.1 8B's shape). */
    public SyntheticModelSpec(int hiddenSize, int intermediateSize, int layers, int heads, int kvHeads,
            int vocabSize, int originalMaxPositions, double yarnFactor, TensorDType dtype, int shards, long seed) {
        this(hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize, originalMaxPositions, yarnFactor, dtype,
                shards, seed, hiddenSize / heads, false);
    }

    /** Hidden 64, inter 176, 2 layers, 4 heads, 2 kv heads, vocab 512, yarn factor 32 over original 128 (max 4096), F32, 1 shard. */
    public static SyntheticModelSpec tiny() {
        return new SyntheticModelSpec(64, 176, 2, 4, 2, 512, 128, 32.0, TensorDType.F32, 1, 42L);
    }

    public SyntheticModelSpec withDtype(TensorDType d) {
        return new SyntheticModelSpec(hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize,
                originalMaxPositions, yarnFactor, d, shards, seed, headDim, tieWordEmbeddings);
    }

    public SyntheticModelSpec withShards(int s) {
        return new SyntheticModelSpec(hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize,
                originalMaxPositions, yarnFactor, dtype, s, seed, headDim, tieWordEmbeddings);
    }

    /** Llama-3.2-1B/3B style: lm_head is the embedding matrix, and head_dim is given in config.json. */
    public SyntheticModelSpec withTiedEmbeddings(int explicitHeadDim) {
        return new SyntheticModelSpec(hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize,
                originalMaxPositions, yarnFactor, dtype, shards, seed, explicitHeadDim, true);
    }

    public int maxPositions() {
        return (int) Math.round(originalMaxPositions * yarnFactor);
    }
}
