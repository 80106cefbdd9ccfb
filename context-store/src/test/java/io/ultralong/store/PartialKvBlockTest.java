package io.ultralong.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import net.jpountz.xxhash.XXHashFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The session's unfinished last block stored too: restored last, replaced by the full block, never mistaken. */
class PartialKvBlockTest {

    private static final byte[] FINGERPRINT = "llama-8b|fp16|bs8".getBytes(UTF_8);
    private static final int BLOCK = 8;

    @TempDir
    Path dir;

    /** 3 full blocks and 5 tokens of the fourth. */
    private final int[] tokens = IntStream.range(100, 100 + 3 * BLOCK + 5).toArray();

    @Test
    void aPartialBlockIsDeliveredLastAlsoWhenTheSessionGrewAndAFullBlockReplacesIt() throws Exception {
        try (ContextStore store = ContextStore.open(dir.resolve("a"))) {
            store.putKvBlocks(FINGERPRINT, "s", 0, tokens, BLOCK, List.of(block(0), block(1), block(2)));
            store.putKvPartialBlock(FINGERPRINT, "s", 3, tokens, BLOCK, 5, block(30));

            assertThat(read(store, tokens)).containsExactly(block(0), block(1), block(2), block(30));
            // The session grew past the partial block: its 5 tokens are still the session's, so it still serves.
            int[] grown = IntStream.range(100, 100 + 5 * BLOCK + 2).toArray();
            assertThat(read(store, grown)).containsExactly(block(0), block(1), block(2), block(30));

            // The full block replaces it, file and all.
            long files = blockFiles(dir.resolve("a"));
            store.putKvBlock(FINGERPRINT, "s", 3, grown, BLOCK, block(3));
            assertThat(read(store, grown)).containsExactly(block(0), block(1), block(2), block(3));
            assertThat(blockFiles(dir.resolve("a"))).isEqualTo(files);
            assertThat(store.statistics().foreignBlocksDropped()).isZero();
        }
    }

    @Test
    void aPartialBlockOfOtherTokensIsDroppedAndOneBeyondAnAsOfReadIsKept() throws Exception {
        try (ContextStore store = ContextStore.open(dir.resolve("a"))) {
            store.putKvBlocks(FINGERPRINT, "s", 0, tokens, BLOCK, List.of(block(0), block(1), block(2)));
            store.putKvPartialBlock(FINGERPRINT, "s", 3, tokens, BLOCK, 5, block(30));

            // An as-of read of fewer tokens than the partial block covers: not delivered, not dropped.
            int[] past = java.util.Arrays.copyOf(tokens, 3 * BLOCK + 3);
            assertThat(read(store, past)).hasSize(3);
            assertThat(read(store, tokens)).hasSize(4);

            // One of the partial block's tokens changed (a re-created log): the block is not this session's.
            int[] other = tokens.clone();
            other[3 * BLOCK + 4] = -1;
            assertThat(read(store, other)).hasSize(3);
            assertThat(store.statistics().foreignBlocksDropped()).isEqualTo(1);
            assertThat(read(store, tokens)).as("dropped").hasSize(3);
        }
    }

    @Test
    void aSuccessorRestoresThePartialBlockFromTheSharedDirectory() throws Exception {
        Path shared = dir.resolve("shared-kv");
        try (ContextStore first = ContextStore.open(dir.resolve("w1"), 8L << 20, Long.MAX_VALUE, shared)) {
            first.putKvBlocks(FINGERPRINT, "s", 0, tokens, BLOCK, List.of(block(0), block(1), block(2)));
            first.putKvPartialBlock(FINGERPRINT, "s", 3, tokens, BLOCK, 5, block(30));
        }
        try (ContextStore successor = ContextStore.open(dir.resolve("w2"), 8L << 20, Long.MAX_VALUE, shared)) {
            assertThat(read(successor, tokens)).containsExactly(block(0), block(1), block(2), block(30));
            assertThat(successor.statistics().kvSharedBlockHits()).isEqualTo(4);
            // The successor's own next full block chains from block 2, not from the partial block in the directory.
            int[] grown = IntStream.range(100, 100 + 4 * BLOCK).toArray();
            successor.putKvBlock(FINGERPRINT, "s", 3, grown, BLOCK, block(3));
            assertThat(read(successor, grown)).containsExactly(block(0), block(1), block(2), block(3));
        }
    }

    @Test
    void aPartialBlockNeedsOneToBlockSizeMinusOneTokensThatTheSessionHas() throws Exception {
        try (ContextStore store = ContextStore.open(dir.resolve("a"))) {
            assertThatThrownBy(() -> store.putKvPartialBlock(FINGERPRINT, "s", 3, tokens, BLOCK, BLOCK, block(3)))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> store.putKvPartialBlock(FINGERPRINT, "s", 3, tokens, BLOCK, 6, block(3)))
                    .hasMessageContaining("need 30 tokens, have 29");
        }
    }

    /** Block files written before partial blocks existed (header version 1) still read, as full blocks. */
    @Test
    void aVersionOneHeaderReadsAsAFullBlock() {
        byte[] chain = new byte[ChainHash.BYTES];
        chain[0] = 7;
        ByteBuffer v1 = ByteBuffer.allocate(KvBlockFile.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        v1.putInt(0x464B4C55).putInt(1).putLong(1234).putLong(99).put(chain);
        v1.putLong(XXHashFactory.fastestInstance().hash64().hash(v1.array(), 0, 56, 0));
        KvBlockFile.Header header = KvBlockFile.decodeHeader(v1.flip());
        assertThat(header).isNotNull();
        assertThat(header.payloadLength()).isEqualTo(1234);
        assertThat(header.checksum()).isEqualTo(99);
        assertThat(header.chainHash()).isEqualTo(chain);
        assertThat(header.partialTokens()).isZero();

        KvBlockFile.Header partial = KvBlockFile.decodeHeader(KvBlockFile.encodeHeader(new KvBlockFile.Header(1234, 99, chain, 5)));
        assertThat(partial.partialTokens()).isEqualTo(5);
        assertThat(partial.payloadLength()).isEqualTo(1234);
    }

    private static List<byte[]> read(ContextStore store, int[] sessionTokens) throws Exception {
        List<byte[]> out = new ArrayList<>();
        long n = store.readVerifiedKvBlocks(FINGERPRINT, "s", sessionTokens, BLOCK, (i, b) -> {
            assertThat(i).isEqualTo(out.size());
            out.add(b);
        });
        assertThat(n).isEqualTo(out.size());
        return out;
    }

    private static byte[] block(int index) {
        return ContextStoreTest.block(index, 1000 + index);
    }

    private static long blockFiles(Path storeDir) throws Exception {
        try (var files = Files.walk(storeDir.resolve("kv-blocks"))) {
            return files.filter(p -> p.toString().endsWith(KvBlockFile.SUFFIX)).count();
        }
    }
}
