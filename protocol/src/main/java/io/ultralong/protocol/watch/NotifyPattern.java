package io.ultralong.protocol.watch;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * A watch's {@code notifyWhen}: a user's regular expression, compiled and matched by RE2/J, whose matching time
 * grows linearly with the text (no backtracking: {@code (a+)+$} cannot freeze a worker), with neither
 * look-around nor back-references (RE2 syntax). The gateway refuses a pattern longer than its configured limit
 * ({@code ul.limits.max-notify-when-chars}); every reader also refuses one beyond {@link #HARD_MAX_CHARS} or whose
 * compiled program exceeds {@link #MAX_PROGRAM_SIZE} (nested counted repetitions such as {@code ((a{100}){100}){100}}
 * are short to write but huge to run), because {@code ul.watches} may be written by other producers than the gateway.
 */
public final class NotifyPattern {

    /** The gateway's default limit on a pattern's length, in characters. */
    public static final int DEFAULT_MAX_CHARS = 512;
    /** The longest pattern any reader accepts, whatever a gateway let through. */
    public static final int HARD_MAX_CHARS = 4096;
    /** The most RE2 instructions a compiled pattern may have: the per-character cost of matching it. */
    public static final int MAX_PROGRAM_SIZE = 20_000;

    private final Pattern pattern;

    private NotifyPattern(Pattern pattern) {
        this.pattern = pattern;
    }

    /**
     * @param maxChars the longest pattern allowed here (at most {@link #HARD_MAX_CHARS})
     * @throws IllegalArgumentException with a message for the user when the pattern is too long, too big or invalid
     */
    public static NotifyPattern compile(String regex, int maxChars) {
        int limit = Math.min(maxChars, HARD_MAX_CHARS);
        if (regex.length() > limit) {
            throw new IllegalArgumentException("\"notifyWhen\" has " + regex.length() + " characters; the limit is "
                    + limit + ".");
        }
        Pattern compiled;
        try {
            compiled = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("\"notifyWhen\" is not a valid RE2 regular expression (no look-around,"
                    + " no back-references): " + e.getDescription() + (e.getIndex() >= 0 ? " in " + e.getPattern() : "") + ".");
        }
        if (compiled.programSize() > MAX_PROGRAM_SIZE) {
            throw new IllegalArgumentException("\"notifyWhen\" compiles to " + compiled.programSize()
                    + " instructions; the limit is " + MAX_PROGRAM_SIZE + " (use fewer or smaller counted repetitions).");
        }
        return new NotifyPattern(compiled);
    }

    /** Whether the pattern matches somewhere in {@code text} (unanchored, like {@code Matcher.find}). */
    public boolean foundIn(String text) {
        return pattern.matcher(text).find();
    }

    public String source() {
        return pattern.pattern();
    }
}
