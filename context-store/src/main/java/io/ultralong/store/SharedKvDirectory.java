package io.ultralong.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A second home for verified KV blocks in a directory every worker mounts (a shared volume or network
 * file system), so the worker that takes over a partition restores its sessions' KV instead of
 * recomputing it. RocksDB cannot be shared between processes; plain files can.
 *
 * <p>Layout: {@code <root>/<fingerprint hex>/<sha-256 of the session id, hex>/<block index>.kv}, each file the
 * same value the store keeps (chained hash, CRC32C, length, block bytes), so a reader verifies it exactly like
 * a local block. A file appears whole or not at all: it is written under a unique temporary name and renamed.
 * Only a partition's owner writes a session's blocks; two writers of one block (an old owner not yet fenced)
 * write equally valid bytes for the same tokens, and the last rename wins.
 */
final class SharedKvDirectory {

    private static final String SUFFIX = ".kv";

    private final Path root;

    SharedKvDirectory(Path root) {
        this.root = root;
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the shared KV directory " + root, e);
        }
    }

    Path root() {
        return root;
    }

    void write(byte[] fingerprint, String session, long blockIndex, byte[] value) {
        Path file = blockFile(fingerprint, session, blockIndex);
        try {
            Files.createDirectories(file.getParent());
            Path temporary = file.resolveSibling(file.getFileName() + "." + UUID.randomUUID() + ".tmp");
            Files.write(temporary, value);
            try {
                Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write KV block " + blockIndex + " of a session to " + root, e);
        }
    }

    /** The stored value, or null when no worker wrote this block. */
    byte[] read(byte[] fingerprint, String session, long blockIndex) {
        try {
            return Files.readAllBytes(blockFile(fingerprint, session, blockIndex));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read KV block " + blockIndex + " of a session from " + root, e);
        }
    }

    /** The first {@code hashBytes} bytes of a stored value (its chain hash), or null when the block is absent. */
    byte[] chainHash(byte[] fingerprint, String session, long blockIndex, int hashBytes) {
        try (InputStream in = Files.newInputStream(blockFile(fingerprint, session, blockIndex))) {
            byte[] hash = in.readNBytes(hashBytes);
            return hash.length == hashBytes ? hash : null;
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read KV block " + blockIndex + " of a session from " + root, e);
        }
    }

    /** Deletes blocks {@code from} and after of the session under this fingerprint. */
    void dropFrom(byte[] fingerprint, String session, long from) {
        Path dir = sessionDir(HexFormat.of().formatHex(fingerprint), session);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                if (Long.parseLong(name.substring(0, name.length() - SUFFIX.length())) >= from) {
                    Files.deleteIfExists(file);
                }
            }
        } catch (NoSuchFileException e) {
            // nothing stored
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot drop KV blocks of a session in " + root, e);
        }
    }

    /** Deletes every block of the session, under every fingerprint. */
    void dropSession(String session) {
        try (DirectoryStream<Path> fingerprints = Files.newDirectoryStream(root, Files::isDirectory)) {
            for (Path fingerprint : fingerprints) {
                deleteTree(sessionDir(fingerprint.getFileName().toString(), session));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the KV blocks of a session in " + root, e);
        }
    }

    private Path blockFile(byte[] fingerprint, String session, long blockIndex) {
        return sessionDir(HexFormat.of().formatHex(fingerprint), session).resolve(blockIndex + SUFFIX);
    }

    /** Session ids may hold any character: the directory is named by their digest. */
    private Path sessionDir(String fingerprintHex, String session) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(session.getBytes(UTF_8));
            return root.resolve(fingerprintHex).resolve(HexFormat.of().formatHex(digest));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
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
