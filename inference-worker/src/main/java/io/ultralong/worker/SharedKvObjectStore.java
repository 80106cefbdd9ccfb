package io.ultralong.worker;

import java.net.URI;
import java.util.Optional;

import io.ultralong.store.SharedKvTier;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * The shared KV tier in an S3-compatible bucket ({@link SharedKvTier#objectStore}): for clusters whose workers share
 * no file system. The worker builds the client from these settings and closes it after the store.
 *
 * @param bucket          the bucket (it must exist; the worker does not create it)
 * @param prefix          key prefix of this cluster's blocks, may be empty
 * @param endpoint        an S3-compatible server (MinIO, Ceph, ...); empty: AWS S3 of {@code region}
 * @param region          the SigV4 signing region
 * @param pathStyle       path-style URLs ({@code endpoint/bucket/key}), which most S3-compatible servers need
 * @param accessKeyId     static credentials; empty: the AWS SDK's default chain (environment, profile, instance role)
 * @param secretAccessKey goes with {@code accessKeyId}
 */
public record SharedKvObjectStore(String bucket, String prefix, Optional<URI> endpoint, String region, boolean pathStyle,
                                  Optional<String> accessKeyId, Optional<String> secretAccessKey) {

    public static final String DEFAULT_REGION = "us-east-1";

    public SharedKvObjectStore {
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("the shared KV bucket must not be blank");
        }
        if (accessKeyId.isPresent() != secretAccessKey.isPresent()) {
            throw new IllegalArgumentException("set both the shared KV bucket's access key id and secret access key, or neither");
        }
        prefix = prefix == null ? "" : prefix;
    }

    /** A new client for the bucket (the JDK's HTTP client, as the store's tests use). */
    public S3Client newClient() {
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(region))
                .forcePathStyle(pathStyle)
                .httpClient(UrlConnectionHttpClient.create())
                // Blocks carry their own XXH64 check; the SDK's default CRC trailers are refused by many
                // S3-compatible servers (s3proxy, older MinIO and Ceph), and AWS S3 accepts requests without them.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .credentialsProvider(accessKeyId.isPresent()
                        ? StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKeyId.get(), secretAccessKey.get()))
                        : DefaultCredentialsProvider.builder().build());
        endpoint.ifPresent(builder::endpointOverride);
        return builder.build();
    }

    /** The tier over {@code client}, a client of {@link #newClient()}. */
    public SharedKvTier tier(S3Client client) {
        return SharedKvTier.objectStore(client, bucket, prefix);
    }

    @Override
    public String toString() {
        // Never the secret (settings are logged).
        return "s3://" + bucket + "/" + prefix + endpoint.map(e -> " at " + e).orElse("") + " (" + region + ")";
    }
}
