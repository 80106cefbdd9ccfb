package io.ultralong.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.ultralong.runtime.synthetic.ByteLevelBpeTokenizerWriter;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Token-by-token decoding with the real HF byte-level decoder of the synthetic tokenizer. */
class IncrementalDetokenizerTest {

    static final String MIXED = "Größe café naïve — 模型读取全部上下文。 日本語のテキスト 🚀🧪👩‍💻 ok ✓ déjà vu, 한국어 Ωμέγα!";
    private static final int EOT = 511;

    @TempDir
    static Path dir;
    static ModelTokenizer tokenizer;

    @BeforeAll
    static void writeTokenizer() throws Exception {
        ByteLevelBpeTokenizerWriter.write(dir, 512);
        tokenizer = ModelTokenizer.load(dir);
    }

    @AfterAll
    static void closeTokenizer() {
        tokenizer.close();
    }

    @Test
    void theTextReallySplitsCharactersAcrossTokens() {
        int[] ids = tokenizer.encode(MIXED);
        long brokenAlone = java.util.Arrays.stream(ids)
                .filter(id -> tokenizer.decode(new int[] {id}, true).contains("\uFFFD")).count();
        assertThat(brokenAlone).as("tokens that decode to U+FFFD on their own").isGreaterThan(20);
    }

    @Test
    void piecesConcatenateToTheFullDecodeAndNeverHoldABrokenCharacter() {
        int[] ids = tokenizer.encode(MIXED);
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, Set.of(EOT));
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            pieces.add(detokenizer.next(id));
        }
        pieces.add(detokenizer.finish());
        assertThat(pieces).noneMatch(piece -> piece.contains("\uFFFD"));
        assertThat(String.join("", pieces)).isEqualTo(tokenizer.decode(ids, true)).isEqualTo(MIXED);
        assertThat(pieces).as("held-back tokens give empty pieces").contains("");
    }

    @Test
    void stopAndSpecialTokensProduceNoText() {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, Set.of(EOT));
        StringBuilder out = new StringBuilder();
        for (int id : tokenizer.encode("before ")) {
            out.append(detokenizer.next(id));
        }
        assertThat(detokenizer.next(EOT)).isEmpty();
        assertThat(detokenizer.next(508)).as("<|start_header_id|> is skipped").isEmpty();
        for (int id : tokenizer.encode("after")) {
            out.append(detokenizer.next(id));
        }
        out.append(detokenizer.finish());
        assertThat(out.toString()).isEqualTo("before after");
    }

    @Test
    void anUnfinishedCharacterAtTheEndIsDroppedNotEmittedBroken() {
        int[] ids = tokenizer.encode("go 🚀");
        int[] rocketIds = java.util.Arrays.copyOfRange(ids, tokenizer.encode("go").length, ids.length);
        assertThat(rocketIds.length).as("the emoji (with its space) spans several tokens").isGreaterThan(1);
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer, Set.of());
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < ids.length - 1; i++) {   // the model stopped one byte short of the emoji
            out.append(detokenizer.next(ids[i]));
        }
        out.append(detokenizer.finish());
        assertThat(out.toString()).isEqualTo("go ");
    }
}
