package io.ultralong.evaluation.task;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class ExactMatchTest {

    private static boolean correct(String answer, List<String> expected, List<String> distractors) {
        return ExactMatch.score(answer, expected, distractors).correct();
    }

    @Test
    void passkeyFoundAsAWholeNumberInAnySentence() {
        assertThat(correct("71432", List.of("71432"), List.of())).isTrue();
        assertThat(correct("The pass key is **71432**.", List.of("71432"), List.of())).isTrue();
        assertThat(correct("Pass key: 71,432", List.of("71432"), List.of())).isTrue();
        assertThat(correct("Pass key: 71\u202f432", List.of("71432"), List.of())).isTrue();
        assertThat(correct("７１４３２", List.of("71432"), List.of())).as("full-width digits").isTrue();
    }

    @Test
    void aNumberInsideALongerNumberOrAWrongNumberIsNoMatch() {
        assertThat(correct("714321", List.of("71432"), List.of())).isFalse();
        assertThat(correct("The pass key is 71433.", List.of("71432"), List.of())).isFalse();
        assertThat(correct("", List.of("71432"), List.of())).isFalse();
    }

    @Test
    void namingADistractorToo_isWrong() {
        assertThat(correct("It is 71432 or 55555.", List.of("71432"), List.of("55555", "66666"))).isFalse();
        assertThat(correct("It is 71432.", List.of("71432"), List.of("55555", "66666"))).isTrue();
    }

    @Test
    void multiValueNeedsEveryValueAndReportsRecall() {
        List<String> values = List.of("1111111", "2222222", "3333333");
        ExactMatch.Score partial = ExactMatch.score("1111111, 3333333", values, List.of("9999999"));
        ExactMatch.Score full = ExactMatch.score("- 3333333\n- 1111111\n- 2222222", values, List.of("9999999"));

        assertThat(partial.correct()).isFalse();
        assertThat(partial.recall()).isEqualTo(2.0 / 3);
        assertThat(full.correct()).isTrue();
        assertThat(full.recall()).isEqualTo(1.0);
    }

    @Test
    void variableNamesMatchCaseInsensitively() {
        assertThat(correct("VAR qpexz, VAR LMNOP", List.of("QPEXZ", "LMNOP"), List.of("ABCDE"))).isTrue();
        assertThat(correct("QPEXZ, LMNOPQ", List.of("QPEXZ", "LMNOP"), List.of("ABCDE"))).isFalse();
    }
}
