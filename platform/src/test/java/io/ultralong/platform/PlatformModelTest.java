package io.ultralong.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import io.ultralong.runtime.model.HubSettings;
import io.ultralong.runtime.model.ModelResolver;
import io.ultralong.runtime.model.ResolvedModel;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --model, UL_MODEL_DIR, UL_MODEL and discovery, as the platform sees them (offline: the cache is the hub). */
class PlatformModelTest {

    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path dir;

    private Path cached(String repo) throws Exception {
        Path folder = dir.resolve("hub").resolve("models--" + repo.replace("/", "--"));
        SyntheticModelWriter.write(folder.resolve("snapshots").resolve(COMMIT), SyntheticModelSpec.tiny());
        Files.createDirectories(folder.resolve("refs"));
        Files.writeString(folder.resolve("refs/main"), COMMIT);
        return folder;
    }

    private Optional<ResolvedModel> choose(Optional<String> option, Map<String, String> env) {
        ModelResolver resolver = new ModelResolver(HubSettings.fromEnvironment(
                Map.of("HF_HUB_CACHE", dir.resolve("hub").toString()), dir.resolve("home")).withOffline(true));
        return PlatformModel.choose(option, env, resolver);
    }

    @Test
    void ulModelHubIdIsServedFromTheCacheUnderItsHubId() throws Exception {
        Path folder = cached("org/Tiny");
        ResolvedModel model = choose(Optional.empty(), Map.of("UL_MODEL", "org/Tiny")).orElseThrow();
        assertThat(model.directory()).isEqualTo(folder.resolve("snapshots").resolve(COMMIT));
        assertThat(model.id()).isEqualTo("org/Tiny");
    }

    @Test
    void ulModelDirNamingAHubCacheFolderGivesItsSnapshot() throws Exception {
        Path folder = cached("org/Tiny");
        assertThat(choose(Optional.empty(), Map.of("UL_MODEL_DIR", folder.toString())).orElseThrow().directory())
                .isEqualTo(folder.resolve("snapshots").resolve(COMMIT));
    }

    @Test
    void theOptionWinsOverTheEnvironment() throws Exception {
        Path plain = SyntheticModelWriter.write(dir.resolve("plain"), SyntheticModelSpec.tiny());
        cached("org/Tiny");
        ResolvedModel model = choose(Optional.of(plain.toString()), Map.of("UL_MODEL", "org/Tiny")).orElseThrow();
        assertThat(model.directory()).isEqualTo(plain);
        assertThat(model.id()).isEqualTo("plain");
    }

    @Test
    void withoutAReferenceTheRenamedUltraLongRepositoryIsDiscovered() throws Exception {
        cached("nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct");
        assertThat(choose(Optional.empty(), Map.of()).orElseThrow().id())
                .isEqualTo("nvidia/Llama-3.1-Nemotron-8B-UltraLong-1M-Instruct");
    }

    @Test
    void nothingFoundMeansTheDemoModel() {
        assertThat(choose(Optional.empty(), Map.of("UL_MODEL", " "))).isEmpty();
    }
}
