package io.ultralong.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.util.HexFormat;
import java.util.function.Supplier;

import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The shared KV tier in an S3-compatible bucket, for clusters without a shared file system. One object per block,
 * {@code <prefix><fingerprint hex>/<sha-256 of the session id>/<block index>.kv}, holding the same bytes as a
 * {@link KvBlockFile}. A PUT makes an object visible whole or not at all, so no temporary names are needed; two
 * writers of one block (an old owner not yet fenced) write equally valid bytes and the last PUT wins.
 */
final class ObjectStoreKvTier extends SharedKvTier {

    private final S3Client s3;
    private final String bucket;
    private final String prefix;

    ObjectStoreKvTier(S3Client s3, String bucket, String prefix) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix == null || prefix.isEmpty() || prefix.endsWith("/") ? (prefix == null ? "" : prefix) : prefix + "/";
    }

    @Override
    void write(byte[] fingerprint, String session, long blockIndex, KvBlockFile.Header header, ByteBuffer payload) {
        byte[] object = KvBlockFile.encode(header, payload);
        call("write KV block " + blockIndex, () -> s3.putObject(b -> b.bucket(bucket).key(key(fingerprint, session, blockIndex))
                .contentLength((long) object.length), RequestBody.fromBytes(object)));
    }

    @Override
    KvBlockFile.Read read(byte[] fingerprint, String session, long blockIndex, DirectBufferPool buffers) {
        return call("read KV block " + blockIndex, () -> {
            try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket)
                    .key(key(fingerprint, session, blockIndex)))) {
                Long length = in.response().contentLength();
                if (length == null || length < KvBlockFile.HEADER_BYTES || length > Integer.MAX_VALUE) {
                    return KvBlockFile.Read.CORRUPT;
                }
                ByteBuffer into = ByteBuffer.allocateDirect(Math.toIntExact(length));
                if (!readFully(in, into) || in.read() >= 0) {
                    return KvBlockFile.Read.CORRUPT;
                }
                return KvBlockFile.verify(into.flip());
            } catch (NoSuchKeyException e) {
                return KvBlockFile.Read.MISSING;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Override
    byte[] chainHash(byte[] fingerprint, String session, long blockIndex) {
        return call("read the header of KV block " + blockIndex, () -> {
            try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket)
                    .key(key(fingerprint, session, blockIndex)).range("bytes=0-" + (KvBlockFile.HEADER_BYTES - 1)))) {
                KvBlockFile.Header header = KvBlockFile.decodeHeader(ByteBuffer.wrap(in.readNBytes(KvBlockFile.HEADER_BYTES)));
                return header == null || header.partialTokens() > 0 ? null : header.chainHash();   // a partial block chains nothing
            } catch (NoSuchKeyException e) {
                return null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Override
    void dropFrom(byte[] fingerprint, String session, long from) {
        String sessionPrefix = sessionPrefix(HexFormat.of().formatHex(fingerprint), session);
        call("drop KV blocks", () -> {
            for (S3Object object : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(sessionPrefix)).contents()) {
                if (blockIndexOf(object.key().substring(sessionPrefix.length())) >= from) {
                    s3.deleteObject(b -> b.bucket(bucket).key(object.key()));
                }
            }
            return null;
        });
    }

    @Override
    void dropSession(String session) {
        call("delete a session's KV blocks", () -> {
            for (CommonPrefix fingerprint : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix).delimiter("/"))
                    .commonPrefixes()) {
                String sessionPrefix = fingerprint.prefix() + SharedKvDirectory.sessionDirectoryName(session) + "/";
                for (S3Object object : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(sessionPrefix)).contents()) {
                    s3.deleteObject(b -> b.bucket(bucket).key(object.key()));
                }
            }
            return null;
        });
    }

    private String key(byte[] fingerprint, String session, long blockIndex) {
        return sessionPrefix(HexFormat.of().formatHex(fingerprint), session) + blockIndex + KvBlockFile.SUFFIX;
    }

    private String sessionPrefix(String fingerprintHex, String session) {
        return prefix + fingerprintHex + "/" + SharedKvDirectory.sessionDirectoryName(session) + "/";
    }

    private static boolean readFully(InputStream in, ByteBuffer into) throws IOException {
        ReadableByteChannel channel = Channels.newChannel(in);
        while (into.hasRemaining()) {
            if (channel.read(into) < 0) {
                return false;
            }
        }
        return true;
    }

    /** SDK failures (network, service, credentials) become the tier's UncheckedIOException. */
    private <T> T call(String what, Supplier<T> action) {
        try {
            return action.get();
        } catch (SdkException e) {
            throw new UncheckedIOException("Cannot " + what + " in s3://" + bucket + "/" + prefix, new IOException(e));
        }
    }
}
