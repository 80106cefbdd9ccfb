package io.ultralong.runtime.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Writes a benchmark model's GGUF (see {@link GgufWriter}) and, with {@code --check}, a JSON file of token ids and
 * this runtime's logits (CPU, f32) at a few positions, which {@code scripts/llamacpp-bench.mjs check} compares with
 * llama.cpp's logits for the same ids: the proof that both engines run the same model.
 */
@Command(name = "gguf-export", mixinStandardHelpOptions = true)
public final class GgufExport implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "HF model directory")
    Path model;

    @Option(names = "--write", description = "cpu-100m or ultralong-8b: the model to write into --model if absent")
    String write;

    @Option(names = "--gguf", required = true, description = "GGUF file to write (kept when newer than config.json)")
    Path gguf;

    @Option(names = "--check", description = "write token ids and the runtime's logits here")
    Path check;

    @Option(names = "--check-positions", defaultValue = "15,200,999", split = ",",
            description = "positions whose logits are recorded (0-based, ascending)")
    int[] positions;

    public static void main(String[] args) {
        System.exit(new CommandLine(new GgufExport()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (write != null) {
            BenchModels.parse(write).ensure(model);
        }
        ModelDirectory directory = ModelDirectory.resolve(model);
        Path config = directory.root().resolve("config.json");
        if (!Files.isRegularFile(gguf) || Files.getLastModifiedTime(gguf).compareTo(Files.getLastModifiedTime(config)) < 0) {
            long start = System.nanoTime();
            Path partial = gguf.resolveSibling(gguf.getFileName() + ".partial");
            GgufWriter.convert(directory.root(), partial);
            Files.move(partial, gguf, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            System.err.printf("wrote %s (%d MiB) in %.1f s%n", gguf, Files.size(gguf) >> 20, (System.nanoTime() - start) / 1e9);
        }
        if (check != null) {
            writeCheck(directory);
        }
        return 0;
    }

    /**
     * Token ids and the runtime's logits at {@link #positions}, twice: with the model's own config.json, and with
     * YaRN's beta_fast / beta_slow set to 32 / 1. llama.cpp's llama architecture does not read the GGUF's
     * {@code llama.rope.scaling.yarn_beta_*} keys (node-llama-cpp 3.22.1 exposes no override either) and always uses
     * its defaults 32 / 1, HF's defaults too: measured here, the second set matches llama.cpp to ~1e-4, the first
     * differs by ~1e-1 with UltraLong's beta_fast 4. The cost of a forward pass is the same either way.
     */
    private void writeCheck(ModelDirectory directory) throws Exception {
        int[] tokens = ThroughputBenchmark.tokens(positions[positions.length - 1] + 1, directory.config().vocabSize(), 11);
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ArrayNode ids = root.putArray("tokens");
        Arrays.stream(tokens).forEach(ids::add);
        root.set("logits", logitsAt(directory, tokens));
        root.set("logitsWithLlamaCppBetas", logitsAt(withDefaultBetas(directory.root()), tokens));
        json.writeValue(check.toFile(), root);
        System.err.println("wrote the runtime's logits at positions " + Arrays.toString(positions) + " to " + check);
    }

    private ObjectNode logitsAt(ModelDirectory directory, int[] tokens) {
        ObjectNode logits = new ObjectMapper().createObjectNode();
        try (LlamaRuntime runtime = LlamaRuntime.load(directory, RuntimeOptions.defaults().withDevice("cpu"));
                KvCache cache = runtime.newCache()) {
            int done = 0;
            for (int position : positions) {
                float[] last = runtime.prefill(cache, Arrays.copyOfRange(tokens, done, position + 1), PrefillListener.NONE);
                done = position + 1;
                ArrayNode values = logits.putArray(Integer.toString(position));
                for (float v : last) {
                    values.add(v);
                }
            }
        }
        return logits;
    }

    /** The same model (its files linked) with rope_scaling beta_fast 32 and beta_slow 1 in config.json. */
    private static ModelDirectory withDefaultBetas(Path root) throws Exception {
        Path variant = root.resolveSibling(root.getFileName() + "-llamacpp-betas");
        Files.createDirectories(variant);
        try (var files = Files.list(root)) {
            for (Path f : files.filter(f -> !f.getFileName().toString().equals("config.json")).toList()) {
                Path link = variant.resolve(f.getFileName());
                Files.deleteIfExists(link);
                Files.createSymbolicLink(link, f.toAbsolutePath());
            }
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(root.resolve("config.json").toFile());
        ObjectNode rope = (ObjectNode) config.get("rope_scaling");
        if (rope != null) {
            rope.put("beta_fast", 32);
            rope.put("beta_slow", 1);
        }
        json.writerWithDefaultPrettyPrinter().writeValue(variant.resolve("config.json").toFile(), config);
        return ModelDirectory.resolve(variant);
    }
}
