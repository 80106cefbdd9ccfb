package io.ultralong.store;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

import software.amazon.awssdk.services.s3.S3Client;

/**
 * A second home for verified KV blocks that every worker reaches, so the worker that takes over a partition
 * restores its sessions' KV instead of recomputing it: a directory all workers mount ({@link #directory}) or an
 * S3-compatible bucket ({@link #objectStore}). Both hold blocks in the {@link KvBlockFile} format under
 * {@code <fingerprint hex>/<sha-256 of the session id>/<block index>.kv}, and a reader verifies them exactly like
 * local blocks. A failing tier never fails the store: its operations throw {@link java.io.UncheckedIOException},
 * which the store logs, counts ({@code kvSharedErrors}) and goes on without.
 */
public abstract class SharedKvTier {

    SharedKvTier() {
    }

    /** A directory every worker mounts (shared volume, network file system). */
    public static SharedKvTier directory(Path root) {
        return new SharedKvDirectory(root);
    }

    /**
     * A bucket of an S3-compatible object store. The client is the caller's (endpoint, region, credentials,
     * path-style access); the store does not close it. Keys start with {@code prefix} (may be empty).
     */
    public static SharedKvTier objectStore(S3Client client, String bucket, String prefix) {
        return new ObjectStoreKvTier(client, bucket, prefix);
    }

    /** Makes the block available whole or not at all. */
    abstract void write(byte[] fingerprint, String session, long blockIndex, KvBlockFile.Header header, ByteBuffer payload);

    /** Consecutive blocks from {@code firstBlock}, each available whole or not at all; by default one at a time. */
    void writeAll(byte[] fingerprint, String session, long firstBlock, List<KvBlockFile.Header> headers,
                  List<ByteBuffer> payloads) {
        for (int i = 0; i < headers.size(); i++) {
            write(fingerprint, session, firstBlock + i, headers.get(i), payloads.get(i));
        }
    }

    /**
     * The verified block (full or partial, as its header says), its payload in a direct buffer of its own; MISSING when no worker wrote it, CORRUPT when
     * it is damaged (empty, short, ...).
     */
    abstract KvBlockFile.Read read(byte[] fingerprint, String session, long blockIndex, DirectBufferPool buffers);

    /**
     * The chain hash stored with a full block, or null when the block is absent, partial (nothing chains from it) or
     * its header is damaged.
     */
    abstract byte[] chainHash(byte[] fingerprint, String session, long blockIndex);

    /** Deletes blocks {@code from} and after of the session under this fingerprint. */
    abstract void dropFrom(byte[] fingerprint, String session, long from);

    /** Deletes every block of the session, under every fingerprint. */
    abstract void dropSession(String session);

    /** Block index from a {@code <index>.kv} name, or -1 for any other name. */
    static long blockIndexOf(String name) {
        if (!name.endsWith(KvBlockFile.SUFFIX)) {
            return -1;
        }
        try {
            return Long.parseLong(name.substring(0, name.length() - KvBlockFile.SUFFIX.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
