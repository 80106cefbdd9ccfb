package io.ultralong.evaluation.task;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.ultralong.evaluation.haystack.Insertion;

/**
 * Passkey retrieval, the needle-in-a-haystack test of the UltraLong paper: a five-digit pass key
 * hidden at a depth, the model asked to repeat it.
 *
 * <p>Two layouts:
 * <ul>
 *   <li>{@link Layout#LABELLED} (default): one session per length holds one needle per depth, each
 *       naming its own vault ("the pass key of the amber-heron vault is ..."), and is asked once per
 *       vault. The haystack is prefilled once and every later question reuses its KV cache, so a full
 *       length x depth sweep costs one prefill per length. The other needles are distractors: an
 *       answer holding another vault's key is wrong.</li>
 *   <li>{@link Layout#SINGLE}: the paper's exact setup, one needle per haystack, one session per
 *       (length, depth). Sessions share their filler prefix up to the needle, which a platform with a
 *       cross-session prefix cache can reuse; the report shows what it did.</li>
 * </ul>
 */
public final class PasskeyTask implements SyntheticTask {

    /** How needles are laid out over sessions. */
    public enum Layout { LABELLED, SINGLE }

    private final List<Double> depths;
    private final Layout layout;

    public PasskeyTask(List<Double> depths, Layout layout) {
        if (depths.isEmpty()) {
            throw new IllegalArgumentException("At least one depth");
        }
        this.depths = List.copyOf(depths);
        this.layout = layout;
    }

    @Override
    public String name() {
        return "passkey";
    }

    @Override
    public List<TrialPlan> plans(long targetTokens, Random random) {
        List<String> passkeys = NeedleValues.numbers(random, depths.size(), 5);
        if (layout == Layout.SINGLE) {
            List<TrialPlan> plans = new ArrayList<>();
            for (int i = 0; i < depths.size(); i++) {
                String key = passkeys.get(i);
                Insertion needle = new Insertion("The pass key is " + key + ". Remember it. " + key + " is the pass key.",
                        depths.get(i));
                Probe probe = new Probe("What is the pass key? Answer with the number only.",
                        List.of(key), List.of(), 0);
                plans.add(new TrialPlan(name(), targetTokens, List.of(needle), List.of(probe)));
            }
            return plans;
        }
        List<String> vaults = NeedleValues.keys(random, depths.size());
        List<Insertion> needles = new ArrayList<>();
        List<Probe> probes = new ArrayList<>();
        for (int i = 0; i < depths.size(); i++) {
            String vault = vaults.get(i);
            String key = passkeys.get(i);
            needles.add(new Insertion("The pass key of the " + vault + " vault is " + key + ". Remember it. "
                    + key + " is the pass key of the " + vault + " vault.", depths.get(i)));
            List<String> others = new ArrayList<>(passkeys);
            others.remove(key);
            probes.add(new Probe("What is the pass key of the " + vault + " vault? Answer with the number only.",
                    List.of(key), others, i));
        }
        return List.of(new TrialPlan(name(), targetTokens, needles, probes));
    }
}
