package io.ultralong.evaluation.run;

import java.io.PrintStream;
import java.util.Locale;


/**
 * Progress lines on the terminal (stderr, so the results table on stdout stays clean): lengths done,
 * tokens streamed, accuracy so far. Streaming lines are throttled to one per {@code minIntervalMillis}.
 */
public final class Progress {

    private final PrintStream out;
    private final long minIntervalMillis;
    private long lastStreamLine;
    private long correct;
    private long asked;
    private long streamedTotal;

    public Progress(PrintStream out, long minIntervalMillis) {
        this.out = out;
        this.minIntervalMillis = minIntervalMillis;
    }

    void trialStarted(String task, long target, long tokens, int records, String sessionId) {
        line("[%s] %s: haystack of %,d tokens in %,d records -> session %s",
                task, AccuracyGrid.lengthLabel(target), tokens, records, sessionId);
        lastStreamLine = 0;
    }

    void streamed(long done, long total, long elapsedMillis) {
        long now = System.currentTimeMillis();
        if (done < total && now - lastStreamLine < minIntervalMillis) {
            return;
        }
        lastStreamLine = now;
        line("  streamed %,d/%,d tokens (%.0f%%), %,.0f tokens/s", done, total, 100.0 * done / total,
                elapsedMillis == 0 ? 0.0 : done * 1000.0 / elapsedMillis);
    }

    void trialStreamed(long tokens) {
        streamedTotal += tokens;
    }

    void probed(ProbeResult probe) {
        asked++;
        correct += probe.correct() ? 1 : 0;
        line("  %s %s -> %s (cached %,d/%,d tokens, %,d ms)", probe.correct() ? "ok  " : "MISS",
                probe.depth() == null ? probe.expected().size() + " items" : "depth " + EvaluationResults.depthLabel(probe.depth()),
                probe.error() != null ? "error: " + probe.error() : quote(probe.answer()),
                probe.usage().cachedTokens(), probe.usage().contextTokens(), probe.millis());
    }

    void lengthDone(int done, int total, long length) {
        line("lengths done %d/%d (%s); tokens streamed %,d; accuracy so far %d/%d (%s)", done, total,
                AccuracyGrid.lengthLabel(length), streamedTotal, correct, asked, percent());
    }

    private String percent() {
        return asked == 0 ? "-" : String.format(Locale.ROOT, "%.1f%%", 100.0 * correct / asked);
    }

    private static String quote(String answer) {
        String flat = answer.replaceAll("\\s+", " ").strip();
        return "\"" + (flat.length() > 60 ? flat.substring(0, 57) + "..." : flat) + "\"";
    }

    private void line(String format, Object... args) {
        out.println(String.format(Locale.ROOT, format, args));
        out.flush();
    }
}
