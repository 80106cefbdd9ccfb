package io.ultralong.runtime.model;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The Hugging Face hub settings huggingface_hub reads from the environment, with its precedence:
 * cache {@code HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else {@code ~/.cache/huggingface/hub};
 * {@code HF_ENDPOINT} (default https://huggingface.co); {@code HF_TOKEN}, else the token file that
 * {@code huggingface-cli login} writes ({@code $HF_HOME/token}); {@code HF_HUB_OFFLINE=1} forbids the network.
 *
 * @param cacheDir   where downloads go, and the first place looked in
 * @param searchDirs every hub cache looked in for a model already there (cacheDir first)
 */
public record HubSettings(Path cacheDir, List<Path> searchDirs, URI endpoint, Optional<String> token, boolean offline) {

    public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");

    public static HubSettings fromEnvironment() {
        return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    public static HubSettings fromEnvironment(Map<String, String> env, Path home) {
        Path defaultHome = home.resolve(".cache").resolve("huggingface");
        Path hfHome = present(env, "HF_HOME").map(Path::of).orElse(defaultHome);
        List<Path> candidates = new ArrayList<>();
        present(env, "HF_HUB_CACHE").map(Path::of).ifPresent(candidates::add);
        candidates.add(hfHome.resolve("hub"));
        candidates.add(defaultHome.resolve("hub"));
        List<Path> searchDirs = candidates.stream().distinct().toList();
        URI endpoint = present(env, "HF_ENDPOINT").map(e -> URI.create(e.replaceAll("/+$", ""))).orElse(DEFAULT_ENDPOINT);
        Optional<String> token = present(env, "HF_TOKEN").or(() -> readToken(hfHome.resolve("token")));
        boolean offline = present(env, "HF_HUB_OFFLINE")
                .map(v -> List.of("1", "true", "yes", "on").contains(v.toLowerCase(Locale.ROOT)))
                .orElse(false);
        return new HubSettings(searchDirs.get(0), searchDirs, endpoint, token, offline);
    }

    /** The same settings with downloads and look-ups in {@code dir} only (tests, and an explicit cache). */
    public HubSettings withCacheDir(Path dir) {
        return new HubSettings(dir, List.of(dir), endpoint, token, offline);
    }

    public HubSettings withEndpoint(URI uri) {
        return new HubSettings(cacheDir, searchDirs, uri, token, offline);
    }

    public HubSettings withToken(Optional<String> t) {
        return new HubSettings(cacheDir, searchDirs, endpoint, t, offline);
    }

    public HubSettings withOffline(boolean o) {
        return new HubSettings(cacheDir, searchDirs, endpoint, token, o);
    }

    private static Optional<String> present(Map<String, String> env, String name) {
        String value = env.get(name);
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    private static Optional<String> readToken(Path file) {
        try {
            return Files.isRegularFile(file) ? Optional.of(Files.readString(file).trim()).filter(t -> !t.isEmpty())
                    : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
