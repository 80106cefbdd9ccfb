package io.ultralong.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.ultralong.runtime.model.HubSettings;
import io.ultralong.runtime.model.ModelResolver;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ul.worker.model-dir given as a hub id or a hub cache folder loads the cached snapshot. */
class WorkerModelTest {

    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @Test
    void hubIdAndHubCacheFolderBothGiveTheCachedSnapshot(@TempDir Path dir) throws Exception {
        Path folder = dir.resolve("hub/models--org--Tiny");
        Path snapshot = SyntheticModelWriter.write(folder.resolve("snapshots").resolve(COMMIT), SyntheticModelSpec.tiny());
        Files.createDirectories(folder.resolve("refs"));
        Files.writeString(folder.resolve("refs/main"), COMMIT);
        ModelResolver offline = new ModelResolver(HubSettings.fromEnvironment(
                Map.of("HF_HUB_CACHE", dir.resolve("hub").toString()), dir.resolve("home")).withOffline(true));

        assertThat(Worker.resolveModel(Path.of("org/Tiny"), offline).root()).isEqualTo(snapshot);
        assertThat(Worker.resolveModel(folder, offline).root()).isEqualTo(snapshot);
    }
}
