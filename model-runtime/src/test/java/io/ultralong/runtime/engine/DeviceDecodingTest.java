package io.ultralong.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;

import io.ultralong.runtime.generate.GenerationParams;
import io.ultralong.runtime.generate.GenerationResult;
import io.ultralong.runtime.generate.Sampler;
import io.ultralong.runtime.generate.TokenListener;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decoding with fused attention keeps the logits on the device and samples there: the same tokens as the host
 * {@link Sampler} on the same logits and seed (greedy always; seeded draws take the host sampler's stream), the
 * same generations as the blockwise path, and no native array or manager left behind by 1,000 decode steps and
 * 100 block exports, whether the steps run through TorchScript or on the Java kernels.
 */
class DeviceDecodingTest {

    private static final int BLOCK = 16;

    @TempDir
    static Path dir;
    static LlamaRuntime fused;
    static LlamaRuntime fusedTorchScript;
    static LlamaRuntime blockwise;
    static int vocab;

    @BeforeAll
    static void load() {
        SyntheticModelSpec spec = SyntheticModelSpec.tiny();
        vocab = spec.vocabSize();
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, spec));
        RuntimeOptions options = new RuntimeOptions("cpu", 64, BLOCK, 64);
        fused = LlamaRuntime.load(model, options);
        fusedTorchScript = DecodePaths.torchScript(model, options);
        blockwise = LlamaRuntime.load(model, options.withFusedAttention(false));
    }

    @AfterAll
    static void close() {
        fused.close();
        fusedTorchScript.close();
        blockwise.close();
    }

    @Test
    void deviceSamplerDrawsWhatTheHostSamplerDraws() {
        SplittableRandom random = new SplittableRandom(11);
        double[][] settings = {{0, 1, 0}, {1, 1, 1}, {0.7, 1, 0}, {1.3, 0.9, 0}, {0.8, 1, 40}, {1, 0.5, 20}, {2, 0.95, 0}};
        for (double[] setting : settings) {
            Sampler host = new Sampler(setting[0], setting[1], (int) setting[2], 99);
            Sampler device = new Sampler(setting[0], setting[1], (int) setting[2], 99);
            for (int draw = 0; draw < 60; draw++) {
                float[] logits = new float[vocab];
                for (int i = 0; i < vocab; i++) {
                    logits[i] = (float) (random.nextGaussian() * 3);
                }
                assertThat(fused.sampleOnDevice(logits, device)).as("T=%s p=%s k=%s draw %d", setting[0], setting[1],
                        setting[2], draw).isEqualTo(host.sample(logits));
            }
        }
    }

    @Test
    void greedyTiesGoToTheLowestIdOnTheDeviceToo() {
        float[] logits = new float[vocab];
        logits[17] = 5;
        logits[300] = 5;
        assertThat(fused.sampleOnDevice(logits, new Sampler(0, 1, 0, 1))).isEqualTo(17).isEqualTo(Sampler.argmax(logits));
    }

    @Test
    void fusedGenerationGivesTheBlockwiseTokens() {
        int[] prompt = LogitsAssert.tokens(90, vocab, 3);
        for (GenerationParams params : new GenerationParams[] {
                new GenerationParams(40, 0, 1, 0, 0, Set.of()),
                new GenerationParams(40, 0.9, 0.95, 50, 1234, Set.of())}) {
            int[] expected = generate(blockwise, prompt, params).tokens();
            assertThat(generate(fused, prompt, params).tokens()).as("%s", params).containsExactly(expected);
            assertThat(generate(fusedTorchScript, prompt, params).tokens()).as("%s", params).containsExactly(expected);
        }
    }

    private static GenerationResult generate(LlamaRuntime runtime, int[] prompt, GenerationParams params) {
        try (KvCache cache = runtime.newCache()) {
            float[] logits = runtime.prefill(cache, prompt, PrefillListener.NONE);
            return runtime.generate(cache, logits, params, TokenListener.NONE);
        }
    }

    @Test
    void thousandDecodeStepsAndHundredBlockExportsLeaveNoNativeResourceBehind() {
        assertThat(fused.cpuDecodeThreads()).isPositive();
        assertThat(fusedTorchScript.cpuDecodeThreads()).isZero();
        leavesNoNativeResourceBehind(fused);
        leavesNoNativeResourceBehind(fusedTorchScript);
    }

    private static void leavesNoNativeResourceBehind(LlamaRuntime runtime) {
        int[] prompt = LogitsAssert.tokens(40, vocab, 8);
        Sampler greedy = new Sampler(0, 1, 0, 0);
        try (KvCache warm = runtime.newCache()) {   // first calls create what lives as long as the runtime
            runtime.prefill(warm, prompt, PrefillListener.NONE);
            runtime.decodeStep(warm, 1, greedy);
        }
        int before = runtime.liveArrayCount();
        int blocksBefore = runtime.kvBlocksInUse();
        try (KvCache cache = runtime.newCache()) {
            runtime.prefill(cache, prompt, PrefillListener.NONE);
            int token = 1;
            for (int step = 0; step < 1000; step++) {
                token = runtime.decodeStep(cache, token, greedy);
            }
            assertThat(cache.length()).isEqualTo(prompt.length + 1000);
            byte[] first = null;
            for (int export = 0; export < 100; export++) {
                byte[] block = runtime.exportBlock(cache, export % cache.fullBlocks());
                if (export == 0) {
                    first = block;
                }
            }
            assertThat(runtime.exportBlock(cache, 0)).isEqualTo(first);
            // arena slabs are the only growth allowed while the cache lives; none once it is closed
        }
        assertThat(runtime.liveArrayCount()).isEqualTo(before);
        assertThat(runtime.kvBlocksInUse()).isEqualTo(blocksBefore);
    }
}
