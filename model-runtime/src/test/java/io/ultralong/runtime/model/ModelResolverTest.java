package io.ultralong.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every form of model reference a user gives, resolved to the directory that holds config.json. */
class ModelResolverTest {

    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path dir;

    /** A hub cache folder as huggingface_hub leaves it: the model in snapshots/<commit>, refs/main naming it. */
    private Path cached(Path cache, String repo, boolean withRef) throws Exception {
        Path folder = cache.resolve("models--" + repo.replace("/", "--"));
        SyntheticModelWriter.write(folder.resolve("snapshots").resolve(COMMIT), SyntheticModelSpec.tiny());
        if (withRef) {
            Files.createDirectories(folder.resolve("refs"));
            Files.writeString(folder.resolve("refs/main"), COMMIT);
        }
        return folder;
    }

    private ModelResolver offlineResolver(Map<String, String> env) {
        return new ModelResolver(HubSettings.fromEnvironment(env, dir.resolve("home")).withOffline(true));
    }

    @Test
    void plainModelDirectoryIsTakenAsIs() {
        Path model = SyntheticModelWriter.write(dir.resolve("my-model"), SyntheticModelSpec.tiny());
        ResolvedModel resolved = offlineResolver(Map.of()).resolve(model.toString());
        assertThat(resolved.directory()).isEqualTo(model);
        assertThat(resolved.id()).isEqualTo("my-model");
    }

    @Test
    void hubCacheFolderResolvesToTheSnapshotRefsMainNames() throws Exception {
        Path folder = cached(dir, "org/Tiny", true);
        Files.createDirectories(folder.resolve("snapshots/ffffffffffffffffffffffffffffffffffffffff"));
        ResolvedModel resolved = offlineResolver(Map.of()).resolve(folder.toString());
        assertThat(resolved.directory()).isEqualTo(folder.resolve("snapshots").resolve(COMMIT));
        assertThat(resolved.id()).isEqualTo("org/Tiny");
    }

    @Test
    void hubCacheFolderWithoutRefsUsesItsOnlySnapshot() throws Exception {
        Path folder = cached(dir, "org/Tiny", false);
        assertThat(offlineResolver(Map.of()).resolve(folder.toString()).directory())
                .isEqualTo(folder.resolve("snapshots").resolve(COMMIT));
    }

    @Test
    void hubCacheFolderWithSeveralSnapshotsAndNoRefIsAClearError() throws Exception {
        Path folder = cached(dir, "org/Tiny", false);
        Files.createDirectories(folder.resolve("snapshots/ffffffffffffffffffffffffffffffffffffffff"));
        assertThatThrownBy(() -> offlineResolver(Map.of()).resolve(folder.toString()))
                .hasMessageContaining("has 2 snapshots").hasMessageContaining("no usable refs/main");
    }

    @Test
    void snapshotDirectoryNamesItsRepository() throws Exception {
        Path folder = cached(dir, "org/Tiny", true);
        assertThat(offlineResolver(Map.of()).resolve(folder.resolve("snapshots").resolve(COMMIT).toString()).id())
                .isEqualTo("org/Tiny");
    }

    @Test
    void hubIdIsFoundInTheCacheNamedByHfHome() throws Exception {
        cached(dir.resolve("hf/hub"), "org/Tiny", true);
        ResolvedModel resolved = offlineResolver(Map.of("HF_HOME", dir.resolve("hf").toString())).resolve("org/Tiny");
        assertThat(resolved.directory()).isEqualTo(dir.resolve("hf/hub/models--org--Tiny/snapshots").resolve(COMMIT));
        assertThat(resolved.id()).isEqualTo("org/Tiny");
        assertThat(offlineResolver(Map.of("HF_HOME", dir.resolve("hf").toString())).resolve("org/Tiny@" + COMMIT)
                .directory()).isEqualTo(resolved.directory());
    }

    @Test
    void offlineHubIdNotInTheCacheIsAClearError() {
        assertThatThrownBy(() -> offlineResolver(Map.of("HF_HUB_CACHE", dir.toString())).resolve("org/Absent"))
                .hasMessageContaining("org/Absent is not in the Hugging Face cache").hasMessageContaining("HF_HUB_OFFLINE");
    }

    @Test
    void discoveryFindsTheRenamedNemotronRepositories() throws Exception {
        cached(dir.resolve("cache"), "nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct", true);
        ResolvedModel found = offlineResolver(Map.of("HF_HUB_CACHE", dir.resolve("cache").toString())).discover().orElseThrow();
        assertThat(found.id()).isEqualTo("nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct");
        assertThat(found.directory()).endsWith(Path.of("snapshots", COMMIT));
    }

    @Test
    void discoveryStillFindsTheOldNamesAndPrefersTheLongestContext() throws Exception {
        Path home = dir.resolve("home");
        cached(home.resolve(".cache/huggingface/hub"), "nvidia/Llama-3.1-8B-UltraLong-2M-Instruct", true);
        cached(dir.resolve("hf/hub"), "nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct", true);
        ResolvedModel found = offlineResolver(Map.of("HF_HOME", dir.resolve("hf").toString())).discover().orElseThrow();
        assertThat(found.id()).isEqualTo("nvidia/Llama-3.1-8B-UltraLong-2M-Instruct");
        assertThat(offlineResolver(Map.of("HF_HUB_CACHE", dir.resolve("empty").toString())).discover()).isPresent();
    }

    @Test
    void nothingToDiscoverInEmptyCaches() {
        assertThat(offlineResolver(Map.of("HF_HUB_CACHE", dir.resolve("empty").toString())).discover()).isEmpty();
    }

    @Test
    void neitherADirectoryNorAHubIdIsAClearError() {
        assertThatThrownBy(() -> offlineResolver(Map.of()).resolve(dir.resolve("a/b/c").toString()))
                .hasMessageContaining("Model directory does not exist");
        assertThatThrownBy(() -> offlineResolver(Map.of()).resolve(" "))
                .hasMessageContaining("Empty model reference");
    }

    @Test
    void hubIdsParseWithAndWithoutRevision() {
        assertThat(HubRepoId.parse("nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct")).contains(
                new HubRepoId("nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct", "main"));
        assertThat(HubRepoId.parse("meta-llama/Llama-3.2-1B-Instruct@refs/pr/1")).contains(
                new HubRepoId("meta-llama/Llama-3.2-1B-Instruct", "refs/pr/1"));
        assertThat(HubRepoId.parse("/abs/path")).isEmpty();
        assertThat(HubRepoId.parse("a/b/c")).isEmpty();
        assertThat(HubRepoId.parse("../x")).isEmpty();
    }

    @Test
    void hubSettingsFollowHuggingFaceHubPrecedence() throws Exception {
        Path home = dir.resolve("home");
        Files.createDirectories(dir.resolve("hf"));
        Files.writeString(dir.resolve("hf/token"), "hf_fromfile\n");
        HubSettings s = HubSettings.fromEnvironment(Map.of("HF_HOME", dir.resolve("hf").toString(),
                "HF_ENDPOINT", "http://mirror.local:8080/", "HF_HUB_OFFLINE", "1"), home);
        assertThat(s.cacheDir()).isEqualTo(dir.resolve("hf/hub"));
        assertThat(s.searchDirs()).containsExactly(dir.resolve("hf/hub"), home.resolve(".cache/huggingface/hub"));
        assertThat(s.endpoint()).hasToString("http://mirror.local:8080");
        assertThat(s.token()).contains("hf_fromfile");
        assertThat(s.offline()).isTrue();
        HubSettings t = HubSettings.fromEnvironment(Map.of("HF_HUB_CACHE", "/c", "HF_TOKEN", "hf_env", "HF_HUB_OFFLINE", "0"), home);
        assertThat(t.cacheDir()).isEqualTo(Path.of("/c"));
        assertThat(t.token()).contains("hf_env");
        assertThat(t.offline()).isFalse();
        assertThat(t.endpoint()).isEqualTo(HubSettings.DEFAULT_ENDPOINT);
    }
}
