package io.ultralong.evaluation.haystack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import io.ultralong.evaluation.TestTokenizer;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HaystackBuilderTest {

    private static final List<Double> DEPTHS = IntStream.rangeClosed(0, 10).mapToObj(i -> i / 10.0).toList();

    /** An independent tokenizer instance: the builder's counts are checked against fresh encodings. */
    private static ModelTokenizer referenceTokenizer;
    private final HaystackBuilder builder = new HaystackBuilder(FillerCorpus.bundled(), TestTokenizer.counter());

    @BeforeAll
    static void loadReference() {
        referenceTokenizer = ModelTokenizer.load(TestTokenizer.directory());
    }

    @AfterAll
    static void closeReference() {
        referenceTokenizer.close();
    }

    private static List<Insertion> needles(List<Double> depths) {
        List<Insertion> needles = new ArrayList<>();
        for (int i = 0; i < depths.size(); i++) {
            needles.add(new Insertion("The pass key of vault " + (char) ('a' + i) + " is " + (70000 + i * 1111)
                    + ". Remember it.", depths.get(i)));
        }
        return needles;
    }

    @ParameterizedTest
    @ValueSource(longs = {1000, 4096, 32768})
    void haystackLengthInTokensIsWithinOnePercentOfTheTarget(long target) {
        Haystack haystack = builder.build(target, needles(DEPTHS), 7);

        long recounted = 0;
        for (int i = 0; i < haystack.records().size(); i++) {
            int tokens = referenceTokenizer.encode(haystack.records().get(i) + "\n").length;
            assertThat(haystack.recordTokens()[i]).as("record %d", i).isEqualTo(tokens);
            recounted += tokens;
        }
        assertThat(recounted).isEqualTo(haystack.totalTokens());
        assertThat((double) recounted).isCloseTo(target, within(target * 0.01));
        assertThat(recounted).isLessThanOrEqualTo(target);
    }

    @Test
    void everyNeedleSitsAtItsDepthToWithinOneFillerRecord() {
        List<Insertion> needles = needles(DEPTHS);
        Haystack haystack = builder.build(8192, needles, 11);

        for (int i = 0; i < needles.size(); i++) {
            Haystack.Placement placement = haystack.placements().get(i);
            assertThat(haystack.records().get(placement.recordIndex())).isEqualTo(needles.get(i).text());
            long before = 0;
            for (int r = 0; r < placement.recordIndex(); r++) {
                before += haystack.recordTokens()[r];
            }
            assertThat(placement.tokensBefore()).isEqualTo(before);
            double wanted = needles.get(i).depth() * (haystack.totalTokens() - placement.tokens());
            assertThat((double) before).as("needle at depth %s", needles.get(i).depth())
                    .isCloseTo(wanted, within((double) haystack.maxFillerRecordTokens()));
        }
        assertThat(haystack.placements().get(0).recordIndex()).isZero();
        assertThat(haystack.placements().get(10).recordIndex()).isEqualTo(haystack.records().size() - 1);
        assertThat(haystack.maxFillerRecordTokens()).isLessThan(82);
    }

    @Test
    void insertionsOfEqualDepthKeepTheirOrder() {
        List<Insertion> chain = List.of(new Insertion("VAR AAAAA = 12345.", 0.3), new Insertion("VAR BBBBB = VAR AAAAA.", 0.3),
                new Insertion("VAR CCCCC = VAR BBBBB.", 0.3));
        Haystack haystack = builder.build(2000, chain, 3);

        List<Integer> indexes = haystack.placements().stream().map(Haystack.Placement::recordIndex).toList();
        assertThat(indexes).isSorted().doesNotHaveDuplicates();
    }

    @Test
    void sameSeedGivesTheSameHaystackAndSharedPrefixesAcrossDepths() {
        Haystack early = builder.build(4096, needles(List.of(0.2)), 5);
        Haystack again = builder.build(4096, needles(List.of(0.2)), 5);
        Haystack late = builder.build(4096, needles(List.of(0.8)), 5);
        Haystack otherSeed = builder.build(4096, needles(List.of(0.2)), 6);

        assertThat(again.records()).isEqualTo(early.records());
        int needleAt = early.placements().get(0).recordIndex();
        assertThat(late.records().subList(0, needleAt)).isEqualTo(early.records().subList(0, needleAt));
        assertThat(otherSeed.records().subList(0, needleAt)).isNotEqualTo(early.records().subList(0, needleAt));
    }

    @Test
    void fillerHasNoDigitsSoNumbersInAnswersComeOnlyFromNeedles() {
        assertThat(FillerCorpus.bundled().sentences()).hasSizeGreaterThan(1000).noneMatch(s -> s.matches(".*\\d.*"));
    }
}
