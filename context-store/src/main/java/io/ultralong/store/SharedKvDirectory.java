package io.ultralong.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared KV tier in a directory every worker mounts (a shared volume or network file system). RocksDB cannot
 * be shared between processes; plain files can.
 *
 * <p>Layout: {@code <root>/<fingerprint hex>/<sha-256 of the session id, hex>/<block index>.kv}, each file a
 * {@link KvBlockFile} (header with chain hash and XXH64, then the payload), the same format as the local store's
 * files, so a successor reads and verifies it at the same speed. A file appears whole or not at all (temporary
 * name, fsync, rename, directory fsync). Only a partition's owner writes a session's blocks; two writers of one
 * block (an old owner not yet fenced) write equally valid bytes for the same tokens, and the last rename wins.
 */
final class SharedKvDirectory extends SharedKvTier {

    private static final Logger LOG = LoggerFactory.getLogger(SharedKvDirectory.class);

    /**
     * Temporary files older than this are a crashed writer's and are swept at start (in the background); younger
     * ones may belong to a live worker on another machine that is about to rename them.
     */
    static final Duration STALE_TEMPORARY = Duration.ofMinutes(15);

    private final Path root;

    SharedKvDirectory(Path root) {
        this.root = root;
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the shared KV directory " + root, e);
        }
        // Walking a large shared tree (a network file system) can take long: never hold up the store's open for it.
        Instant before = Instant.now().minus(STALE_TEMPORARY);
        Thread sweeper = new Thread(() -> sweepTemporaries(before), "shared-kv-sweep");
        sweeper.setDaemon(true);
        sweeper.start();
    }

    Path root() {
        return root;
    }

    @Override
    void write(byte[] fingerprint, String session, long blockIndex, KvBlockFile.Header header, ByteBuffer payload) {
        try {
            KvBlockFile.writeDurably(blockFile(fingerprint, session, blockIndex), header, payload);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write KV block " + blockIndex + " of a session to " + root, e);
        }
    }

    @Override
    void writeAll(byte[] fingerprint, String session, long firstBlock, List<KvBlockFile.Header> headers,
                  List<ByteBuffer> payloads) {
        List<Path> files = new ArrayList<>(headers.size());
        for (int i = 0; i < headers.size(); i++) {
            files.add(blockFile(fingerprint, session, firstBlock + i));
        }
        try {
            KvBlockFile.writeDurably(files, headers, payloads);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write KV blocks from " + firstBlock + " of a session to " + root, e);
        }
    }

    @Override
    KvBlockFile.Read read(byte[] fingerprint, String session, long blockIndex, DirectBufferPool buffers) {
        try {
            return KvBlockFile.read(blockFile(fingerprint, session, blockIndex), buffers);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read KV block " + blockIndex + " of a session from " + root, e);
        }
    }

    @Override
    byte[] chainHash(byte[] fingerprint, String session, long blockIndex) {
        try {
            KvBlockFile.Header header = KvBlockFile.readHeader(blockFile(fingerprint, session, blockIndex));
            return header == null || header.partialTokens() > 0 ? null : header.chainHash();   // a partial block chains nothing
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read KV block " + blockIndex + " of a session from " + root, e);
        }
    }

    @Override
    void dropFrom(byte[] fingerprint, String session, long from) {
        Path dir = sessionDirectory(root, fingerprint, session);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + KvBlockFile.SUFFIX)) {
            for (Path file : files) {
                if (blockIndexOf(file.getFileName().toString()) >= from) {
                    Files.deleteIfExists(file);
                }
            }
        } catch (NoSuchFileException e) {
            // nothing stored
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot drop KV blocks of a session in " + root, e);
        }
    }

    @Override
    void dropSession(String session) {
        try (DirectoryStream<Path> fingerprints = Files.newDirectoryStream(root, Files::isDirectory)) {
            for (Path fingerprint : fingerprints) {
                deleteTree(fingerprint.resolve(sessionDirectoryName(session)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the KV blocks of a session in " + root, e);
        }
    }

    /** Deletes temporary files last modified before {@code before} (left by writers that crashed). */
    int sweepTemporaries(Instant before) {
        int swept = 0;
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.filter(p -> p.getFileName().toString().endsWith(KvBlockFile.TEMP_SUFFIX)).toList()) {
                try {
                    if (Files.getLastModifiedTime(path).compareTo(FileTime.from(before)) < 0 && Files.deleteIfExists(path)) {
                        swept++;
                    }
                } catch (NoSuchFileException e) {
                    // renamed or swept by another worker meanwhile
                }
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("Could not sweep temporary files in the shared KV directory {}: {}", root, e.getMessage());
        }
        if (swept > 0) {
            LOG.info("Swept {} stale temporary KV files from {}", swept, root);
        }
        return swept;
    }

    private Path blockFile(byte[] fingerprint, String session, long blockIndex) {
        return sessionDirectory(root, fingerprint, session).resolve(blockIndex + KvBlockFile.SUFFIX);
    }

    /** {@code <root>/<fingerprint hex>/<sha-256 of the session id>}: session ids may hold any character. */
    static Path sessionDirectory(Path root, byte[] fingerprint, String session) {
        return root.resolve(HexFormat.of().formatHex(fingerprint)).resolve(sessionDirectoryName(session));
    }

    static String sessionDirectoryName(String session) {
        return HexFormat.of().formatHex(ChainHash.sha256().digest(session.getBytes(UTF_8)));
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
