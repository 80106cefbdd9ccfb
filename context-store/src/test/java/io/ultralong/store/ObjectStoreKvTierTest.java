package io.ultralong.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.IntStream;

import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The object-store tier against a real S3 implementation: s3proxy with its filesystem backend, started in this
 * JVM on a free port, spoken to by the AWS SDK v2 over HTTP with SigV4.
 */
class ObjectStoreKvTierTest {

    private static final byte[] FINGERPRINT = "llama-8b|fp16|bs4".getBytes(UTF_8);
    private static final int BLOCK = 4;
    private static final String BUCKET = "ultralong-kv";

    @TempDir
    static Path s3Root;

    private static S3Proxy proxy;
    private static BlobStoreContext blobStores;
    private static S3Client s3;

    @TempDir
    Path dir;

    @BeforeAll
    static void startS3() throws Exception {
        Properties properties = new Properties();
        properties.setProperty("jclouds.filesystem.basedir", s3Root.toString());
        blobStores = ContextBuilder.newBuilder("filesystem").overrides(properties).build(BlobStoreContext.class);
        proxy = startProxy(0);
        s3 = client(proxy.getPort());
        s3.createBucket(b -> b.bucket(BUCKET));
    }

    @AfterAll
    static void stopS3() throws Exception {
        if (s3 != null) {
            s3.close();
        }
        if (proxy != null) {
            proxy.stop();
        }
        if (blobStores != null) {
            blobStores.close();
        }
    }

    @Test
    void aSuccessorRestoresVerifiedBlocksFromTheBucketAndNeverADamagedOne() throws Exception {
        int[] tokens = IntStream.range(0, 3 * BLOCK + 1).toArray();
        SharedKvTier tier = SharedKvTier.objectStore(s3, BUCKET, "cluster-a");
        try (ContextStore first = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, tier)) {
            for (int b = 0; b < 3; b++) {
                first.putKvBlock(FINGERPRINT, "acme/s", b, tokens, BLOCK, ContextStoreTest.block(b, 70_000));
            }
            assertThat(first.statistics().kvSharedErrors()).isZero();
        }
        try (ContextStore second = ContextStore.open(dir.resolve("w2"), 8L << 20, Long.MAX_VALUE, tier)) {
            List<byte[]> restored = new ArrayList<>();
            assertThat(second.readVerifiedKvBlocks(FINGERPRINT, "acme/s", tokens, BLOCK, (i, b) -> restored.add(b))).isEqualTo(3);
            assertThat(restored).containsExactly(ContextStoreTest.block(0, 70_000), ContextStoreTest.block(1, 70_000),
                    ContextStoreTest.block(2, 70_000));
            assertThat(second.statistics().kvSharedBlockHits()).isEqualTo(3);
            assertThat(second.readVerifiedKvBlocks("other".getBytes(UTF_8), "acme/s", tokens, BLOCK, (i, b) -> { })).isZero();

            // A block written after the restore chains from the bucket's block 2.
            int[] longer = IntStream.range(0, 4 * BLOCK).toArray();
            second.putKvBlock(FINGERPRINT, "acme/s", 3, longer, BLOCK, ContextStoreTest.block(3, 70_000));
        }
        String blockOne = "cluster-a/" + java.util.HexFormat.of().formatHex(FINGERPRINT) + "/"
                + SharedKvDirectory.sessionDirectoryName("acme/s") + "/1.kv";
        byte[] object = s3.getObjectAsBytes(b -> b.bucket(BUCKET).key(blockOne)).asByteArray();
        object[KvBlockFile.HEADER_BYTES + 500] ^= 0x10;
        s3.putObject(b -> b.bucket(BUCKET).key(blockOne), RequestBody.fromBytes(object));
        int[] longer = IntStream.range(0, 4 * BLOCK).toArray();
        try (ContextStore third = ContextStore.open(dir.resolve("w3"), 8L << 20, Long.MAX_VALUE, tier)) {
            assertThat(third.readVerifiedKvBlocks(FINGERPRINT, "acme/s", longer, BLOCK, (i, b) -> { })).isEqualTo(1);
            assertThat(third.statistics().corruptBlocksDropped()).isEqualTo(1);
        }
        assertThat(keys("cluster-a/")).hasSize(1).allMatch(k -> k.endsWith("/0.kv"));
    }

    @Test
    void aTruncatedObjectIsCorruptAndADeleteEmptiesTheBucketOfTheSession() throws Exception {
        int[] tokens = IntStream.range(0, 2 * BLOCK).toArray();
        SharedKvTier tier = SharedKvTier.objectStore(s3, BUCKET, "cluster-b/");
        try (ContextStore first = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, tier)) {
            first.putKvBlock(FINGERPRINT, "s", 0, tokens, BLOCK, ContextStoreTest.block(0, 1_000));
            first.putKvBlock(FINGERPRINT, "s", 1, tokens, BLOCK, ContextStoreTest.block(1, 1_000));
            first.putKvBlock(FINGERPRINT, "t", 0, tokens, BLOCK, ContextStoreTest.block(0, 1_000));
        }
        String blockZero = "cluster-b/" + java.util.HexFormat.of().formatHex(FINGERPRINT) + "/"
                + SharedKvDirectory.sessionDirectoryName("s") + "/0.kv";
        byte[] object = s3.getObjectAsBytes(b -> b.bucket(BUCKET).key(blockZero)).asByteArray();
        s3.putObject(b -> b.bucket(BUCKET).key(blockZero), RequestBody.fromBytes(java.util.Arrays.copyOf(object, 700)));
        try (ContextStore second = ContextStore.open(dir.resolve("w2"), 8L << 20, Long.MAX_VALUE, tier)) {
            assertThat(second.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isZero();
            assertThat(second.statistics().corruptBlocksDropped()).isEqualTo(1);
            assertThat(keys("cluster-b/")).hasSize(1);   // s's blocks are gone, t's stays
            second.deleteSession("t");
            assertThat(keys("cluster-b/")).isEmpty();
            assertThat(second.statistics().kvSharedErrors()).isZero();
        }
    }

    @Test
    void anUnreachableObjectStoreNeverFailsTheLocalStore() throws Exception {
        int[] tokens = IntStream.range(0, 2 * BLOCK).toArray();
        SharedKvTier missingBucket = SharedKvTier.objectStore(s3, "no-such-bucket", "");
        try (ContextStore store = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, missingBucket)) {
            store.putKvBlock(FINGERPRINT, "s", 0, tokens, BLOCK, ContextStoreTest.block(0, 1_000));
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
            assertThat(store.statistics().kvSharedErrors()).isEqualTo(2);   // the write, the read of block 1
        }
    }

    /**
     * A delete while the object store is down (its endpoint refuses connections) leaves the session's blocks there
     * only until it is back: the purge is remembered in the store, survives a reopen, and runs after the next shared
     * write that succeeds.
     */
    @Test
    void aDeleteWhileTheObjectStoreIsDownIsPurgedOnceItIsBack() throws Exception {
        int port;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        S3Proxy own = startProxy(port);
        int[] tokens = IntStream.range(0, 2 * BLOCK).toArray();
        try (S3Client client = client(port)) {
            SharedKvTier tier = SharedKvTier.objectStore(client, BUCKET, "cluster-d");
            try (ContextStore store = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, tier)) {
                store.putKvBlock(FINGERPRINT, "acme/deleted", 0, tokens, BLOCK, ContextStoreTest.block(0, 1_000));
                store.putKvBlock(FINGERPRINT, "acme/deleted", 1, tokens, BLOCK, ContextStoreTest.block(1, 1_000));
                assertThat(keys("cluster-d/")).hasSize(2);

                own.stop();
                store.deleteSession("acme/deleted");
                assertThat(store.sharedPurgesPending()).isEqualTo(1);
                assertThat(keys("cluster-d/")).as("still in the bucket while it is down").hasSize(2);
            }
            own = startProxy(port);
            try (ContextStore reopened = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, tier)) {
                // The retry at open, or the one after this write, purges it.
                reopened.putKvBlock(FINGERPRINT, "acme/other", 0, tokens, BLOCK, ContextStoreTest.block(0, 1_000));
                await().atMost(Duration.ofSeconds(30)).until(() -> reopened.sharedPurgesPending() == 0);
                assertThat(keys("cluster-d/")).hasSize(1).allMatch(k -> k.contains(SharedKvDirectory.sessionDirectoryName("acme/other")));
            }
        } finally {
            own.stop();
        }
    }

    private static S3Proxy startProxy(int port) throws Exception {
        S3Proxy proxy = S3Proxy.builder().blobStore(blobStores.getBlobStore()).endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, "access", "secret").build();
        proxy.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> "STARTED".equals(proxy.getState()));
        return proxy;
    }

    private static S3Client client(int port) {
        return S3Client.builder()
                .endpointOverride(URI.create("http://127.0.0.1:" + port))
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("access", "secret")))
                .forcePathStyle(true)
                .httpClient(UrlConnectionHttpClient.create())
                // s3proxy (like other S3-compatible stores) rejects the SDK's default CRC32 trailers; blocks carry
                // their own XXH64 check anyway.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .build();
    }

    /** Block objects under the prefix (the filesystem backend also lists its directories as "name/" keys). */
    private static List<String> keys(String prefix) {
        List<String> out = new ArrayList<>();
        s3.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(prefix)).contents().stream()
                .map(o -> o.key()).filter(k -> !k.endsWith("/")).forEach(out::add);
        return out;
    }
}
