package io.ultralong.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.ultralong.store.ContextStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipelined restore on a real context store: blocks arrive verified, whole and in order while the store is read
 * on the I/O thread, never more than the read-ahead wait in between, and a failed import stops the reader cleanly.
 */
class KvRestorePipelineTest {

    private static final int BLOCK = 16;
    private static final byte[] FINGERPRINT = "fp-restore-test".getBytes(StandardCharsets.US_ASCII);

    @Test
    void blocksArriveInOrderFromTheReaderThreadWithBoundedReadAhead(@TempDir Path dir) throws Exception {
        int[] tokens = new Random(31).ints(10 * BLOCK + 5, 0, 1000).toArray();
        List<byte[]> stored = new ArrayList<>();
        try (ContextStore store = ContextStore.open(dir);
             KvRestorePipeline pipeline = new KvRestorePipeline(2)) {
            Random random = new Random(32);
            for (int block = 0; block < 10; block++) {
                byte[] payload = new byte[4096 + block];
                random.nextBytes(payload);
                store.putKvBlock(FINGERPRINT, "t/s", block, tokens, BLOCK, payload);
                stored.add(payload);
            }
            Set<String> readers = ConcurrentHashMap.newKeySet();
            int[] delivered = {0};
            int[] maxAhead = {0};
            List<byte[]> imported = new ArrayList<>();   // copies: a lent block goes back to the store once imported
            long restored = pipeline.restore(consumer -> store.readVerifiedKvBuffers(FINGERPRINT, "t/s", tokens, BLOCK,
                    (index, block) -> {
                        readers.add(Thread.currentThread().getName());
                        consumer.accept(index, block);
                        synchronized (delivered) {
                            delivered[0]++;
                        }
                    }), block -> {
                        synchronized (delivered) {
                            // Blocks handed over but not yet imported: at most the read-ahead, plus one being handed.
                            maxAhead[0] = Math.max(maxAhead[0], delivered[0] - imported.size());
                        }
                        imported.add(bytes(block));
                    });

            assertThat(restored).isEqualTo(10);
            assertThat(imported).hasSize(10);
            for (int i = 0; i < 10; i++) {
                assertThat(imported.get(i)).as("block %d", i).isEqualTo(stored.get(i));
            }
            assertThat(readers).containsExactly("ul-kv-reader");
            assertThat(maxAhead[0]).as("read-ahead 2, plus the block being handed over").isLessThanOrEqualTo(3);
        }
    }

    @Test
    void aFailedImportStopsTheReaderAndTheNextRestoreWorks(@TempDir Path dir) throws Exception {
        int[] tokens = new Random(33).ints(20 * BLOCK, 0, 1000).toArray();
        try (ContextStore store = ContextStore.open(dir);
             KvRestorePipeline pipeline = new KvRestorePipeline(1)) {
            for (int block = 0; block < 20; block++) {
                store.putKvBlock(FINGERPRINT, "t/s", block, tokens, BLOCK, new byte[] {(byte) block, 1, 2, 3});
            }
            List<Long> read = new ArrayList<>();
            KvRestorePipeline.VerifiedBlocks blocks = consumer -> store.readVerifiedKvBuffers(FINGERPRINT, "t/s", tokens, BLOCK,
                    (index, block) -> {
                        synchronized (read) {
                            read.add(index);
                        }
                        consumer.accept(index, block);
                    });
            int[] imports = {0};
            assertThatThrownBy(() -> pipeline.restore(blocks, block -> {
                if (++imports[0] == 3) {
                    throw new IllegalStateException("device full");
                }
            })).isInstanceOf(IllegalStateException.class).hasMessage("device full");
            synchronized (read) {
                assertThat(read.size()).as("the reader stopped soon after the failure").isLessThan(20);
            }

            List<Integer> firstBytes = new ArrayList<>();
            assertThat(pipeline.restore(blocks, block -> firstBytes.add((int) block.get(0)))).isEqualTo(20);
            assertThat(firstBytes).isEqualTo(java.util.stream.IntStream.range(0, 20).boxed().toList());
        }
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
