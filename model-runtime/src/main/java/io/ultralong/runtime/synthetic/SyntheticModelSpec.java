package io.ultralong.runtime.synthetic;

import io.ultralong.runtime.model.TensorDType;

/** Sizes of a random Llama written in real HF layout, for tests and benchmarks. headDim = hiddenSize / heads. */
public record SyntheticModelSpec(int hiddenSize, int intermediateSize, int layers, int heads, int kvHeads,
        int vocabSize, int originalMaxPositions, double yarnFactor, TensorDType dtype, int shards, long seed) {

    /** Hidden 64, inter 176, 2 layers, 4 heads, 2 kv heads, vocab 512, yarn factor 32 over original 128 (max 4096), F32, 1 shard. */
    public static SyntheticModelSpec tiny() {
        return new SyntheticModelSpec(64, 176, 2, 4, 2, 512, 128, 32.0, TensorDType.F32, 1, 42L);
    }

    public SyntheticModelSpec withDtype(TensorDType d) {
        return new SyntheticModelSpec(hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize,
                originalMaxPositions, yarnFactor, d, shards, seed);
    }

    public SyntheticModelSpec withShards(int s) {
        return new SyntheticModelSpec(hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize,
                originalMaxPositions, yarnFactor, dtype, s, seed);
    }

    public int headDim() {
        return hiddenSize / heads;
    }

    public int maxPositions() {
        return (int) Math.round(originalMaxPositions * yarnFactor);
    }
}
