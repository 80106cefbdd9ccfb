package io.ultralong.evaluation.task;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.ultralong.evaluation.haystack.Insertion;

/**
 * RULER-style variable tracking: {@code chains} independent chains, each a value assigned to a first
 * variable ("VAR QPEXZ = 64334.") and passed on {@code hops} times ("VAR LMNOP = VAR QPEXZ."), the
 * assignments of a chain in order through the haystack. A probe asks which variables hold a chain's
 * value: correct means all of that chain's variables and none of another chain's.
 */
public final class VariableTrackingTask implements SyntheticTask {

    private final int chains;
    private final int hops;

    public VariableTrackingTask(int chains, int hops) {
        if (chains < 1 || hops < 1) {
            throw new IllegalArgumentException("Variable tracking needs a chain with at least one hop");
        }
        this.chains = chains;
        this.hops = hops;
    }

    @Override
    public String name() {
        return "vartrack";
    }

    @Override
    public List<TrialPlan> plans(long targetTokens, Random random) {
        int perChain = hops + 1;
        List<String> names = NeedleValues.variableNames(random, chains * perChain);
        List<String> values = NeedleValues.numbers(random, chains, 5);
        List<Insertion> assignments = new ArrayList<>();
        List<Probe> probes = new ArrayList<>();
        for (int c = 0; c < chains; c++) {
            List<String> chain = names.subList(c * perChain, (c + 1) * perChain);
            // A chain's steps at increasing depths, from a random start in the first half.
            double start = random.nextDouble() * 0.5;
            double step = (1 - start) / perChain;
            for (int h = 0; h < perChain; h++) {
                String right = h == 0 ? values.get(c) : "VAR " + chain.get(h - 1);
                double depth = Math.min(1, start + step * (h + random.nextDouble() * 0.9));
                assignments.add(new Insertion("VAR " + chain.get(h) + " = " + right + ".", depth));
            }
            List<String> others = new ArrayList<>(names);
            others.removeAll(chain);
            probes.add(new Probe("Find all variables that are assigned the value " + values.get(c)
                    + " in the text above. List their names, separated by commas.", chain, others, null));
        }
        return List.of(new TrialPlan(name(), targetTokens, assignments, probes));
    }
}
