package io.ultralong.runtime.model;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A content hash of a weights file (XXH64 over every byte in 8 MiB chunks, via lz4-java's native build), so a KV cache fingerprint
 * tells a retrained checkpoint from another of the same shapes and headers. Hashing 16 GB costs seconds, so each
 * result is cached in a small file keyed by the weights file's absolute path, size and modification time, and a
 * checkpoint is read in full once, not at every load.
 *
 * <p>Cache directory: the {@value #CACHE_PROPERTY} system property, else {@code $XDG_CACHE_HOME/ultralong/
 * weights-digest}, else {@code ~/.cache/ultralong/weights-digest}. If it cannot be written the digest is
 * computed at every load, never an error.
 */
public final class WeightsDigest {

    public static final String CACHE_PROPERTY = "ultralong.weightsDigestCache";

    private static final Logger LOG = LoggerFactory.getLogger(WeightsDigest.class);
    private static final int READ_BYTES = 8 << 20;

    private final Path cacheDirectory;
    private final AtomicLong bytesHashed = new AtomicLong();

    public WeightsDigest(Path cacheDirectory) {
        this.cacheDirectory = cacheDirectory;
    }

    /** The digest cache at its configured or default place. */
    public static WeightsDigest atDefaultCache() {
        String configured = System.getProperty(CACHE_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return new WeightsDigest(Path.of(configured));
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return new WeightsDigest(base.resolve("ultralong").resolve("weights-digest"));
    }

    /** "xxh64:" and 16 hex digits: the hash of the file's bytes, from the cache when path, size and mtime match. */
    public String of(Path file) {
        try {
            Path absolute = file.toAbsolutePath().normalize();
            long size = Files.size(absolute);
            long modified = Files.getLastModifiedTime(absolute).toMillis();
            Path cached = cacheDirectory.resolve(cacheKey(absolute, size, modified));
            String known = readCached(cached);
            if (known != null) {
                return known;
            }
            String digest = hash(absolute);
            writeCached(cached, digest);
            return digest;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot hash the weights file " + file, e);
        }
    }

    /** Bytes this instance read to hash (not from its cache): a test sees whether a load re-read the weights. */
    public long bytesHashed() {
        return bytesHashed.get();
    }

    /** XXH64 over the little-endian XXH64s of the file's 8 MiB chunks, each hashed in the direct read buffer. */
    private String hash(Path file) throws IOException {
        long started = System.nanoTime();
        XXHash64 xxh = XXHashFactory.fastestInstance().hash64();
        ByteBuffer buffer = ByteBuffer.allocateDirect(READ_BYTES);
        ByteArrayOutputStream chunkHashes = new ByteArrayOutputStream();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long position = 0;
            while (true) {
                buffer.clear();
                while (buffer.hasRemaining() && ch.read(buffer, position + buffer.position()) > 0) {
                    // fill the chunk, or reach the end of the file
                }
                int n = buffer.position();
                if (n == 0) {
                    break;
                }
                long h = xxh.hash(buffer, 0, n, 0);
                chunkHashes.write(ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(h).array());
                position += n;
                bytesHashed.addAndGet(n);
            }
        }
        byte[] all = chunkHashes.toByteArray();
        String digest = String.format("xxh64:%016x", xxh.hash(all, 0, all.length, 0));
        LOG.info("Hashed weights {} ({} MB) in {} ms", file.getFileName(), Files.size(file) >> 20,
                (System.nanoTime() - started) / 1_000_000);
        return digest;
    }

    private static String cacheKey(Path absolute, long size, long modified) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((absolute + "\n" + size + "\n" + modified).getBytes(UTF_8));
            return HexFormat.of().formatHex(sha.digest()) + ".digest";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JVM", e);
        }
    }

    private static String readCached(Path cached) {
        try {
            String value = Files.readString(cached, UTF_8).trim();
            return value.matches("xxh64:[0-9a-f]{16}") ? value : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static void writeCached(Path cached, String digest) {
        try {
            Files.createDirectories(cached.getParent());
            Path temporary = Files.createTempFile(cached.getParent(), "digest", ".tmp");
            Files.writeString(temporary, digest, UTF_8);
            Files.move(temporary, cached, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debug("Weights digest not cached in {}: {}", cached.getParent(), e.getMessage());
        }
    }
}
