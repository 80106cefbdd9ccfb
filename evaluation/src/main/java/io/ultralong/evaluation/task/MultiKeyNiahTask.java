package io.ultralong.evaluation.task;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.ultralong.evaluation.haystack.Insertion;

/**
 * RULER-style multi-key needle in a haystack: {@code keys} needles "One of the special magic numbers
 * for {key} is: {number}." spread over the haystack; each probe asks for one key's number, and the
 * other keys' numbers are distractors. Every key is asked, over the one cached haystack.
 */
public final class MultiKeyNiahTask implements SyntheticTask {

    private final int keys;

    public MultiKeyNiahTask(int keys) {
        if (keys < 2) {
            throw new IllegalArgumentException("Multi-key needs at least two keys");
        }
        this.keys = keys;
    }

    @Override
    public String name() {
        return "multikey";
    }

    @Override
    public List<TrialPlan> plans(long targetTokens, Random random) {
        List<String> names = NeedleValues.keys(random, keys);
        List<String> numbers = NeedleValues.numbers(random, keys, 7);
        List<Double> depths = NeedleValues.spreadDepths(random, keys);
        List<Insertion> needles = new ArrayList<>();
        List<Probe> probes = new ArrayList<>();
        for (int i = 0; i < keys; i++) {
            needles.add(new Insertion("One of the special magic numbers for " + names.get(i) + " is: "
                    + numbers.get(i) + ".", depths.get(i)));
            List<String> others = new ArrayList<>(numbers);
            others.remove(i);
            probes.add(new Probe("What is the special magic number for " + names.get(i)
                    + " mentioned in the provided text? Answer with the number only.",
                    List.of(numbers.get(i)), others, i));
        }
        return List.of(new TrialPlan(name(), targetTokens, needles, probes));
    }
}
