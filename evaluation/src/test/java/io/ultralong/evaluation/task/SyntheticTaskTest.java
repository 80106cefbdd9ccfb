package io.ultralong.evaluation.task;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import io.ultralong.evaluation.TestTokenizer;
import io.ultralong.evaluation.haystack.FillerCorpus;
import io.ultralong.evaluation.haystack.Haystack;
import io.ultralong.evaluation.haystack.HaystackBuilder;
import io.ultralong.evaluation.haystack.Insertion;
import org.junit.jupiter.api.Test;

/** Each task's answers are re-derived from the haystack text itself, not from the generator's bookkeeping. */
class SyntheticTaskTest {

    private static final Pattern MAGIC = Pattern.compile("One of the special magic numbers for ([a-z-]+) is: (\\d+)\\.");
    private static final Pattern ASSIGN = Pattern.compile("VAR ([A-Z]{5}) = (?:VAR ([A-Z]{5})|(\\d+))\\.");

    private final HaystackBuilder builder = new HaystackBuilder(FillerCorpus.bundled(), TestTokenizer.counter());

    private Haystack haystack(TrialPlan plan) {
        return builder.build(plan.targetTokens(), plan.insertions(), 1);
    }

    @Test
    void labelledPasskeyHasOneDistinctNeedlePerDepthAndTheOthersAsDistractors() {
        List<Double> depths = List.of(0.0, 0.25, 0.5, 0.75, 1.0);
        List<TrialPlan> plans = new PasskeyTask(depths, PasskeyTask.Layout.LABELLED).plans(4096, new Random(1));

        assertThat(plans).hasSize(1);
        TrialPlan plan = plans.get(0);
        assertThat(plan.insertions()).extracting(Insertion::depth).containsExactlyElementsOf(depths);
        Set<String> keys = plan.probes().stream().map(p -> p.expected().get(0)).collect(Collectors.toSet());
        assertThat(keys).hasSize(5).allMatch(k -> k.matches("[1-9]\\d{4}"));
        for (Probe probe : plan.probes()) {
            String needle = plan.insertions().get(probe.needle()).text();
            assertThat(needle).contains(" is " + probe.expected().get(0) + ". Remember it.");
            assertThat(probe.distractors()).hasSize(4).doesNotContain(probe.expected().get(0));
            String vault = probe.question().replaceAll(".*pass key of the (\\S+) vault.*", "$1");
            assertThat(needle).contains("the " + vault + " vault");
        }
    }

    @Test
    void singlePasskeyGivesOneSessionPerDepth() {
        List<TrialPlan> plans = new PasskeyTask(List.of(0.1, 0.9), PasskeyTask.Layout.SINGLE).plans(2048, new Random(1));

        assertThat(plans).hasSize(2).allSatisfy(plan -> {
            assertThat(plan.insertions()).hasSize(1);
            assertThat(plan.probes()).singleElement().satisfies(p -> assertThat(p.distractors()).isEmpty());
        });
        assertThat(plans.get(1).insertions().get(0).depth()).isEqualTo(0.9);
    }

    @Test
    void multiKeyAnswersAreTheNumbersWrittenForEachKey() {
        TrialPlan plan = new MultiKeyNiahTask(6).plans(4096, new Random(2)).get(0);
        Map<String, List<String>> written = magicNumbers(haystack(plan));

        assertThat(written).hasSize(6).allSatisfy((key, values) -> assertThat(values).hasSize(1));
        for (Probe probe : plan.probes()) {
            String key = probe.question().replaceAll(".*magic number for (\\S+) mentioned.*", "$1");
            assertThat(probe.expected()).containsExactlyElementsOf(written.get(key));
            assertThat(probe.distractors()).hasSize(5).doesNotContainAnyElementsOf(written.get(key));
        }
    }

    @Test
    void multiValueAsksForEveryValueOfAKey() {
        TrialPlan plan = new MultiValueNiahTask(3, 4).plans(4096, new Random(3)).get(0);
        Map<String, List<String>> written = magicNumbers(haystack(plan));

        assertThat(written).hasSize(3);
        for (Probe probe : plan.probes()) {
            String key = probe.question().replaceAll(".*magic numbers for (\\S+) mentioned.*", "$1");
            assertThat(probe.expected()).containsExactlyInAnyOrderElementsOf(written.get(key)).hasSize(4);
            assertThat(probe.distractors()).hasSize(8).doesNotContainAnyElementsOf(probe.expected());
        }
    }

    @Test
    void variableTrackingExpectsExactlyTheVariablesThatResolveToTheValue() {
        TrialPlan plan = new VariableTrackingTask(3, 4).plans(4096, new Random(4)).get(0);
        Haystack haystack = haystack(plan);

        // Execute the assignments in haystack order, as a reader of the text would.
        Map<String, String> valueOf = new HashMap<>();
        for (String record : haystack.records()) {
            Matcher m = ASSIGN.matcher(record);
            if (m.matches()) {
                String value = m.group(3) != null ? m.group(3) : valueOf.get(m.group(2));
                assertThat(value).as("%s is assigned after its source", record).isNotNull();
                valueOf.put(m.group(1), value);
            }
        }
        assertThat(valueOf).hasSize(15);
        for (Probe probe : plan.probes()) {
            String value = probe.question().replaceAll(".*assigned the value (\\d+) in.*", "$1");
            Set<String> holders = new HashSet<>();
            valueOf.forEach((name, v) -> {
                if (v.equals(value)) {
                    holders.add(name);
                }
            });
            assertThat(probe.expected()).containsExactlyInAnyOrderElementsOf(holders).hasSize(5);
            assertThat(probe.distractors()).hasSize(10).doesNotContainAnyElementsOf(holders);
        }
    }

    private static Map<String, List<String>> magicNumbers(Haystack haystack) {
        Map<String, List<String>> written = new HashMap<>();
        for (String record : haystack.records()) {
            Matcher m = MAGIC.matcher(record);
            if (m.matches()) {
                written.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(m.group(2));
            }
        }
        return written;
    }
}
