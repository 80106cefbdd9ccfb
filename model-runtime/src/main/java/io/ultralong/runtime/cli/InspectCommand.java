package io.ultralong.runtime.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ultralong.runtime.model.LlamaConfig;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.ModelInspection;
import io.ultralong.runtime.model.SafetensorsCheckpoint;
import io.ultralong.runtime.model.TensorInfo;
import io.ultralong.runtime.rope.DefaultRope;
import io.ultralong.runtime.rope.Llama3Rope;
import io.ultralong.runtime.rope.RopeScaling;
import io.ultralong.runtime.rope.YarnRope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Prints what the runtime makes of a model directory, without loading weights or native libraries: the parsed
 * config, the rope parameters, and the memory arithmetic. Works on a directory holding only config.json.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Prints the parsed config, rope parameters (inv_freq, attention factor) and memory figures as JSON.")
final class InspectCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "model directory or HF hub cache directory")
    Path model;

    @Option(names = "--gpu-mem-gib", paramLabel = "G", description = "GPU memory in GiB: how many tokens of fp16 KV fit after the fp16 weights")
    Double gpuMemGib;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws JsonProcessingException {
        if (gpuMemGib != null && !(gpuMemGib > 0)) {
            throw new IllegalArgumentException("--gpu-mem-gib must be positive, got " + gpuMemGib);
        }
        ModelDirectory directory = ModelDirectory.resolve(model);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = toJson(json, directory, ModelInspection.of(directory.config(), gpuMemGib));
        spec.commandLine().getOut().println(json.writeValueAsString(root));
        spec.commandLine().getOut().flush();
        return 0;
    }

    static ObjectNode toJson(ObjectMapper json, ModelDirectory directory, ModelInspection inspection) {
        LlamaConfig c = inspection.config();
        ObjectNode root = json.createObjectNode();
        root.put("model", directory.root().toString());

        ObjectNode config = root.putObject("config");
        config.put("architecture", c.architecture());
        config.put("hidden_size", c.hiddenSize());
        config.put("intermediate_size", c.intermediateSize());
        config.put("num_hidden_layers", c.numHiddenLayers());
        config.put("num_attention_heads", c.numAttentionHeads());
        config.put("num_key_value_heads", c.numKeyValueHeads());
        config.put("head_dim", c.headDim());
        config.put("vocab_size", c.vocabSize());
        config.put("rms_norm_eps", c.rmsNormEps());
        config.put("rope_theta", c.ropeTheta());
        config.put("max_position_embeddings", c.maxPositionEmbeddings());
        config.put("tie_word_embeddings", c.tieWordEmbeddings());
        config.put("torch_dtype", c.torchDtype());
        config.put("bos_token_id", c.bosTokenId());
        c.eosTokenIds().forEach(config.putArray("eos_token_id")::add);

        // what ends generation (the tokenizer's eot/eom ids join these at run time)
        ObjectNode generation = root.putObject("generation");
        directory.generationConfig().eosTokenIds().forEach(generation.putArray("eos_token_id")::add);
        directory.tokenizerConfig().eosToken().ifPresent(t -> generation.put("tokenizer_eos_token", t));
        generation.put("temperature", directory.generationConfig().temperature());
        generation.put("top_p", directory.generationConfig().topP());
        generation.put("top_k", directory.generationConfig().topK());

        ObjectNode rope = root.putObject("rope");
        putScaling(rope, c.ropeScaling());
        rope.put("attention_factor", inspection.attentionFactor());
        if (inspection.yarnCorrectionRangeOrNull() != null) {
            rope.putArray("yarn_correction_range").add(inspection.yarnCorrectionRangeOrNull()[0])
                    .add(inspection.yarnCorrectionRangeOrNull()[1]);
        }
        ArrayNode invFreq = rope.putArray("inv_freq");
        for (double f : inspection.inverseFrequencies()) {
            invFreq.add(f);
        }

        ObjectNode memory = root.putObject("memory");
        memory.put("parameters", inspection.parameters());
        memory.put("weight_bytes_fp16", inspection.fp16WeightBytes());
        memory.put("kv_bytes_per_token_fp16", inspection.kvBytesPerTokenFp16());
        memory.put("kv_bytes_per_token_fp32", inspection.kvBytesPerTokenFp32());
        if (inspection.gpuMemGib() != null) {
            memory.put("gpu_mem_gib", inspection.gpuMemGib());
            memory.put("tokens_fitting_in_gpu_mem", inspection.tokensFittingInGpuMem());
        }
        putCheckpoint(root, directory.root());
        return root;
    }

    private static void putScaling(ObjectNode rope, RopeScaling scaling) {
        if (scaling instanceof DefaultRope) {
            rope.put("type", "default");
        } else if (scaling instanceof Llama3Rope l) {
            rope.put("type", "llama3");
            rope.put("factor", l.factor());
            rope.put("low_freq_factor", l.lowFreqFactor());
            rope.put("high_freq_factor", l.highFreqFactor());
            rope.put("original_max_position_embeddings", l.originalMaxPositionEmbeddings());
        } else if (scaling instanceof YarnRope y) {
            rope.put("type", "yarn");
            rope.put("factor", y.factor());
            rope.put("original_max_position_embeddings", y.originalMaxPositionEmbeddings());
            rope.put("beta_fast", y.betaFast());
            rope.put("beta_slow", y.betaSlow());
            if (y.mscale() != null) {
                rope.put("mscale", y.mscale());
            }
            if (y.mscaleAllDim() != null) {
                rope.put("mscale_all_dim", y.mscaleAllDim());
            }
            rope.put("truncate", y.truncate());
        }
    }

    /** The weights as stored (dtype, files, bytes), read from the safetensors headers only; absent without weights. */
    private static void putCheckpoint(ObjectNode root, Path dir) {
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))
                && !Files.isRegularFile(dir.resolve("model.safetensors.index.json"))) {
            root.putNull("checkpoint");
            return;
        }
        try (SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.open(dir)) {
            TreeSet<String> dtypes = new TreeSet<>();
            TreeSet<String> files = new TreeSet<>();
            long bytes = 0;
            for (String name : checkpoint.tensorNames()) {
                TensorInfo info = checkpoint.info(name);
                dtypes.add(info.dtype().name());
                files.add(info.file().getFileName().toString());
                bytes += info.byteLength();
            }
            ObjectNode node = root.putObject("checkpoint");
            dtypes.forEach(node.putArray("dtypes")::add);
            node.put("files", files.size());
            node.put("tensors", checkpoint.tensorNames().size());
            node.put("tensor_bytes", bytes);
        }
    }
}
