package io.ultralong.protocol.watch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class NotifyPatternTest {

    @Test
    void catastrophicBacktrackingPatternsMatchInLinearTime() {
        // java.util.regex needs minutes to hours for these: exponential/polynomial backtracking.
        String as = "a".repeat(100_000) + "b";
        String prose = "The quick brown fox jumps over the lazy dog. ".repeat(200);
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            assertThat(NotifyPattern.compile("(a+)+$", 512).foundIn(as)).isFalse();
            assertThat(NotifyPattern.compile("(?s)(.*)(.*)(.*)(.*)(.*)(.*)(.*)\\x00", 512).foundIn(prose)).isFalse();
            assertThat(NotifyPattern.compile("(x+x+)+y", 512).foundIn("x".repeat(50_000))).isFalse();
        });
    }

    @Test
    void findsMatchesAnywhereInTheAnswer() {
        NotifyPattern pattern = NotifyPattern.compile("(?i)\\berror\\b", 512);
        assertThat(pattern.foundIn("All fine, but one ERROR at 10:00.")).isTrue();
        assertThat(pattern.foundIn("No errors.")).isFalse();
    }

    @Test
    void refusesTooLongPatternsWithTheLimitInTheMessage() {
        assertThatThrownBy(() -> NotifyPattern.compile("a".repeat(65), 64))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("\"notifyWhen\" has 65 characters; the limit is 64.");
        // No gateway setting lifts the hard limit every reader applies.
        assertThatThrownBy(() -> NotifyPattern.compile("a".repeat(NotifyPattern.HARD_MAX_CHARS + 1), Integer.MAX_VALUE))
                .hasMessageContaining("the limit is " + NotifyPattern.HARD_MAX_CHARS);
    }

    @Test
    void refusesLookAroundBackReferencesAndHugePrograms() {
        assertThatThrownBy(() -> NotifyPattern.compile("(?!x)", 512))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("\"notifyWhen\" is not a valid RE2 regular expression");
        assertThatThrownBy(() -> NotifyPattern.compile("(a)\\1", 512)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NotifyPattern.compile("(a{100}){300}", 512))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("instructions");
    }
}
