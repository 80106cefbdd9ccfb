package io.ultralong.protocol.records;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import io.ultralong.protocol.records.ParseResult.Accepted;
import io.ultralong.protocol.records.ParseResult.Deleted;
import io.ultralong.protocol.records.ParseResult.Rejected;

/**
 * Validates a {@code ul.records} record on its raw bytes, in this order: key present and UTF-8, tombstone, size,
 * strict UTF-8, then the shape. A value whose first non-blank character is <code>{</code> must be one JSON object
 * with a string {@code text} (optional string {@code source}, {@code ts} as ISO-8601 text or epoch milliseconds,
 * string {@code id}; other fields are ignored); any other value is plain text. Stateless and thread-safe.
 */
public final class RecordParser {

    private static final ObjectMapper JSON = JsonMapper.builder()
            // A record with two "text" fields is ambiguous: reject it rather than pick one silently.
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final int maxRecordBytes;

    public RecordParser(int maxRecordBytes) {
        if (maxRecordBytes < 1) {
            throw new IllegalArgumentException("maxRecordBytes must be positive");
        }
        this.maxRecordBytes = maxRecordBytes;
    }

    public ParseResult parse(byte[] key, byte[] value) {
        Rejected badKey = keyProblem(key);
        if (badKey != null) {
            return badKey;
        }
        Optional<String> sessionKey = decodeStrict(key);
        if (value == null) {
            return new Deleted(sessionKey.get());
        }
        if (value.length > maxRecordBytes) {
            return new Rejected(RejectReason.TOO_LARGE,
                    "record of " + value.length + " bytes exceeds the maximum of " + maxRecordBytes + " bytes");
        }
        Optional<String> text = decodeStrict(value);
        if (text.isEmpty()) {
            return new Rejected(RejectReason.INVALID_UTF8, "record value is not valid UTF-8");
        }
        if (!startsWithBrace(text.get())) {
            return new Accepted(sessionKey.get(), InputRecord.plainText(text.get()));
        }
        return parseJson(sessionKey.get(), text.get());
    }

    /**
     * A session creation ({@link SessionControl}): the value is the session's metadata, one JSON object of
     * at most the record size limit (empty means none).
     */
    public ParseResult parseSessionCreation(byte[] key, byte[] value) {
        Rejected badKey = keyProblem(key);
        if (badKey != null) {
            return badKey;
        }
        String sessionKey = decodeStrict(key).orElseThrow();
        if (value == null || value.length == 0) {
            return new ParseResult.SessionCreated(sessionKey, "{}");
        }
        if (value.length > maxRecordBytes) {
            return new Rejected(RejectReason.TOO_LARGE,
                    "session metadata of " + value.length + " bytes exceeds the maximum of " + maxRecordBytes + " bytes");
        }
        Optional<String> text = decodeStrict(value);
        if (text.isEmpty()) {
            return new Rejected(RejectReason.INVALID_UTF8, "session metadata is not valid UTF-8");
        }
        try {
            JsonNode metadata = JSON.readTree(text.get());
            if (metadata == null || !metadata.isObject()) {
                return new Rejected(RejectReason.INVALID_JSON, "session metadata must be one JSON object");
            }
            return new ParseResult.SessionCreated(sessionKey, metadata.toString());
        } catch (JsonProcessingException e) {
            return new Rejected(RejectReason.INVALID_JSON, "session metadata is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** Why the key names no session, or null when it names one. */
    private static Rejected keyProblem(byte[] key) {
        if (key == null || key.length == 0) {
            return new Rejected(RejectReason.MISSING_KEY, "record has no session key");
        }
        if (decodeStrict(key).isEmpty()) {
            return new Rejected(RejectReason.INVALID_KEY, "session key is not valid UTF-8");
        }
        return null;
    }

    private static ParseResult parseJson(String sessionKey, String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            return new Rejected(RejectReason.INVALID_JSON, "value starts with '{' but is not valid JSON: "
                    + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            return new Rejected(RejectReason.INVALID_JSON, "value starts with '{' but is not one JSON object");
        }
        JsonNode text = root.get("text");
        if (text == null || !text.isTextual()) {
            return new Rejected(RejectReason.MISSING_TEXT, "JSON record has no string field \"text\"");
        }
        JsonNode source = root.get("source");
        if (source != null && !source.isNull() && !source.isTextual()) {
            return new Rejected(RejectReason.INVALID_FIELD, "\"source\" must be a string");
        }
        JsonNode id = root.get("id");
        if (id != null && !id.isNull() && !id.isTextual()) {
            return new Rejected(RejectReason.INVALID_FIELD, "\"id\" must be a string");
        }
        Optional<String> ts;
        try {
            ts = timestamp(root.get("ts"));
        } catch (IllegalArgumentException e) {
            return new Rejected(RejectReason.INVALID_FIELD, e.getMessage());
        }
        return new Accepted(sessionKey, new InputRecord(text.textValue(), optionalText(source), ts, optionalText(id)));
    }

    /** ISO-8601 text is kept as written (after checking it parses); epoch milliseconds become UTC ISO-8601. */
    private static Optional<String> timestamp(JsonNode ts) {
        if (ts == null || ts.isNull()) {
            return Optional.empty();
        }
        if (ts.isIntegralNumber() && ts.canConvertToLong()) {
            return Optional.of(Instant.ofEpochMilli(ts.longValue()).toString());
        }
        if (ts.isTextual() && isIso8601(ts.textValue())) {
            return Optional.of(ts.textValue());
        }
        throw new IllegalArgumentException("\"ts\" must be an ISO-8601 string or epoch milliseconds, got " + ts);
    }

    private static boolean isIso8601(String text) {
        for (var parser : ISO_PARSERS) {
            try {
                parser.parse(text);
                return true;
            } catch (DateTimeParseException e) {
                // try the next form
            }
        }
        return false;
    }

    private interface TemporalParser {
        void parse(String text);
    }

    private static final TemporalParser[] ISO_PARSERS = {
            Instant::parse, OffsetDateTime::parse, ZonedDateTime::parse, LocalDateTime::parse, LocalDate::parse,
    };

    private static Optional<String> optionalText(JsonNode node) {
        return node == null || node.isNull() ? Optional.empty() : Optional.of(node.textValue());
    }

    private static boolean startsWithBrace(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isWhitespace(c)) {
                return c == '{';
            }
        }
        return false;
    }

    /** Strict decoding: String's own constructor would replace bad bytes with U+FFFD silently. */
    private static Optional<String> decodeStrict(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer chars = decoder.decode(ByteBuffer.wrap(bytes));
            return Optional.of(chars.toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }
}
