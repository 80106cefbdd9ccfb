package io.ultralong.protocol.records;

import java.util.Objects;
import java.util.Optional;

/**
 * One valid record of {@code ul.records}, as the template sees it.
 *
 * @param text   the record's text (may be empty)
 * @param source who or what produced it, if given
 * @param ts     its time stamp as ISO-8601 text, if given (epoch milliseconds are already converted to UTC)
 * @param id     the producer's own record id, if given
 */
public record InputRecord(String text, Optional<String> source, Optional<String> ts, Optional<String> id) {

    public InputRecord {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(ts, "ts");
        Objects.requireNonNull(id, "id");
    }

    public static InputRecord plainText(String text) {
        return new InputRecord(text, Optional.empty(), Optional.empty(), Optional.empty());
    }
}
