package io.ultralong.worker.service;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.stream.IntStream;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.ultralong.store.ContextStore;
import io.ultralong.worker.ModelSettings;
import io.ultralong.worker.SharedKvObjectStore;
import io.ultralong.worker.Worker;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The worker's {@code ul.worker.shared-kv-s3-*} settings select the object-store shared KV tier: read through the
 * service's config mapping, they give a client that reaches a real S3 server (s3proxy, filesystem backend, SigV4),
 * and the worker's store persists KV blocks into the bucket where the partition's next owner restores them.
 */
class SharedKvObjectStoreSettingsTest {

    private static final byte[] FINGERPRINT = "fp-worker-s3".getBytes(UTF_8);
    private static final int BLOCK = 8;
    private static final String BUCKET = "worker-kv";

    @TempDir
    static Path s3Root;

    private static S3Proxy proxy;
    private static BlobStoreContext blobStores;

    @BeforeAll
    static void startS3() throws Exception {
        Properties properties = new Properties();
        properties.setProperty("jclouds.filesystem.basedir", s3Root.toString());
        blobStores = ContextBuilder.newBuilder("filesystem").overrides(properties).build(BlobStoreContext.class);
        blobStores.getBlobStore().createContainerInLocation(null, BUCKET);
        proxy = S3Proxy.builder().blobStore(blobStores.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, "worker-access", "worker-secret").build();
        proxy.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> "STARTED".equals(proxy.getState()));
    }

    @AfterAll
    static void stopS3() throws Exception {
        if (proxy != null) {
            proxy.stop();
        }
        if (blobStores != null) {
            blobStores.close();
        }
    }

    private static WorkerConfig config(Map<String, String> settings) {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(WorkerConfig.class)
                .withSources(new PropertiesConfigSource(settings, "test", 500)).build();
        return config.getConfigMapping(WorkerConfig.class);
    }

    private static Map<String, String> bucketSettings() {
        Map<String, String> settings = new HashMap<>();
        settings.put("ul.worker.shared-kv-s3-bucket", BUCKET);
        settings.put("ul.worker.shared-kv-s3-prefix", "cluster-a");
        settings.put("ul.worker.shared-kv-s3-endpoint", "http://127.0.0.1:" + proxy.getPort());
        settings.put("ul.worker.shared-kv-s3-path-style", "true");
        settings.put("ul.worker.shared-kv-s3-access-key-id", "worker-access");
        settings.put("ul.worker.shared-kv-s3-secret-access-key", "worker-secret");
        return settings;
    }

    @Test
    void theBucketSettingsGiveATierThatHandsBlocksToTheNextOwner(@TempDir Path dir) throws Exception {
        ModelSettings model = WorkerService.modelSettings(config(bucketSettings()));
        SharedKvObjectStore bucket = model.sharedKvObjectStore().orElseThrow();
        assertThat(bucket.region()).isEqualTo("us-east-1");
        assertThat(bucket.toString()).contains("s3://worker-kv/cluster-a").doesNotContain("worker-secret");
        assertThat(model.sharedKvDir()).isEmpty();

        int[] tokens = new Random(5).ints(3 * BLOCK + 2, 0, 1000).toArray();
        byte[][] blocks = new byte[3][];
        try (S3Client client = bucket.newClient()) {
            try (ContextStore owner = Worker.openStore(dir.resolve("owner"), model, client)) {
                for (int b = 0; b < 3; b++) {
                    blocks[b] = new byte[5_000 + b];
                    new Random(b).nextBytes(blocks[b]);
                    owner.putKvBlock(FINGERPRINT, "acme/s", b, tokens, BLOCK, blocks[b]);
                }
                assertThat(owner.statistics().kvSharedErrors()).isZero();
            }
            List<String> keys = client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix("cluster-a/")).contents()
                    .stream().map(S3Object::key).filter(k -> !k.endsWith("/")).toList();   // s3proxy lists its folders
            assertThat(keys).hasSize(3).allMatch(k -> k.startsWith("cluster-a/") && k.endsWith(".kv"));

            // The next owner has its own, empty local store: every block comes from the bucket, verified.
            try (ContextStore next = Worker.openStore(dir.resolve("next"), model, client)) {
                List<byte[]> restored = new java.util.ArrayList<>();
                assertThat(next.readVerifiedKvBlocks(FINGERPRINT, "acme/s", tokens, BLOCK, (i, b) -> restored.add(b))).isEqualTo(3);
                assertThat(restored).containsExactly(blocks);
                assertThat(next.statistics().kvSharedBlockHits()).isEqualTo(3);
            }
        }
    }

    @Test
    void noBucketMeansNoObjectStoreAndADirectoryWithABucketIsRefused(@TempDir Path dir) {
        assertThat(WorkerService.modelSettings(config(Map.of())).sharedKvObjectStore()).isEmpty();

        Map<String, String> both = bucketSettings();
        both.put("ul.worker.shared-kv-dir", dir.toString());
        assertThatThrownBy(() -> WorkerService.modelSettings(config(both)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not both");

        Map<String, String> halfCredentials = bucketSettings();
        halfCredentials.remove("ul.worker.shared-kv-s3-secret-access-key");
        assertThatThrownBy(() -> WorkerService.modelSettings(config(halfCredentials)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("secret access key");
    }

    @Test
    void aWrongSecretNeverFailsTheWorkersStore(@TempDir Path dir) throws Exception {
        Map<String, String> wrong = bucketSettings();
        wrong.put("ul.worker.shared-kv-s3-secret-access-key", "not-the-secret");
        ModelSettings model = WorkerService.modelSettings(config(wrong));
        int[] tokens = IntStream.range(0, BLOCK).toArray();
        try (S3Client client = model.sharedKvObjectStore().orElseThrow().newClient();
             ContextStore store = Worker.openStore(dir, model, client)) {
            store.putKvBlock(FINGERPRINT, "acme/t", 0, tokens, BLOCK, new byte[100]);
            assertThat(store.statistics().kvSharedErrors()).isEqualTo(1);
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "acme/t", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
        }
    }
}
