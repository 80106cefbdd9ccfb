package io.ultralong.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.ultralong.runtime.engine.LlamaRuntime;
import io.ultralong.runtime.engine.PrefillListener;
import io.ultralong.runtime.engine.RuntimeOptions;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.reference.ReferenceLlama;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code org/name} downloaded from a local server that speaks the hub's protocol, into the HF cache layout. */
class HubDownloaderTest {

    private static final String REPO = "org/Tiny-Llama";
    private static final String COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    private static final String SHARD = "model-00001-of-00002.safetensors";

    @TempDir
    Path dir;

    private Path source;
    private FakeHub hub;
    private Path cache;

    @BeforeEach
    void serveATinyModel() throws Exception {
        source = SyntheticModelWriter.write(dir.resolve("source"), SyntheticModelSpec.tiny().withShards(2));
        Files.writeString(source.resolve("README.md"), "---\nlicense: cc-by-nc-4.0\n---\n# Tiny\n");
        // a file a Llama checkpoint does not need: never downloaded
        Files.createDirectories(source.resolve("original"));
        Files.writeString(source.resolve("original/params.json"), "{}");
        hub = new FakeHub(REPO, COMMIT, source);
        cache = dir.resolve("hf/hub");
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private ModelResolver resolver(boolean offline, Optional<String> token) {
        return new ModelResolver(HubSettings.fromEnvironment(Map.of(), dir.resolve("home")).withCacheDir(cache)
                .withEndpoint(hub.endpoint()).withToken(token).withOffline(offline));
    }

    private long fileRequests() {
        return hub.requests().stream().filter(r -> r.path().contains("/resolve/") || r.path().startsWith("/cdn/")).count();
    }

    @Test
    void downloadsIntoTheHubCacheLayoutAndTheModelLoads() throws Exception {
        ResolvedModel model = resolver(false, Optional.empty()).resolve(REPO);

        Path folder = cache.resolve("models--org--Tiny-Llama");
        Path snapshot = folder.resolve("snapshots").resolve(COMMIT);
        assertThat(model.directory()).isEqualTo(snapshot);
        assertThat(model.id()).isEqualTo(REPO);
        assertThat(Files.readString(folder.resolve("refs/main"))).isEqualTo(COMMIT);
        // LFS blobs are named by sha256, other files by their git blob id; snapshot entries are relative links
        assertThat(Files.readSymbolicLink(snapshot.resolve(SHARD))).isEqualTo(Path.of("../../blobs", hub.sha256(SHARD).orElseThrow()));
        assertThat(Files.readSymbolicLink(snapshot.resolve("config.json"))).isEqualTo(Path.of("../../blobs", hub.gitBlobId("config.json")));
        for (String file : List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                SHARD, "model-00002-of-00002.safetensors", "model.safetensors.index.json", "README.md")) {
            assertThat(Files.readAllBytes(snapshot.resolve(file))).as(file).isEqualTo(Files.readAllBytes(source.resolve(file)));
        }
        assertThat(snapshot.resolve("original")).doesNotExist();
        assertThat(hub.requests()).noneMatch(r -> r.path().contains("original"));
        try (var blobs = Files.list(folder.resolve("blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".incomplete")).hasSize(8);
        }

        // the downloaded model computes what the float64 reference computes from the source files
        ModelDirectory downloaded = ModelDirectory.resolve(model.directory());
        int[] tokens = {1, 17, 300, 42, 7, 256, 99, 5};
        double[] expected = ReferenceLlama.load(ModelDirectory.resolve(source)).logits(tokens)[tokens.length - 1];
        try (LlamaRuntime runtime = LlamaRuntime.load(downloaded, new RuntimeOptions("cpu", 48, 16, 32));
             KvCache kv = runtime.newCache()) {
            float[] logits = runtime.prefill(kv, tokens, PrefillListener.NONE);
            for (int i = 0; i < expected.length; i++) {
                assertThat((double) logits[i]).isCloseTo(expected[i], org.assertj.core.api.Assertions.within(1e-3));
            }
        }

        // a second start asks the hub for the file list only: every blob is there already
        long before = fileRequests();
        assertThat(resolver(false, Optional.empty()).resolve(REPO).directory()).isEqualTo(snapshot);
        assertThat(fileRequests()).isEqualTo(before);
    }

    @Test
    void aBranchRevisionIsRecordedUnderRefsAndACommitIsNot() throws Exception {
        Path folder = cache.resolve("models--org--Tiny-Llama");
        assertThat(resolver(false, Optional.empty()).resolve(REPO + "@release/v1").directory())
                .isEqualTo(folder.resolve("snapshots").resolve(COMMIT));
        assertThat(Files.readString(folder.resolve("refs/release/v1"))).isEqualTo(COMMIT);
        assertThat(hub.requests().get(0).path()).isEqualTo("/api/models/" + REPO + "/revision/release%2Fv1");

        resolver(false, Optional.empty()).resolve(REPO + "@" + COMMIT);
        try (var refs = Files.walk(folder.resolve("refs"))) {
            assertThat(refs.filter(Files::isRegularFile)).containsExactly(folder.resolve("refs/release/v1"));
        }
    }

    @Test
    void anInterruptedDownloadResumesWithARangeRequest() throws Exception {
        long size = Files.size(source.resolve(SHARD));
        hub.cutNextTransferAfter(SHARD, size / 3);

        Path snapshot = resolver(false, Optional.empty()).resolve(REPO).directory();

        assertThat(hub.requests()).anyMatch(r -> r.path().equals("/cdn/" + SHARD)
                && r.range().equals(Optional.of("bytes=" + size / 3 + "-")));
        assertThat(Files.readAllBytes(snapshot.resolve(SHARD))).isEqualTo(Files.readAllBytes(source.resolve(SHARD)));
    }

    @Test
    void aPartialFileLeftByAnEarlierRunIsResumed() throws Exception {
        Path blobs = Files.createDirectories(cache.resolve("models--org--Tiny-Llama/blobs"));
        byte[] content = Files.readAllBytes(source.resolve(SHARD));
        Files.write(blobs.resolve(hub.sha256(SHARD).orElseThrow() + ".incomplete"), java.util.Arrays.copyOf(content, 1000));

        Path snapshot = resolver(false, Optional.empty()).resolve(REPO).directory();

        assertThat(hub.requests()).filteredOn(r -> r.path().equals("/cdn/" + SHARD))
                .singleElement().extracting(FakeHub.Request::range).isEqualTo(Optional.of("bytes=1000-"));
        assertThat(Files.readAllBytes(snapshot.resolve(SHARD))).isEqualTo(content);
    }

    @Test
    void aCorruptedByteFailsTheChecksumAndLeavesNothingBehind() throws Exception {
        hub.corrupt(SHARD);

        assertThatThrownBy(() -> resolver(false, Optional.empty()).resolve(REPO))
                .isInstanceOf(HubDownloader.ChecksumMismatchException.class)
                .hasMessageContaining(SHARD + " is corrupt (sha256 ")
                .hasMessageContaining("the hub says " + hub.sha256(SHARD).orElseThrow());
        Path blobs = cache.resolve("models--org--Tiny-Llama/blobs");
        assertThat(blobs.resolve(hub.sha256(SHARD).orElseThrow())).doesNotExist();
        assertThat(blobs.resolve(hub.sha256(SHARD).orElseThrow() + ".incomplete")).doesNotExist();
    }

    @Test
    void aCorruptedSmallFileFailsItsGitBlobId() {
        hub.corrupt("tokenizer.json");

        assertThatThrownBy(() -> resolver(false, Optional.empty()).resolve(REPO))
                .isInstanceOf(HubDownloader.ChecksumMismatchException.class)
                .hasMessageContaining("tokenizer.json is corrupt (git blob id");
    }

    @Test
    void offlineUsesTheCacheAndNeverTheNetwork() {
        Path snapshot = resolver(false, Optional.empty()).resolve(REPO).directory();
        int seen = hub.requests().size();

        assertThat(resolver(true, Optional.empty()).resolve(REPO).directory()).isEqualTo(snapshot);
        assertThat(resolver(true, Optional.empty()).resolve(REPO + "@" + COMMIT).directory()).isEqualTo(snapshot);
        assertThat(hub.requests()).hasSize(seen);
    }

    @Test
    void offlineWithoutTheModelCachedIsAClearErrorAndNoRequest() {
        assertThatThrownBy(() -> resolver(true, Optional.empty()).resolve(REPO))
                .hasMessageContaining("Model " + REPO + " is not in the Hugging Face cache")
                .hasMessageContaining("HF_HUB_OFFLINE");
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void aGatedModelWithoutTokenIsRefusedNamingHfTokenAndWithTheTokenDownloads() {
        hub.requireToken("hf_secret");

        assertThatThrownBy(() -> resolver(false, Optional.empty()).resolve(REPO))
                .hasMessageContaining("refused access to " + REPO + " (HTTP 401)")
                .hasMessageContaining("set HF_TOKEN");
        assertThatThrownBy(() -> resolver(false, Optional.of("hf_wrong")).resolve(REPO))
                .hasMessageContaining("the token in HF_TOKEN has no access");

        assertThat(resolver(false, Optional.of("hf_secret")).resolve(REPO).directory()).isDirectory();
        // the token goes to the hub, never to the storage host a file is redirected to
        assertThat(hub.requests()).filteredOn(r -> r.path().startsWith("/cdn/")).isNotEmpty()
                .allMatch(r -> r.authorization().isEmpty() || r.authorization().equals(Optional.of("Bearer hf_secret")));
    }

    @Test
    void aListedNameOutsideTheSnapshotIsNeverFetched() {
        hub.serveExtra("../../escape.safetensors", new byte[] {1, 2, 3});

        Path snapshot = resolver(false, Optional.empty()).resolve(REPO).directory();

        assertThat(snapshot.resolve("../../escape.safetensors").normalize()).doesNotExist();
        assertThat(hub.requests()).noneMatch(r -> r.path().contains("escape"));
    }

    @Test
    void anUnknownRepositoryIsAClearError() {
        assertThatThrownBy(() -> resolver(false, Optional.empty()).resolve("org/Absent"))
                .hasMessageContaining("has no model org/Absent at revision main (HTTP 404");
    }

    @Test
    void anUnreachableHubIsAClearErrorAndACachedCopyIsUsedInstead() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        HubSettings unreachable = HubSettings.fromEnvironment(Map.of(), dir.resolve("home")).withCacheDir(cache)
                .withEndpoint(URI.create("http://127.0.0.1:" + closedPort));

        assertThatThrownBy(() -> new ModelResolver(unreachable).resolve(REPO))
                .isInstanceOf(HubDownloader.HubUnreachableException.class)
                .hasMessageContaining("Cannot reach the Hugging Face hub at http://127.0.0.1:" + closedPort)
                .hasMessageContaining("HF_HUB_OFFLINE=1");

        Path snapshot = resolver(false, Optional.empty()).resolve(REPO).directory();
        assertThat(new ModelResolver(unreachable).resolve(REPO).directory()).isEqualTo(snapshot);
    }
}
