package io.ultralong.ingest.record;

import io.ultralong.protocol.records.InputRecord;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;

import org.junit.jupiter.api.Test;

class ContextTemplateTest {

    private final ContextTemplate template = ContextTemplate.defaultTemplate();

    @Test
    void defaultTemplateWithEveryField() {
        assertThat(template.render(record("disk full", "db-1", "2026-01-01T00:00:00Z")))
                .isEqualTo("[2026-01-01T00:00:00Z] db-1: disk full\n");
    }

    @Test
    void absentTimestampLeavesNoEmptyBrackets() {
        assertThat(template.render(record("disk full", "db-1", null))).isEqualTo("db-1: disk full\n");
    }

    @Test
    void absentSourceLeavesNoDanglingColon() {
        assertThat(template.render(record("disk full", null, "2026-01-01T00:00:00Z")))
                .isEqualTo("[2026-01-01T00:00:00Z] disk full\n");
    }

    @Test
    void plainTextIsTheTextAndANewline() {
        assertThat(template.render(InputRecord.plainText("hello: world"))).isEqualTo("hello: world\n");
    }

    @Test
    void customTemplateWithIdAndTab() {
        ContextTemplate custom = ContextTemplate.parse("<{id}> {source}\\t{text}");

        assertThat(custom.render(new InputRecord("t", Optional.of("s"), Optional.empty(), Optional.of("42"))))
                .isEqualTo("<42> s\tt");
        assertThat(custom.render(new InputRecord("t", Optional.empty(), Optional.empty(), Optional.empty())))
                .isEqualTo("t");
    }

    @Test
    void literalBracesThatAreNoPlaceholderStay() {
        assertThat(ContextTemplate.parse("{text} {}").render(InputRecord.plainText("a"))).isEqualTo("a {}");
    }

    @Test
    void unknownPlaceholderOrMissingTextIsAConfigurationError() {
        assertThatThrownBy(() -> ContextTemplate.parse("{text} {host}")).hasMessageContaining("{host}");
        assertThatThrownBy(() -> ContextTemplate.parse("[{ts}] {source}")).hasMessageContaining("no {text}");
    }

    private static InputRecord record(String text, String source, String ts) {
        return new InputRecord(text, Optional.ofNullable(source), Optional.ofNullable(ts), Optional.empty());
    }
}
