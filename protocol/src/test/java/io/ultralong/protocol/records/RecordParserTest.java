package io.ultralong.protocol.records;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.ultralong.protocol.records.ParseResult.Accepted;
import io.ultralong.protocol.records.ParseResult.Deleted;
import io.ultralong.protocol.records.ParseResult.Rejected;

class RecordParserTest {

    private static final byte[] KEY = utf8("acme/s1");
    private final RecordParser parser = new RecordParser(128);

    @Test
    void plainTextIsTakenAsTheTextField() {
        assertThat(parser.parse(KEY, utf8("Grüße, 世界 🌍")))
                .isEqualTo(new Accepted("acme/s1", InputRecord.plainText("Grüße, 世界 🌍")));
    }

    @Test
    void jsonRecordKeepsIsoTimestampAsWritten() {
        ParseResult result = parser.parse(KEY, utf8(" {\"text\":\"hi\",\"source\":\"app\",\"ts\":\"2026-01-02T03:04:05+01:00\",\"id\":\"r1\",\"extra\":1}"));

        assertThat(result).isEqualTo(new Accepted("acme/s1", new InputRecord("hi", Optional.of("app"),
                Optional.of("2026-01-02T03:04:05+01:00"), Optional.of("r1"))));
    }

    @Test
    void epochMillisecondsBecomeUtcIso8601() {
        ParseResult result = parser.parse(KEY, utf8("{\"text\":\"hi\",\"ts\":1767225600123}"));

        assertThat(((Accepted) result).record().ts()).contains("2026-01-01T00:00:00.123Z");
    }

    @Test
    void nullValueWithKeyDeletesTheSession() {
        assertThat(parser.parse(KEY, null)).isEqualTo(new Deleted("acme/s1"));
    }

    @Test
    void emptyTextIsAccepted() {
        assertThat(parser.parse(KEY, new byte[0])).isEqualTo(new Accepted("acme/s1", InputRecord.plainText("")));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "{\"text\": 1}|missing-text",
            "{\"source\": \"a\"}|missing-text",
            "{\"text\": \"a\"|invalid-json",
            "{\"text\": \"a\"} {}|invalid-json",
            "{\"text\": \"a\", \"text\": \"b\"}|invalid-json",
            "{\"text\": \"a\", \"ts\": \"yesterday\"}|invalid-field",
            "{\"text\": \"a\", \"ts\": 1.5}|invalid-field",
            "{\"text\": \"a\", \"source\": 7}|invalid-field",
            "{\"text\": \"a\", \"id\": []}|invalid-field",
    })
    void malformedJsonRecordsAreRejectedWithTheirReason(String value, String reason) {
        ParseResult result = parser.parse(KEY, utf8(value));

        assertThat(result).isInstanceOf(Rejected.class);
        assertThat(((Rejected) result).reason().code()).isEqualTo(reason);
    }

    @Test
    void recordsOverTheLimitAreRejectedBeforeDecoding() {
        Rejected rejected = (Rejected) parser.parse(KEY, new byte[129]);

        assertThat(rejected.reason()).isEqualTo(RejectReason.TOO_LARGE);
        assertThat(rejected.message()).contains("129 bytes").contains("128 bytes");
        assertThat(parser.parse(KEY, utf8("x".repeat(128)))).isInstanceOf(Accepted.class);
    }

    @Test
    void invalidUtf8IsRejectedNotReplaced() {
        byte[] overlongSlash = {'a', (byte) 0xC0, (byte) 0xAF};
        byte[] loneSurrogate = {(byte) 0xED, (byte) 0xA0, (byte) 0x80};
        byte[] truncated = {'a', (byte) 0xE4, (byte) 0xB8};

        for (byte[] value : new byte[][] {overlongSlash, loneSurrogate, truncated}) {
            assertThat(((Rejected) parser.parse(KEY, value)).reason()).isEqualTo(RejectReason.INVALID_UTF8);
        }
    }

    @Test
    void recordsWithoutAUsableKeyAreRejected() {
        assertThat(((Rejected) parser.parse(null, utf8("x"))).reason()).isEqualTo(RejectReason.MISSING_KEY);
        assertThat(((Rejected) parser.parse(new byte[0], utf8("x"))).reason()).isEqualTo(RejectReason.MISSING_KEY);
        assertThat(((Rejected) parser.parse(null, null)).reason()).isEqualTo(RejectReason.MISSING_KEY);
        assertThat(((Rejected) parser.parse(new byte[] {(byte) 0xFF}, utf8("x"))).reason())
                .isEqualTo(RejectReason.INVALID_KEY);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
