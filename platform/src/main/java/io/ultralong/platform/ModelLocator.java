package io.ultralong.platform;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where the platform's model comes from, first match wins: {@code --model DIR}, the environment
 * variable {@code UL_MODEL_DIR}, an UltraLong-8B Instruct model in the HuggingFace hub cache
 * ({@code $HF_HUB_CACHE}, {@code $HF_HOME/hub} or {@code ~/.cache/huggingface/hub}); otherwise none,
 * and the worker runs its built-in demo model.
 */
final class ModelLocator {

    /** The hub repositories looked for, largest context first. */
    static final List<String> HUB_MODELS = List.of(
            "models--nvidia--Llama-3.1-8B-UltraLong-4M-Instruct",
            "models--nvidia--Llama-3.1-8B-UltraLong-2M-Instruct",
            "models--nvidia--Llama-3.1-8B-UltraLong-1M-Instruct");

    private ModelLocator() {
    }

    static Optional<Path> locate(Optional<Path> option, Map<String, String> env) {
        if (option.isPresent()) {
            return option;
        }
        String fromEnv = env.get("UL_MODEL_DIR");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Optional.of(Path.of(fromEnv));
        }
        for (Path hub : hubCaches(env)) {
            for (String model : HUB_MODELS) {
                Path candidate = hub.resolve(model);
                if (Files.isDirectory(candidate.resolve("snapshots"))) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    private static List<Path> hubCaches(Map<String, String> env) {
        if (env.get("HF_HUB_CACHE") != null) {
            return List.of(Path.of(env.get("HF_HUB_CACHE")));
        }
        if (env.get("HF_HOME") != null) {
            return List.of(Path.of(env.get("HF_HOME"), "hub"));
        }
        return List.of(Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub"));
    }
}
