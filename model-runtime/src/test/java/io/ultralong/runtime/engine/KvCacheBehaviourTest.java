package io.ultralong.runtime.engine;

import static io.ultralong.runtime.engine.LogitsAssert.concat;
import static io.ultralong.runtime.engine.LogitsAssert.relativeError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.ultralong.runtime.kv.BlockKvCache;
import io.ultralong.runtime.kv.KvBlockCodec;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.synthetic.SyntheticModelSpec;
import io.ultralong.runtime.synthetic.SyntheticModelWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Everything the worker does with a cache (chunked prefill, fork for a question, truncate, export/import) must give
 * the logits of one plain pass over the same tokens. "Same" is 1e-5 relative: the maths differ only in the order of
 * the floating-point sums (chunk and block boundaries).
 */
class KvCacheBehaviourTest {

    private static final double SAME = 1e-5;
    private static final int BLOCK = 32;

    @TempDir
    static Path dir;
    static LlamaRuntime runtime;
    static int vocab;

    @BeforeAll
    static void load() {
        SyntheticModelSpec spec = SyntheticModelSpec.tiny();
        vocab = spec.vocabSize();
        ModelDirectory model = ModelDirectory.resolve(SyntheticModelWriter.write(dir, spec));
        runtime = LlamaRuntime.load(model, new RuntimeOptions("cpu", 64, BLOCK, 64));
    }

    @AfterAll
    static void close() {
        runtime.close();
    }

    private static float[] onePass(int[] tokens) {
        try (LlamaRuntime whole = LlamaRuntime.load(ModelDirectory.resolve(dir),
                runtime.options().withPrefillChunkTokens(tokens.length).withAttentionBlockTokens(1 << 20));
                KvCache cache = whole.newCache()) {
            return whole.prefill(cache, tokens, PrefillListener.NONE);
        }
    }

    @Test
    void prefillInChunksOfAnySizeGivesTheLogitsOfOnePass() {
        int[] tokens = LogitsAssert.tokens(300, vocab, 11);
        float[] expected = onePass(tokens);
        for (int chunk : new int[] {1, 17, 64, 299}) {
            for (int attentionBlock : new int[] {BLOCK, 4 * BLOCK}) {
                try (LlamaRuntime chunked = LlamaRuntime.load(ModelDirectory.resolve(dir),
                        runtime.options().withPrefillChunkTokens(chunk).withAttentionBlockTokens(attentionBlock));
                        KvCache cache = chunked.newCache()) {
                    List<long[]> progress = new ArrayList<>();
                    float[] logits = chunked.prefill(cache, tokens, (done, total) -> progress.add(new long[] {done, total}));
                    assertThat(relativeError(logits, expected)).as("chunk %d, attention block %d", chunk, attentionBlock)
                            .isLessThanOrEqualTo(SAME);
                    assertThat(progress).hasSize((tokens.length + chunk - 1) / chunk);
                    assertThat(progress.get(progress.size() - 1)).containsExactly(300, 300);
                    assertThat(cache.length()).isEqualTo(300);
                    assertThat(cache.fullBlocks()).isEqualTo(300 / BLOCK);
                }
            }
        }
    }

    @Test
    void exportImportThenContinueGivesTheLogitsOfOnePass() {
        int[] prefix = LogitsAssert.tokens(5 * BLOCK + 9, vocab, 21);
        int[] rest = LogitsAssert.tokens(23, vocab, 22);
        List<byte[]> exported = new ArrayList<>();
        try (KvCache source = runtime.newCache()) {
            runtime.prefill(source, prefix, PrefillListener.NONE);
            assertThat(source.fullBlocks()).isEqualTo(5);
            for (int i = 0; i < source.fullBlocks(); i++) {
                exported.add(runtime.exportBlock(source, i));
            }
            assertThatThrownBy(() -> runtime.exportBlock(source, 5)).isInstanceOf(IndexOutOfBoundsException.class);
        }
        assertThat(exported.get(0)).hasSize(KvBlockCodec.HEADER_BYTES + (int) (BLOCK * runtime.kvBytesPerToken()));
        try (KvCache restored = runtime.newCache()) {
            for (byte[] block : exported) {
                runtime.importBlock(restored, block);
            }
            assertThat(restored.length()).isEqualTo(5 * BLOCK);
            // the worker prefills what the blocks did not cover, then the new tokens
            int[] uncovered = Arrays.copyOfRange(prefix, 5 * BLOCK, prefix.length);
            float[] logits = runtime.prefill(restored, concat(uncovered, rest), PrefillListener.NONE);
            assertThat(relativeError(logits, onePass(concat(prefix, rest)))).isLessThanOrEqualTo(SAME);
            // re-exporting an imported block gives the very same bytes
            assertThat(runtime.exportBlock(restored, 2)).isEqualTo(exported.get(2));
        }
    }

    /**
     * The unfinished last block exported too: a cache restored from the full blocks and that partial one holds every
     * token, continues with only the new ones to the logits of one pass, and can no longer take a block after it.
     */
    @Test
    void aPartialLastBlockExportedAndImportedLeavesNothingToRecompute() {
        int[] prefix = LogitsAssert.tokens(3 * BLOCK + 9, vocab, 23);
        int[] rest = LogitsAssert.tokens(40, vocab, 24);
        List<byte[]> exported = new ArrayList<>();
        byte[] partial;
        try (KvCache source = runtime.newCache()) {
            runtime.prefill(source, prefix, PrefillListener.NONE);
            for (int i = 0; i < source.fullBlocks(); i++) {
                exported.add(runtime.exportBlock(source, i));
            }
            partial = runtime.exportPartialBlock(source);
            runtime.prefill(source, LogitsAssert.tokens(BLOCK - 9, vocab, 25), PrefillListener.NONE);
            assertThat(runtime.exportPartialBlock(source)).as("a cache that ends on a block boundary").isNull();
        }
        assertThat(partial).hasSize(KvBlockCodec.HEADER_BYTES + (int) (9 * runtime.kvBytesPerToken()));
        try (KvCache restored = runtime.newCache()) {
            for (byte[] block : exported) {
                runtime.importBlock(restored, block);
            }
            runtime.importBlock(restored, ByteBuffer.allocateDirect(partial.length).put(partial).flip());
            assertThat(restored.length()).isEqualTo(prefix.length);
            assertThatThrownBy(() -> runtime.importBlock(restored, exported.get(0))).hasMessageContaining("multiple of " + BLOCK);
            assertThat(runtime.exportPartialBlock(restored)).as("re-exported, the same bytes").isEqualTo(partial);
            // the new tokens fill the imported partial block and go on past it
            float[] logits = runtime.prefill(restored, rest, PrefillListener.NONE);
            assertThat(relativeError(logits, onePass(concat(prefix, rest)))).isLessThanOrEqualTo(SAME);
        }
    }

    /**
     * The context store hands restored blocks over as read-only direct buffers; read-only mappings of block files
     * (direct buffers at an offset, which the runtime must accept as well) stand for them here: importing from those gives
     * the cache a byte[] import gives (same logits, same bytes re-exported), and a damaged one is still refused.
     */
    @Test
    void importFromAMappedBlockFileGivesTheCacheOfTheByteArrayImport() throws Exception {
        int[] prefix = LogitsAssert.tokens(3 * BLOCK + 4, vocab, 41);
        int[] rest = LogitsAssert.tokens(9, vocab, 42);
        List<ByteBuffer> mapped = new ArrayList<>();
        List<byte[]> exported = new ArrayList<>();
        try (KvCache source = runtime.newCache()) {
            runtime.prefill(source, prefix, PrefillListener.NONE);
            for (int i = 0; i < source.fullBlocks(); i++) {
                byte[] block = runtime.exportBlock(source, i);
                exported.add(block);
                Path file = java.nio.file.Files.write(dir.resolve("mapped-" + i + ".kv"), concatBytes(new byte[64], block));
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
                    // At an offset, as the store's payloads sit behind its 64-byte file header.
                    mapped.add(ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 64, block.length));
                }
            }
        }
        try (KvCache restored = runtime.newCache()) {
            for (ByteBuffer block : mapped) {
                runtime.importBlock(restored, block);
                assertThat(block.position()).isZero();
            }
            assertThat(restored.length()).isEqualTo(3 * BLOCK);
            for (int i = 0; i < 3; i++) {
                assertThat(runtime.exportBlock(restored, i)).isEqualTo(exported.get(i));
            }
            float[] logits = runtime.prefill(restored, concat(Arrays.copyOfRange(prefix, 3 * BLOCK, prefix.length), rest),
                    PrefillListener.NONE);
            assertThat(relativeError(logits, onePass(concat(prefix, rest)))).isLessThanOrEqualTo(SAME);
        }
        try (KvCache target = runtime.newCache()) {
            ByteBuffer corrupt = ByteBuffer.allocateDirect(exported.get(1).length).put(exported.get(1)).flip();
            corrupt.put(corrupt.limit() - 1, (byte) (corrupt.get(corrupt.limit() - 1) ^ 1));
            assertThatThrownBy(() -> runtime.importBlock(target, corrupt)).hasMessageContaining("checksum");
            assertThat(target.length()).isZero();
        }
    }

    private static byte[] concatBytes(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void importRejectsCorruptForeignAndMisplacedBlocks() {
        try (KvCache source = runtime.newCache(); KvCache target = runtime.newCache()) {
            runtime.prefill(source, LogitsAssert.tokens(BLOCK + 1, vocab, 5), PrefillListener.NONE);
            byte[] block = runtime.exportBlock(source, 0);

            byte[] corrupt = block.clone();
            corrupt[corrupt.length - 1] ^= 1;
            assertThatThrownBy(() -> runtime.importBlock(target, corrupt)).hasMessageContaining("checksum");

            byte[] otherShape = block.clone();
            ByteBuffer.wrap(otherShape).order(ByteOrder.LITTLE_ENDIAN).putInt(16, 3);
            assertThatThrownBy(() -> runtime.importBlock(target, otherShape)).hasMessageContaining("kvHeads=3");

            runtime.prefill(target, new int[] {1}, PrefillListener.NONE);
            assertThatThrownBy(() -> runtime.importBlock(target, block)).hasMessageContaining("multiple of " + BLOCK);
            assertThat(target.length()).isEqualTo(1);
        }
    }

    @Test
    void forkSharesBlocksAndNeverDisturbsTheParent() {
        int[] session = LogitsAssert.tokens(3 * BLOCK + 5, vocab, 31);   // ends inside a partial block
        int[] question = LogitsAssert.tokens(40, vocab, 32);
        int[] more = LogitsAssert.tokens(12, vocab, 33);
        try (BlockKvCache parent = (BlockKvCache) runtime.newCache()) {
            runtime.prefill(parent, session, PrefillListener.NONE);
            int[] before = parent.blockIds();
            assertThat(before).hasSize(4);
            try (BlockKvCache child = (BlockKvCache) parent.fork()) {
                assertThat(child.length()).isEqualTo(session.length);
                assertThat(child.blockIds()).containsExactly(before);   // shared, not copied
                for (int id : before) {
                    assertThat(parent.arena().referenceCount(id)).isEqualTo(2);
                }
                float[] answer = runtime.prefill(child, question, PrefillListener.NONE);
                assertThat(relativeError(answer, onePass(concat(session, question)))).isLessThanOrEqualTo(SAME);
                // the child wrote past the shared partial block into its own copy: the parent's blocks are untouched
                assertThat(parent.blockIds()).containsExactly(before);
                assertThat(child.blockIds()[3]).isNotEqualTo(before[3]);
                assertThat(Arrays.copyOf(child.blockIds(), 3)).containsExactly(Arrays.copyOf(before, 3));
                assertThat(parent.arena().referenceCount(before[3])).isEqualTo(1);
            }
            assertThat(parent.arena().referenceCount(before[0])).isEqualTo(1);
            assertThat(parent.length()).isEqualTo(session.length);
            float[] continued = runtime.prefill(parent, more, PrefillListener.NONE);
            assertThat(relativeError(continued, onePass(concat(session, more)))).isLessThanOrEqualTo(SAME);
        }
    }

    @Test
    void truncateThenPrefillGivesTheLogitsOfOnePass() {
        int[] kept = LogitsAssert.tokens(2 * BLOCK + 7, vocab, 41);     // cut inside a block
        int[] dropped = LogitsAssert.tokens(50, vocab, 42);
        int[] replacement = LogitsAssert.tokens(9, vocab, 43);
        try (KvCache cache = runtime.newCache()) {
            runtime.prefill(cache, concat(kept, dropped), PrefillListener.NONE);
            cache.truncate(kept.length);
            assertThat(cache.length()).isEqualTo(kept.length);
            assertThat(cache.fullBlocks()).isEqualTo(2);
            float[] logits = runtime.prefill(cache, replacement, PrefillListener.NONE);
            assertThat(relativeError(logits, onePass(concat(kept, replacement)))).isLessThanOrEqualTo(SAME);
            cache.truncate(0);
            assertThat(cache.length()).isZero();
            assertThatThrownBy(() -> cache.truncate(1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void kvInHostMemoryGivesTheSameLogitsAndBlocksAndFreesThem() {
        int[] prefix = LogitsAssert.tokens(3 * BLOCK + 5, vocab, 61);
        int[] rest = LogitsAssert.tokens(9, vocab, 62);
        try (LlamaRuntime host = LlamaRuntime.load(ModelDirectory.resolve(dir), runtime.options().withKvOnHost(true))) {
            // the same bytes either way, so a store's blocks serve both placements
            assertThat(host.fingerprint()).isEqualTo(runtime.fingerprint());
            int baseline = host.liveArrayCount();
            try (KvCache onHost = host.newCache(); KvCache onDevice = runtime.newCache()) {
                host.prefill(onHost, prefix, PrefillListener.NONE);
                runtime.prefill(onDevice, prefix, PrefillListener.NONE);
                for (int i = 0; i < 3; i++) {
                    assertThat(host.exportBlock(onHost, i)).isEqualTo(runtime.exportBlock(onDevice, i));
                }
                try (KvCache imported = host.newCache()) {
                    for (int i = 0; i < 3; i++) {
                        host.importBlock(imported, runtime.exportBlock(onDevice, i));
                    }
                    float[] logits = host.prefill(imported, concat(Arrays.copyOfRange(prefix, 3 * BLOCK, prefix.length), rest),
                            PrefillListener.NONE);
                    assertThat(relativeError(logits, onePass(concat(prefix, rest)))).isLessThanOrEqualTo(SAME);
                }
            }
            assertThat(host.liveArrayCount()).isEqualTo(baseline);
        }
    }

    /**
     * Persistence exports blocks off the model thread: while one thread decodes (allocating blocks, growing and
     * freeing arena slabs through forks it closes), another exports the same full blocks again and again and always
     * reads the bytes they had.
     */
    @Test
    void blocksExportedOnAnotherThreadWhileDecodingStayTheSame() throws Exception {
        int[] prefix = LogitsAssert.tokens(3 * BLOCK, vocab, 71);
        try (KvCache cache = runtime.newCache()) {
            runtime.prefill(cache, prefix, PrefillListener.NONE);
            byte[][] expected = new byte[3][];
            for (int i = 0; i < 3; i++) {
                expected[i] = runtime.exportBlock(cache, i);
            }
            java.util.concurrent.atomic.AtomicBoolean decoding = new java.util.concurrent.atomic.AtomicBoolean(true);
            java.util.concurrent.ExecutorService exporter = java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                java.util.concurrent.Future<Integer> exports = exporter.submit(() -> {
                    int count = 0;
                    while (decoding.get() || count < 30) {
                        assertThat(runtime.exportBlock(cache, count % 3)).isEqualTo(expected[count % 3]);
                        count++;
                    }
                    return count;
                });
                for (int round = 0; round < 6; round++) {
                    try (KvCache fork = cache.fork()) {
                        for (int step = 0; step < 2 * BLOCK; step++) {
                            runtime.prefill(fork, new int[] {(round * 31 + step) % vocab}, PrefillListener.NONE);
                        }
                    }
                }
                decoding.set(false);
                assertThat(exports.get()).isGreaterThanOrEqualTo(30);
            } finally {
                exporter.shutdownNow();
            }
        }
    }

    @Test
    void repeatedPrefillForkAndCloseLeaveNoNativeArraysBehind() {
        int[] tokens = LogitsAssert.tokens(2 * BLOCK + 3, vocab, 51);
        Runnable cycle = () -> {
            try (KvCache cache = runtime.newCache()) {
                runtime.prefill(cache, tokens, PrefillListener.NONE);
                try (KvCache fork = cache.fork()) {
                    runtime.prefill(fork, new int[] {1, 2, 3}, PrefillListener.NONE);
                    runtime.prefill(fork, new int[] {4}, PrefillListener.NONE);   // a decode step
                    fork.truncate(BLOCK + 1);
                }
                runtime.importBlock(runtime.newCache(), runtime.exportBlock(cache, 0));   // never closed: leaks on purpose
            }
        };
        cycle.run();
        int afterWarmUp = runtime.liveArrayCount();
        int blocksAfterWarmUp = runtime.kvBlocksInUse();
        for (int i = 0; i < 20; i++) {
            cycle.run();
        }
        // only the deliberately unclosed cache's one block per cycle may remain, inside the arena's slab
        assertThat(runtime.kvBlocksInUse()).isEqualTo(blocksAfterWarmUp + 20);
        assertThat(runtime.liveArrayCount()).isEqualTo(afterWarmUp);
    }
}
