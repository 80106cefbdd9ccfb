package io.ultralong.evaluation.task;

import java.util.List;
import java.util.Random;

/** A generator of haystack trials with exactly checkable answers. */
public interface SyntheticTask {

    /** The name in tables, JSON and the heatmap. */
    String name();

    /** The sessions to run at one haystack length; all randomness comes from {@code random}. */
    List<TrialPlan> plans(long targetTokens, Random random);
}
