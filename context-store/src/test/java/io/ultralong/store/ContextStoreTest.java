package io.ultralong.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContextStoreTest {

    private static final byte[] FINGERPRINT = "llama-8b|fp16|bs4".getBytes(UTF_8);
    private static final int BLOCK = 4;

    @TempDir
    Path dir;

    @Test
    void reapplyingAChunkIsADuplicateAndAGapIsReportedWithTheExpectedSeq() throws Exception {
        try (ContextStore store = ContextStore.open(dir)) {
            assertThat(store.appendChunk("s", 1, 0, 10, new int[] {1, 2, 3}, 0, 10))
                    .isEqualTo(new AppendResult(AppendResult.Status.APPLIED, 2));
            assertThat(store.appendChunk("s", 1, 0, 10, new int[] {1, 2, 3}, 0, 10).status())
                    .isEqualTo(AppendResult.Status.DUPLICATE);
            assertThat(store.appendChunk("s", 3, 3, 12, new int[] {9})).isEqualTo(AppendResult.gap(2));
            assertThat(store.appendChunk("s", 2, 3, 11, new int[] {4, 5}, 0, 11).status())
                    .isEqualTo(AppendResult.Status.APPLIED);
            assertThatThrownBy(() -> store.appendChunk("s", 3, 7, 12, new int[] {6}))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        try (ContextStore store = ContextStore.open(dir)) {
            assertThat(store.readTokens("s")).containsExactly(1, 2, 3, 4, 5);
            assertThat(store.readTokensUpToSeq("s", 1)).containsExactly(1, 2, 3);
            assertThat(store.readTokensUpToSourceOffset("s", 10)).containsExactly(1, 2, 3);
            SessionInfo info = store.session("s");
            assertThat(info.lastSeq()).isEqualTo(2);
            assertThat(info.lastSourceOffset()).isEqualTo(11);
            assertThat(info.tokenCount()).isEqualTo(5);
            assertThat(store.appliedOffset(0)).isEqualTo(12);
            assertThat(store.appliedOffset(1)).isEqualTo(-1);
        }
    }

    @Test
    void metadataIsDerivedInTheChunksBatchAndUntouchedByADuplicate() throws Exception {
        try (ContextStore store = ContextStore.open(dir)) {
            java.util.function.UnaryOperator<byte[]> count = m -> new byte[] {(byte) (m.length == 0 ? 1 : m[0] + 1)};
            store.appendChunk("s", 1, 0, 10, new int[] {1, 2}, 0, 10, count);
            store.appendChunk("s", 2, 2, 11, new int[] {3}, 0, 11, count);
            assertThat(store.appendChunk("s", 2, 2, 11, new int[] {3}, 0, 11, count).status())
                    .isEqualTo(AppendResult.Status.DUPLICATE);
            assertThat(store.session("s").metadata()).containsExactly(2);
            assertThat(store.appliedOffset(0)).isEqualTo(12);
        }
    }

    @Test
    void recordsMetadataAndDeleteRemoveEverything() throws Exception {
        try (ContextStore store = ContextStore.open(dir)) {
            int[] tokens = IntStream.range(0, 8).toArray();
            store.appendChunk("a", 1, 0, 0, tokens);
            store.appendChunk("b", 1, 0, 0, new int[] {7});
            store.putRecord("a", 1, "hello".getBytes(UTF_8));
            store.putMetadata("a", "{\"user\":1}".getBytes(UTF_8));
            store.putKvBlock(FINGERPRINT, "a", 0, tokens, BLOCK, new byte[100_000]);
            store.putWatchProgress("a", "errors", 8);
            store.putWatchProgress("b", "errors", 1);
            assertThat(store.watchProgress("a", "errors")).isEqualTo(8);
            assertThat(store.watchProgress("a", "other")).isEqualTo(-1);
            assertThat(store.listSessions()).containsExactly("a", "b");
            assertThat(store.session("a").metadata()).isEqualTo("{\"user\":1}".getBytes(UTF_8));
            assertThat(store.record("a", 1)).isEqualTo("hello".getBytes(UTF_8));

            store.deleteSession("a");
            store.compact();
            assertThat(store.listSessions()).containsExactly("b");
            assertThat(store.readTokens("a")).isEmpty();
            assertThat(store.record("a", 1)).isNull();
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "a", tokens, BLOCK, (i, b) -> { })).isZero();
            assertThat(store.readTokens("b")).containsExactly(7);
            assertThat(store.watchProgress("a", "errors")).isEqualTo(-1);
            assertThat(store.watchProgress("b", "errors")).isEqualTo(1);
            store.deleteWatchProgress("b", "errors");
            assertThat(store.watchProgress("b", "errors")).isEqualTo(-1);
        }
    }

    @Test
    void returnsTheLongestPrefixMatchingTheCurrentTokensAndNothingForAnotherFingerprint() throws Exception {
        int[] tokens = IntStream.range(0, 12).toArray();
        try (ContextStore store = ContextStore.open(dir)) {
            for (int b = 0; b < 3; b++) {
                store.putKvBlock(FINGERPRINT, "s", b, tokens, BLOCK, block(b, 70_000));
            }
            List<Long> seen = new ArrayList<>();
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> {
                assertThat(b).isEqualTo(block((int) i, 70_000));
                seen.add(i);
            })).isEqualTo(3);
            assertThat(seen).containsExactly(0L, 1L, 2L);

            assertThat(store.readVerifiedKvBlocks("other".getBytes(UTF_8), "s", tokens, BLOCK, (i, b) -> { }))
                    .isZero();

            int[] edited = tokens.clone();
            edited[5] = 999; // block 1 now covers other tokens: blocks 1 and 2 are stale
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", edited, BLOCK, (i, b) -> { })).isEqualTo(1);
            assertThat(store.statistics().foreignBlocksDropped()).isEqualTo(1);
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
        }
    }

    @Test
    void blocksWrittenOneByOneChainLikeTheWholeLogAndAStalePredecessorSpoilsTheNext() throws Exception {
        int[] tokens = IntStream.range(0, 16).toArray();
        try (ContextStore store = ContextStore.open(dir)) {
            // Each block's hash is chained from the stored hash of the one before: they must verify as one chain.
            for (int b = 0; b < 4; b++) {
                store.putKvBlock(FINGERPRINT, "s", b, tokens, BLOCK, block(b, 1_000));
            }
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(4);

            // The log changed in block 1; block 2 is written on top of the stale block 1's hash.
            int[] edited = tokens.clone();
            edited[5] = 999;
            store.putKvBlock(FINGERPRINT, "t", 0, tokens, BLOCK, block(0, 1_000));
            store.putKvBlock(FINGERPRINT, "t", 1, tokens, BLOCK, block(1, 1_000));
            store.putKvBlock(FINGERPRINT, "t", 2, edited, BLOCK, block(2, 1_000));
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "t", edited, BLOCK, (i, b) -> { })).isEqualTo(1);
        }
    }

    /** A batch writes the same files a block-by-block put does, shared copies included, and later blocks chain on. */
    @Test
    void blocksStoredInOneBatchAreTheFilesOfOneByOnePutsAndLaterBlocksChainOnThem() throws Exception {
        Path sharedDir = dir.resolve("shared-kv");
        int[] tokens = IntStream.range(0, 4 * BLOCK).toArray();
        try (ContextStore store = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
            store.putKvBlocks(FINGERPRINT, "batch", 0, tokens, BLOCK, List.of(block(0, 1_000), block(1, 1_000), block(2, 1_000)));
            for (int b = 0; b < 3; b++) {
                store.putKvBlock(FINGERPRINT, "single", b, tokens, BLOCK, block(b, 1_000));
            }
            store.putKvBlock(FINGERPRINT, "batch", 3, tokens, BLOCK, block(3, 1_000));
            assertThat(store.statistics().kvBlocksWritten()).isEqualTo(7);
            for (int b = 0; b < 3; b++) {
                assertThat(Files.readAllBytes(sharedPath(sharedDir, "batch").resolve(b + ".kv")))
                        .isEqualTo(Files.readAllBytes(sharedPath(sharedDir, "single").resolve(b + ".kv")));
            }
            // Each buffer is the block's own: still valid, and read-only, after the read is over.
            List<ByteBuffer> kept = new ArrayList<>();
            assertThat(store.readVerifiedKvBuffers(FINGERPRINT, "batch", tokens, BLOCK, (i, b) -> kept.add(b.payload()))).isEqualTo(4);
            for (int b = 0; b < 4; b++) {
                assertThat(kept.get(b).isReadOnly()).isTrue();
                assertThat(KvBlockFileTest.bytes(kept.get(b))).isEqualTo(block(b, 1_000));
            }
        }
        try (ContextStore successor = ContextStore.open(dir.resolve("w2"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
            assertThat(successor.readVerifiedKvBlocks(FINGERPRINT, "batch", tokens, BLOCK, (i, b) -> { })).isEqualTo(4);
        }
    }

    @Test
    void flippedBytesInAStoredBlockAreDetectedAndNeverReturned() throws Exception {
        int[] tokens = IntStream.range(0, 8).toArray();
        byte[] payload = block(1, 200_000);
        try (ContextStore store = ContextStore.open(dir)) {
            store.putKvBlock(FINGERPRINT, "s", 0, tokens, BLOCK, block(0, 200_000));
            store.putKvBlock(FINGERPRINT, "s", 1, tokens, BLOCK, payload);
        }
        flipByteOf(blockFile(dir, 1), payload, 1000);
        try (ContextStore store = ContextStore.open(dir)) {
            List<byte[]> returned = new ArrayList<>();
            long delivered = store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> returned.add(b));
            assertThat(delivered).isEqualTo(1);
            assertThat(returned.get(0)).isEqualTo(block(0, 200_000));
            assertThat(store.statistics().corruptBlocksDropped()).isEqualTo(1);
        }
    }

    @Test
    void quotaEvictsTheLeastRecentlyUsedSessionsKvButKeepsItsTokenLog() throws Exception {
        int[] tokens = IntStream.range(0, BLOCK).toArray();
        int valueBytes = 100_000 + KvBlockFile.HEADER_BYTES; // a block file: header, then the payload
        try (ContextStore store = ContextStore.open(dir, 8L << 20, 2L * valueBytes + 1000)) {
            for (String s : List.of("a", "b")) {
                store.appendChunk(s, 1, 0, 0, tokens);
                store.putKvBlock(FINGERPRINT, s, 0, tokens, BLOCK, block(0, 100_000));
            }
            // Reading a's blocks makes b the least recently used session.
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "a", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
            store.appendChunk("c", 1, 0, 0, tokens);
            store.putKvBlock(FINGERPRINT, "c", 0, tokens, BLOCK, block(0, 100_000));

            assertThat(store.statistics().kvEvictions()).isEqualTo(1);
            assertThat(store.statistics().kvBytesStored()).isEqualTo(2L * valueBytes);
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "b", tokens, BLOCK, (i, b) -> { })).isZero();
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "a", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "c", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
            assertThat(store.readTokens("b")).isEqualTo(tokens);
        }
        try (ContextStore store = ContextStore.open(dir)) {
            assertThat(store.statistics().kvBytesStored()).isEqualTo(2L * valueBytes);
        }
    }

    @Test
    void aZeroQuotaMeansNoQuotaNotEvictEverything() throws Exception {
        int[] tokens = IntStream.range(0, BLOCK).toArray();
        try (ContextStore store = ContextStore.open(dir, 8L << 20, 0)) {
            for (String s : List.of("a", "b", "c")) {
                store.appendChunk(s, 1, 0, 0, tokens);
                store.putKvBlock(FINGERPRINT, s, 0, tokens, BLOCK, block(0, 100_000));
            }
            assertThat(store.statistics().kvEvictions()).isZero();
            for (String s : List.of("a", "b", "c")) {
                assertThat(store.readVerifiedKvBlocks(FINGERPRINT, s, tokens, BLOCK, (i, b) -> { })).as(s).isEqualTo(1);
            }
        }
    }

    /** Two workers' stores on one shared KV directory: what one persisted, the other restores, verified. */
    @Test
    void aSharedKvDirectoryHandsVerifiedBlocksToAnotherStore() throws Exception {
        Path sharedDir = dir.resolve("shared-kv");
        int[] tokens = IntStream.range(0, 3 * BLOCK + 1).toArray();
        try (ContextStore first = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, sharedDir);
             ContextStore second = ContextStore.open(dir.resolve("w2"), 8L << 20, 2_500, sharedDir)) {
            first.appendChunk("acme/s", 1, 0, 0, tokens);
            for (int b = 0; b < 3; b++) {
                first.putKvBlock(FINGERPRINT, "acme/s", b, tokens, BLOCK, block(b, 1_000));
            }
            List<byte[]> restored = new ArrayList<>();
            assertThat(second.readVerifiedKvBlocks(FINGERPRINT, "acme/s", tokens, BLOCK, (i, b) -> restored.add(b))).isEqualTo(3);
            assertThat(restored).containsExactly(block(0, 1_000), block(1, 1_000), block(2, 1_000));
            assertThat(second.statistics().kvSharedBlockHits()).isEqualTo(3);
            assertThat(second.readVerifiedKvBlocks("other".getBytes(UTF_8), "acme/s", tokens, BLOCK, (i, b) -> { })).isZero();

            // Another worker's local quota evicts its own copies only: the shared ones stay.
            second.appendChunk("acme/s", 1, 0, 0, tokens);
            second.putKvBlock(FINGERPRINT, "acme/s", 0, tokens, BLOCK, block(0, 1_000));
            second.putKvBlock(FINGERPRINT, "acme/t", 0, tokens, BLOCK, block(0, 1_000));
            second.putKvBlock(FINGERPRINT, "acme/t", 1, tokens, BLOCK, block(1, 1_000));
            assertThat(second.statistics().kvEvictions()).isEqualTo(1);
            assertThat(second.readVerifiedKvBlocks(FINGERPRINT, "acme/s", tokens, BLOCK, (i, b) -> { })).isEqualTo(3);
            assertThat(second.statistics().kvSharedBlockHits()).isEqualTo(6);

            // A damaged shared block is never returned: it and the blocks after it are dropped.
            Path blockOne = sharedPath(sharedDir, "acme/s").resolve("1.kv");
            flipByteOf(blockOne, block(1, 1_000), 10);
            try (ContextStore third = ContextStore.open(dir.resolve("w3"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
                assertThat(third.readVerifiedKvBlocks(FINGERPRINT, "acme/s", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
                assertThat(third.statistics().corruptBlocksDropped()).isEqualTo(1);
                assertThat(Files.exists(blockOne)).isFalse();
                assertThat(Files.exists(blockOne.resolveSibling("2.kv"))).isFalse();
            }

            // Deleting the session empties the shared directory of it.
            first.deleteSession("acme/s");
            try (ContextStore fourth = ContextStore.open(dir.resolve("w4"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
                assertThat(fourth.readVerifiedKvBlocks(FINGERPRINT, "acme/s", tokens, BLOCK, (i, b) -> { })).isZero();
            }
            assertThat(second.readVerifiedKvBlocks(FINGERPRINT, "acme/t", tokens, BLOCK, (i, b) -> { })).isEqualTo(2);
        }
    }

    /** The next owner continues a session restored from the shared directory: its new block chains onto theirs. */
    @Test
    void aBlockWrittenAfterASharedRestoreChainsOntoTheSharedBlocks() throws Exception {
        Path sharedDir = dir.resolve("shared-kv");
        int[] tokens = IntStream.range(0, 4 * BLOCK).toArray();
        try (ContextStore previousOwner = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, sharedDir);
             ContextStore nextOwner = ContextStore.open(dir.resolve("w2"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
            for (int b = 0; b < 3; b++) {
                previousOwner.putKvBlock(FINGERPRINT, "s", b, tokens, BLOCK, block(b, 1_000));
            }
            assertThat(nextOwner.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(3);
            nextOwner.putKvBlock(FINGERPRINT, "s", 3, tokens, BLOCK, block(3, 1_000));
        }
        try (ContextStore third = ContextStore.open(dir.resolve("w3"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
            assertThat(third.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(4);
        }
    }

    @Test
    void anUnusableSharedKvDirectoryNeverFailsTheLocalStore() throws Exception {
        Path sharedDir = dir.resolve("shared-kv");
        Files.createDirectories(sharedDir);
        // A file where the fingerprint's directory should be: every shared write and read fails.
        Files.write(sharedDir.resolve(java.util.HexFormat.of().formatHex(FINGERPRINT)), new byte[] {1});
        int[] tokens = IntStream.range(0, 2 * BLOCK).toArray();
        try (ContextStore store = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
            store.appendChunk("s", 1, 0, 0, tokens);
            store.putKvBlock(FINGERPRINT, "s", 0, tokens, BLOCK, block(0, 1_000));
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
            store.deleteSession("s");
            assertThat(store.statistics().kvSharedErrors()).isEqualTo(2);   // the write, the read of block 1
            assertThat(store.statistics().kvBlocksWritten()).isEqualTo(1);
        }
    }

    @Test
    void blocksArriveInDirectBuffersAndTheirPayloadsNeverGoThroughTheWal() throws Exception {
        int[] tokens = IntStream.range(0, 8 * BLOCK).toArray();
        try (ContextStore store = ContextStore.open(dir)) {
            for (int b = 0; b < 8; b++) {
                store.putKvBlock(FINGERPRINT, "s", b, tokens, BLOCK, block(b, 256 * 1024));
            }
            List<Long> seen = new ArrayList<>();
            // Twice, each block given back when seen: the second pass reads into buffers that held other blocks.
            for (int pass = 0; pass < 2; pass++) {
                seen.clear();
                assertThat(store.readVerifiedKvBuffers(FINGERPRINT, "s", tokens, BLOCK, (i, block) -> {
                    try (block) {
                        assertThat(block.payload().isDirect()).isTrue();
                        assertThat(KvBlockFileTest.bytes(block.payload())).isEqualTo(block((int) i, 256 * 1024));
                    }
                    seen.add(i);
                })).isEqualTo(8);
                assertThat(seen).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L);
            }
            long walBytes;
            try (Stream<Path> files = Files.list(dir)) {
                walBytes = files.filter(p -> p.toString().endsWith(".log")).mapToLong(p -> p.toFile().length()).sum();
            }
            assertThat(walBytes).as("WAL bytes after 2 MiB of KV payloads").isLessThan(64 * 1024);
        }
    }

    @Test
    void orphanAndTemporaryBlockFilesAreSweptAtOpen() throws Exception {
        int[] tokens = IntStream.range(0, 2 * BLOCK).toArray();
        try (ContextStore store = ContextStore.open(dir)) {
            store.putKvBlock(FINGERPRINT, "s", 0, tokens, BLOCK, block(0, 1_000));
        }
        Path indexed = blockFile(dir, 0);
        // What a crash leaves: a renamed file whose index entry never committed, and a temporary file.
        Path orphan = indexed.resolveSibling("1-abc" + KvBlockFile.SUFFIX);
        Path temporary = indexed.resolveSibling("1-abc.kv.1234" + KvBlockFile.TEMP_SUFFIX);
        Files.write(orphan, new byte[100]);
        Files.write(temporary, new byte[100]);
        try (ContextStore store = ContextStore.open(dir)) {
            assertThat(orphan).doesNotExist();
            assertThat(temporary).doesNotExist();
            assertThat(indexed).exists();
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
            assertThat(store.statistics().kvBytesStored()).isEqualTo(1_000 + KvBlockFile.HEADER_BYTES);
        }
    }

    @Test
    void aMissingOrTruncatedBlockFileIsRecomputedNeverAnError() throws Exception {
        int[] tokens = IntStream.range(0, 3 * BLOCK).toArray();
        try (ContextStore store = ContextStore.open(dir)) {
            for (int b = 0; b < 3; b++) {
                store.putKvBlock(FINGERPRINT, "s", b, tokens, BLOCK, block(b, 1_000));
            }
            Files.delete(blockFile(dir, 2));
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(2);
            assertThat(store.statistics().kvBlockMisses()).isEqualTo(1);
            assertThat(store.statistics().kvBytesStored()).isEqualTo(2L * (1_000 + KvBlockFile.HEADER_BYTES));

            Path one = blockFile(dir, 1);
            try (RandomAccessFile raf = new RandomAccessFile(one.toFile(), "rw")) {
                raf.setLength(500);
            }
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
            assertThat(store.statistics().corruptBlocksDropped()).isEqualTo(1);
            assertThat(one).doesNotExist();

            // Recomputed blocks are stored again under new files and verify.
            store.putKvBlock(FINGERPRINT, "s", 1, tokens, BLOCK, block(1, 1_000));
            store.putKvBlock(FINGERPRINT, "s", 2, tokens, BLOCK, block(2, 1_000));
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(3);
        }
    }

    @Test
    void aRewrittenBlockReplacesItsFileAndTheQuotaCountsItOnce() throws Exception {
        int[] tokens = IntStream.range(0, BLOCK).toArray();
        try (ContextStore store = ContextStore.open(dir)) {
            store.putKvBlock(FINGERPRINT, "s", 0, tokens, BLOCK, block(0, 1_000));
            Path first = blockFile(dir, 0);
            store.putKvBlock(FINGERPRINT, "s", 0, tokens, BLOCK, block(7, 2_000));
            assertThat(first).doesNotExist();
            List<byte[]> read = new ArrayList<>();
            assertThat(store.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> read.add(b))).isEqualTo(1);
            assertThat(read.get(0)).isEqualTo(block(7, 2_000));
            assertThat(store.statistics().kvBytesStored()).isEqualTo(2_000 + KvBlockFile.HEADER_BYTES);
        }
    }

    /** Before payloads moved to files they were RocksDB blob values in column families kv and kv_sizes. */
    @Test
    void aStoreOfThePreviousLayoutKeepsItsLogAndDropsItsKvBlocks() throws Exception {
        List<org.rocksdb.ColumnFamilyDescriptor> families = new ArrayList<>();
        for (String name : List.of("default", "sessions", "tokens", "records", "kv", "watermarks", "kv_sizes",
                "kv_access", "watch_progress")) {
            families.add(new org.rocksdb.ColumnFamilyDescriptor(name.getBytes(UTF_8)));
        }
        List<org.rocksdb.ColumnFamilyHandle> handles = new ArrayList<>();
        try (org.rocksdb.DBOptions options = new org.rocksdb.DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
             org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(options, dir.toString(), families, handles)) {
            db.put(handles.get(4), new byte[] {1}, new byte[100_000]);
            handles.forEach(org.rocksdb.ColumnFamilyHandle::close);
        }
        try (ContextStore store = ContextStore.open(dir)) {
            store.appendChunk("s", 1, 0, 0, new int[] {1, 2, 3});
        }
        try (ContextStore store = ContextStore.open(dir);
             org.rocksdb.Options options = new org.rocksdb.Options()) {
            assertThat(store.readTokens("s")).containsExactly(1, 2, 3);
            assertThat(org.rocksdb.RocksDB.listColumnFamilies(options, dir.toString()).stream().map(n -> new String(n, UTF_8)))
                    .doesNotContain("kv", "kv_sizes").contains("kv_index");
        }
    }

    @Test
    void aTruncatedOrEmptySharedFileIsCorruptAndDropped() throws Exception {
        Path sharedDir = dir.resolve("shared-kv");
        int[] tokens = IntStream.range(0, 3 * BLOCK).toArray();
        try (ContextStore first = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
            for (int b = 0; b < 3; b++) {
                first.putKvBlock(FINGERPRINT, "s", b, tokens, BLOCK, block(b, 1_000));
            }
        }
        Path session = sharedPath(sharedDir, "s");
        try (RandomAccessFile raf = new RandomAccessFile(session.resolve("1.kv").toFile(), "rw")) {
            raf.setLength(600);
        }
        try (ContextStore second = ContextStore.open(dir.resolve("w2"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
            assertThat(second.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isEqualTo(1);
            assertThat(second.statistics().corruptBlocksDropped()).isEqualTo(1);
            assertThat(session.resolve("1.kv")).doesNotExist();
            assertThat(session.resolve("2.kv")).doesNotExist();
            Files.write(session.resolve("0.kv"), new byte[0]);
            assertThat(second.readVerifiedKvBlocks(FINGERPRINT, "s", tokens, BLOCK, (i, b) -> { })).isZero();
            assertThat(second.statistics().corruptBlocksDropped()).isEqualTo(2);
        }
    }

    @Test
    void staleTemporaryFilesInTheSharedDirectoryAreSweptAtStartAndFreshOnesKept() throws Exception {
        Path sharedDir = dir.resolve("shared-kv");
        Path session = sharedPath(sharedDir, "s");
        Files.createDirectories(session);
        Path stale = session.resolve("0.kv.crashed" + KvBlockFile.TEMP_SUFFIX);
        Path fresh = session.resolve("1.kv.writing" + KvBlockFile.TEMP_SUFFIX);
        Files.write(stale, new byte[10]);
        Files.write(fresh, new byte[10]);
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.from(
                java.time.Instant.now().minus(SharedKvDirectory.STALE_TEMPORARY).minusSeconds(60)));
        try (ContextStore store = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, sharedDir)) {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> !Files.exists(stale));
            assertThat(fresh).exists();   // another worker may be about to rename it
        }
    }

    private static Path sharedPath(Path sharedDir, String session) throws Exception {
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(session.getBytes(UTF_8));
        return sharedDir.resolve(java.util.HexFormat.of().formatHex(FINGERPRINT)).resolve(java.util.HexFormat.of().formatHex(digest));
    }

    /** The local file of block {@code index} (the store holds one session under one fingerprint). */
    static Path blockFile(Path storeDir, long index) throws IOException {
        try (Stream<Path> files = Files.walk(storeDir.resolve(KvBlockStore.FILES_DIRECTORY))) {
            return files.filter(p -> p.getFileName().toString().startsWith(index + "-")
                    && p.getFileName().toString().endsWith(KvBlockFile.SUFFIX)).findFirst().orElseThrow();
        }
    }

    /** Finds the payload in the file and flips one of its bytes in place. */
    private static void flipByteOf(Path file, byte[] payload, int offsetInPayload) throws IOException {
        byte[] all = Files.readAllBytes(file);
        int at = indexOf(all, java.util.Arrays.copyOfRange(payload, 0, 64));
        assertThat(at).isNotNegative();
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(at + offsetInPayload);
            raf.write(all[at + offsetInPayload] ^ 0x40);
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static byte[] block(int index, int size) {
        // Seeded random bytes: like fp16 activations they do not compress and no block repeats another's bytes.
        byte[] b = new byte[size];
        new java.util.Random(index * 1_000_003L + size).nextBytes(b);
        return b;
    }
}
