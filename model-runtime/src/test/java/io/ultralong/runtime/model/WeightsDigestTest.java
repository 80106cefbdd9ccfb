package io.ultralong.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightsDigestTest {

    @TempDir
    Path dir;

    @Test
    void oneChangedByteChangesTheDigestAndEqualBytesGiveEqualDigests() throws Exception {
        byte[] weights = new byte[(20 << 20) + 123];   // three 8 MiB chunks, the last one short
        new Random(7).nextBytes(weights);
        Path a = Files.write(dir.resolve("a.safetensors"), weights);
        Path b = Files.write(dir.resolve("b.safetensors"), weights);
        WeightsDigest digest = new WeightsDigest(dir.resolve("cache"));
        String original = digest.of(a);
        assertThat(original).matches("xxh64:[0-9a-f]{16}");
        assertThat(digest.of(b)).isEqualTo(original);
        for (int at : new int[] {0, 9 << 20, weights.length - 1}) {
            byte[] changed = weights.clone();
            changed[at] ^= 1;
            Path c = Files.write(dir.resolve("c" + at + ".safetensors"), changed);
            assertThat(digest.of(c)).as("byte %d flipped", at).isNotEqualTo(original);
        }
    }

    /**
     * The cache is keyed by path, size and mtime: a second digest of an unchanged file reads nothing. Proof: bytes
     * changed behind the cache's back (same size, mtime restored) still give the cached digest, and no byte is read.
     */
    @Test
    void theSecondDigestOfAnUnchangedFileComesFromTheCacheWithoutReadingIt() throws Exception {
        byte[] weights = new byte[1 << 20];
        new Random(3).nextBytes(weights);
        Path file = Files.write(dir.resolve("model.safetensors"), weights);
        FileTime modified = Files.getLastModifiedTime(file);
        String first = new WeightsDigest(dir.resolve("cache")).of(file);

        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(100);
            raf.write(weights[100] ^ 1);
        }
        Files.setLastModifiedTime(file, modified);
        WeightsDigest secondLoad = new WeightsDigest(dir.resolve("cache"));
        assertThat(secondLoad.of(file)).isEqualTo(first);
        assertThat(secondLoad.bytesHashed()).isZero();

        // A real change moves the mtime: the digest is recomputed.
        Files.setLastModifiedTime(file, FileTime.fromMillis(modified.toMillis() + 2_000));
        assertThat(secondLoad.of(file)).isNotEqualTo(first);
        assertThat(secondLoad.bytesHashed()).isEqualTo(weights.length);
    }

    @Test
    void anUnwritableCacheOnlyCostsTheRecomputation() throws Exception {
        Path file = Files.write(dir.resolve("model.safetensors"), new byte[1000]);
        Path notADirectory = Files.write(dir.resolve("cache-file"), new byte[1]);
        WeightsDigest digest = new WeightsDigest(notADirectory);
        assertThat(digest.of(file)).isEqualTo(digest.of(file));
        assertThat(digest.bytesHashed()).isEqualTo(2000);
    }
}
