package io.ultralong.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A child JVM appending chunks and KV blocks is SIGKILLed 20 times; every reopen sees a clean prefix. */
class CrashSafetyTest {

    private static final int KILLS = 20;

    @TempDir
    Path dir;

    @Test
    void killedWriterLeavesAGaplessPrefixAndOnlyVerifiedBlocks() throws Exception {
        Random random = new Random(42);
        long previousSeq = 0;
        for (int round = 0; round < KILLS; round++) {
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), CrashWriterMain.class.getName(), dir.toString())
                    .redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()));
            assertThat(out.readLine()).isEqualTo("ready");
            // Let it write for a random while; it must still be running when we kill it.
            assertThat(child.waitFor(50 + random.nextInt(400), TimeUnit.MILLISECONDS)).isFalse();
            child.destroyForcibly();
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();

            previousSeq = verify(previousSeq);
        }
        assertThat(previousSeq).isGreaterThan(KILLS);
    }

    private long verify(long previousSeq) throws Exception {
        try (ContextStore store = ContextStore.open(dir)) {
            SessionInfo info = store.session(CrashWriterMain.SESSION);
            assertThat(info).isNotNull();
            assertThat(info.lastSeq()).isGreaterThanOrEqualTo(previousSeq);
            // Rebuild what the writer sent for seq 1..lastSeq: the stored log must equal it exactly.
            int[] expected = new int[Math.toIntExact(info.tokenCount())];
            int position = 0;
            for (long seq = 1; seq <= info.lastSeq(); seq++) {
                int[] c = CrashWriterMain.chunk(seq, position);
                System.arraycopy(c, 0, expected, position, c.length);
                position += c.length;
            }
            assertThat(position).isEqualTo(info.tokenCount());
            int[] stored = store.readTokens(CrashWriterMain.SESSION);
            assertThat(stored).isEqualTo(expected);
            assertThat(store.appliedOffset(0)).isEqualTo(info.lastSeq() * 10 + 1);

            long[] next = {0};
            long delivered = store.readVerifiedKvBlocks(CrashWriterMain.FINGERPRINT, CrashWriterMain.SESSION, stored,
                    CrashWriterMain.BLOCK, (i, block) -> {
                        assertThat(i).isEqualTo(next[0]++);
                        assertThat(block).isEqualTo(ContextStoreTest.block((int) i, CrashWriterMain.KV_BYTES));
                    });
            assertThat(delivered).isEqualTo(next[0]).isLessThanOrEqualTo(stored.length / CrashWriterMain.BLOCK);
            assertThat(store.statistics().corruptBlocksDropped()).isZero();
            return info.lastSeq();
        }
    }
}
