package io.ultralong.evaluation.task;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import io.ultralong.evaluation.haystack.Insertion;

/**
 * RULER-style multi-value needle in a haystack: each of {@code keys} keys has {@code valuesPerKey}
 * numbers scattered over the haystack ("One of the special magic numbers for {key} is: {number}.");
 * a probe asks for all numbers of one key. Correct means every one of them and none of another key's.
 */
public final class MultiValueNiahTask implements SyntheticTask {

    private final int keys;
    private final int valuesPerKey;

    public MultiValueNiahTask(int keys, int valuesPerKey) {
        if (keys < 1 || valuesPerKey < 2) {
            throw new IllegalArgumentException("Multi-value needs a key with at least two values");
        }
        this.keys = keys;
        this.valuesPerKey = valuesPerKey;
    }

    @Override
    public String name() {
        return "multivalue";
    }

    @Override
    public List<TrialPlan> plans(long targetTokens, Random random) {
        List<String> names = NeedleValues.keys(random, keys);
        List<String> numbers = NeedleValues.numbers(random, keys * valuesPerKey, 7);
        // Each key's values land in random slots of an even spread, interleaved with other keys'.
        List<Double> depths = new ArrayList<>(NeedleValues.spreadDepths(random, keys * valuesPerKey));
        Collections.shuffle(depths, random);
        List<Insertion> needles = new ArrayList<>();
        List<Probe> probes = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            List<String> values = numbers.subList(k * valuesPerKey, (k + 1) * valuesPerKey);
            for (int v = 0; v < valuesPerKey; v++) {
                needles.add(new Insertion("One of the special magic numbers for " + names.get(k) + " is: "
                        + values.get(v) + ".", depths.get(k * valuesPerKey + v)));
            }
            List<String> others = new ArrayList<>(numbers);
            others.removeAll(values);
            probes.add(new Probe("What are all the special magic numbers for " + names.get(k)
                    + " mentioned in the provided text? List every one of them, separated by commas.",
                    values, others, null));
        }
        return List.of(new TrialPlan(name(), targetTokens, needles, probes));
    }
}
