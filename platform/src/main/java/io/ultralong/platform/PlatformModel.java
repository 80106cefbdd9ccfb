package io.ultralong.platform;

import java.util.Map;
import java.util.Optional;

import io.ultralong.runtime.model.ModelResolver;
import io.ultralong.runtime.model.ResolvedModel;

/**
 * Which model the platform serves, first match wins: {@code --model REF}, the environment variables
 * {@code UL_MODEL_DIR} and {@code UL_MODEL}, an UltraLong-8B Instruct model already in the Hugging Face hub cache;
 * otherwise none, and the worker runs its built-in demo model. A reference is a model directory, a hub cache folder
 * or a hub id {@code org/name[@revision]} (downloaded when not cached): {@link ModelResolver} decides, once, and
 * ingest, the worker and the gateway all get the directory and the id it found.
 */
final class PlatformModel {

    private PlatformModel() {
    }

    static Optional<ResolvedModel> choose(Optional<String> option, Map<String, String> env, ModelResolver resolver) {
        Optional<String> reference = option
                .or(() -> present(env, "UL_MODEL_DIR"))
                .or(() -> present(env, "UL_MODEL"));
        return reference.isPresent() ? Optional.of(resolver.resolve(reference.get())) : resolver.discover();
    }

    private static Optional<String> present(Map<String, String> env, String name) {
        String value = env.get(name);
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value);
    }
}
