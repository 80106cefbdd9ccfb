package io.ultralong.platform.compose;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.yaml.snakeyaml.Yaml;

/**
 * The files of the docker-compose deployment under {@code deploy/}, found from the test's working
 * directory, and a minimal reading of compose YAML.
 */
final class DeploymentFiles {

    private DeploymentFiles() {
    }

    /** The repository root: the nearest directory upwards that holds {@code deploy/docker-compose.yml}. */
    static Path repositoryRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("deploy/docker-compose.yml"))) {
                return dir;
            }
        }
        throw new IllegalStateException("No deploy/docker-compose.yml above " + Path.of("").toAbsolutePath());
    }

    static Path deployDir() {
        return repositoryRoot().resolve("deploy");
    }

    static Path composeFile() {
        return deployDir().resolve("docker-compose.yml");
    }

    static Path gpuOverrideFile() {
        return deployDir().resolve("docker-compose.gpu.yml");
    }

    static Path multiGpuOverrideFile() {
        return deployDir().resolve("docker-compose.gpus.yml");
    }

    static Path shardedOverrideFile() {
        return deployDir().resolve("docker-compose.sharded.yml");
    }

    /**
     * A compose file as maps and lists. SnakeYAML resolves anchors, aliases and merge keys
     * ({@code <<: *service-env}) the way Compose does.
     */
    static Map<String, Object> readYaml(Path file) {
        try (Reader reader = Files.newBufferedReader(file)) {
            return new Yaml().load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        }
    }

    /** The services of a compose file, by name. */
    static Map<String, Map<String, Object>> services(Map<String, Object> compose) {
        return map(compose, "services");
    }

    @SuppressWarnings("unchecked")
    static <V> Map<String, V> map(Map<String, ?> node, String key) {
        Object value = node.get(key);
        if (!(value instanceof Map)) {
            throw new AssertionError("'" + key + "' is not a mapping: " + value);
        }
        return (Map<String, V>) value;
    }

    @SuppressWarnings("unchecked")
    static <V> List<V> list(Map<String, ?> node, String key) {
        Object value = node.get(key);
        if (!(value instanceof List)) {
            throw new AssertionError("'" + key + "' is not a list: " + value);
        }
        return (List<V>) value;
    }
}
