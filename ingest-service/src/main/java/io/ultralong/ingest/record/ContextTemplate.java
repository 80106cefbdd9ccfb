package io.ultralong.ingest.record;

import io.ultralong.protocol.records.InputRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a record into the text that is tokenized into the session's context.
 *
 * <p>Placeholders are {@code {text}} (required), {@code {source}}, {@code {ts}} and {@code {id}}; the escape
 * sequences {@code \n} and {@code \t} in a configured template stand for a newline and a tab. A placeholder whose
 * field is absent is removed together with the punctuation that belongs to it: the opening brackets right before it
 * ({@code ( [ <}) and, right after it, the run of punctuation that follows it plus one blank. So the default
 * {@code [{ts}] {source}: {text}\n} gives {@code [2026-01-01T00:00:00Z] app: hello}, {@code app: hello},
 * {@code [2026-01-01T00:00:00Z] hello} or {@code hello}, each followed by a newline, never {@code [] } or a
 * dangling {@code : }.
 */
public final class ContextTemplate {

    public static final String DEFAULT = "[{ts}] {source}: {text}\\n";

    private static final Set<String> FIELDS = Set.of("text", "source", "ts", "id");
    private static final String OPENING_BRACKETS = "([<";

    /** A literal piece of text or a field placeholder. */
    private record Part(String literal, String field) {
        boolean isField() {
            return field != null;
        }
    }

    private final String source;
    private final List<Part> parts;

    private ContextTemplate(String source, List<Part> parts) {
        this.source = source;
        this.parts = parts;
    }

    /** Parses a template as configured (with {@code \n} escapes); fails on unknown placeholders or without {@code {text}}. */
    public static ContextTemplate parse(String template) {
        String unescaped = template.replace("\\n", "\n").replace("\\t", "\t");
        List<Part> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < unescaped.length()) {
            char c = unescaped.charAt(i);
            int close = c == '{' ? unescaped.indexOf('}', i) : -1;
            if (close > i && FIELDS.contains(unescaped.substring(i + 1, close))) {
                if (!literal.isEmpty()) {
                    parts.add(new Part(literal.toString(), null));
                    literal.setLength(0);
                }
                parts.add(new Part(null, unescaped.substring(i + 1, close)));
                i = close + 1;
            } else if (close > i && unescaped.substring(i + 1, close).matches("[A-Za-z_]+")) {
                throw new IllegalArgumentException("Unknown placeholder {" + unescaped.substring(i + 1, close)
                        + "} in template \"" + template + "\"; known: {text}, {source}, {ts}, {id}");
            } else {
                literal.append(c);
                i++;
            }
        }
        if (!literal.isEmpty()) {
            parts.add(new Part(literal.toString(), null));
        }
        if (parts.stream().noneMatch(p -> "text".equals(p.field()))) {
            throw new IllegalArgumentException("Template \"" + template + "\" has no {text} placeholder");
        }
        return new ContextTemplate(template, List.copyOf(parts));
    }

    public static ContextTemplate defaultTemplate() {
        return parse(DEFAULT);
    }

    public String render(InputRecord record) {
        StringBuilder out = new StringBuilder(record.text().length() + 64);
        // Characters of the next literal that belong to an absent field before it and must be skipped.
        boolean skipTrailingPunctuation = false;
        for (int p = 0; p < parts.size(); p++) {
            Part part = parts.get(p);
            if (part.isField()) {
                Optional<String> value = valueOf(record, part.field());
                if (value.isPresent()) {
                    out.append(value.get());
                    skipTrailingPunctuation = false;
                } else {
                    dropOpeningBrackets(out);
                    skipTrailingPunctuation = true;
                }
            } else {
                String literal = part.literal();
                out.append(skipTrailingPunctuation ? withoutLeadingPunctuation(literal) : literal);
                skipTrailingPunctuation = false;
            }
        }
        return out.toString();
    }

    private static Optional<String> valueOf(InputRecord record, String field) {
        return switch (field) {
            case "text" -> Optional.of(record.text());
            case "source" -> record.source();
            case "ts" -> record.ts();
            case "id" -> record.id();
            default -> throw new IllegalStateException("unknown field " + field);
        };
    }

    private static void dropOpeningBrackets(StringBuilder out) {
        while (!out.isEmpty() && OPENING_BRACKETS.indexOf(out.charAt(out.length() - 1)) >= 0) {
            out.setLength(out.length() - 1);
        }
    }

    /** Drops the punctuation that followed an absent field ("] ", ": ", ") - "...), up to and including one blank. */
    private static String withoutLeadingPunctuation(String literal) {
        int i = 0;
        while (i < literal.length() && isPunctuation(literal.charAt(i))) {
            i++;
        }
        if (i < literal.length() && (literal.charAt(i) == ' ' || literal.charAt(i) == '\t')) {
            i++;
        }
        return literal.substring(i);
    }

    private static boolean isPunctuation(char c) {
        return !Character.isLetterOrDigit(c) && !Character.isWhitespace(c);
    }

    @Override
    public String toString() {
        return source;
    }
}
