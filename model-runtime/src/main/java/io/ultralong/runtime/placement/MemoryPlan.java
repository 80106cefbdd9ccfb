package io.ultralong.runtime.placement;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The outcome of {@link MemoryPlanner#plan}: what each tier holds and where a given context's tokens go. */
public record MemoryPlan(List<Tier> tiers, long kvBytesPerToken, int blockTokens) {

    /**
     * @param kvTokens tokens of KV the tier can hold (whole blocks)
     * @param kvBytes  bytes those tokens take
     */
    public record Tier(String name, boolean host, long memoryBytes, long weightBytes, long reserveBytes,
                       long kvTokens, long kvBytes) {
    }

    /** The longest context the tiers hold together. */
    public long maxContextTokens() {
        return tiers.stream().mapToLong(Tier::kvTokens).sum();
    }

    /** Tokens the devices hold, without the host tier. */
    public long deviceContextTokens() {
        return tiers.stream().filter(t -> !t.host()).mapToLong(Tier::kvTokens).sum();
    }

    public boolean fits(long contextTokens) {
        return contextTokens <= maxContextTokens();
    }

    /**
     * Tokens per tier for a context of {@code contextTokens}, in tier order: the devices hold the most recent
     * tokens (filled in order), the host only the oldest ones the devices cannot hold.
     *
     * @throws IllegalArgumentException when the context does not fit
     */
    public List<Long> placement(long contextTokens) {
        if (!fits(contextTokens)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "A context of %,d tokens needs %s of KV; this worker holds %,d tokens (%s)", contextTokens,
                    gib(contextTokens * kvBytesPerToken), maxContextTokens(), gib(maxContextTokens() * kvBytesPerToken)));
        }
        long onHost = Math.max(0, contextTokens - deviceContextTokens());
        long left = contextTokens - onHost;
        List<Long> shares = new ArrayList<>(tiers.size());
        for (Tier tier : tiers) {
            if (tier.host()) {
                shares.add(onHost);
            } else {
                long share = Math.min(left, tier.kvTokens());
                shares.add(share);
                left -= share;
            }
        }
        return shares;
    }

    /** A table for the startup log: one line per tier, then the total. */
    public String describe() {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%-10s %12s %12s %12s %12s %14s%n",
                "tier", "memory", "weights", "reserve", "KV", "KV tokens"));
        for (Tier tier : tiers) {
            out.append(String.format(Locale.ROOT, "%-10s %12s %12s %12s %12s %,14d%n", tier.name(),
                    gib(tier.memoryBytes()), gib(tier.weightBytes()), gib(tier.reserveBytes()), gib(tier.kvBytes()),
                    tier.kvTokens()));
        }
        out.append(String.format(Locale.ROOT, "longest context: %,d tokens (%,d on devices) at %,d KV bytes per token",
                maxContextTokens(), deviceContextTokens(), kvBytesPerToken));
        return out.toString();
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
