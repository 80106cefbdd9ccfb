package io.ultralong.gateway.api;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ultralong.protocol.records.ParseResult;
import io.ultralong.protocol.records.RecordParser;
import io.ultralong.protocol.records.RejectReason;

/**
 * Turns an append body into {@code ul.records} values: one JSON object, a JSON array (of objects
 * or strings), NDJSON, or {@code text/plain} with one record per line. Each record is checked by
 * the ingest service's own {@link RecordParser} (a string {@code text}, optional string
 * {@code source} and {@code id}, {@code ts} as ISO-8601 string or epoch milliseconds, the size
 * limit) so that an accepted append is never sent to the dead-letter topic, and a refused one
 * answers with the reason code the dead-letter header would have carried.
 *
 * <p>The body is read as a stream, record by record (a line, or an array element): only the accepted values
 * are held, never the body as one string nor its whole JSON tree, and the first bad record, or the record one
 * past the count limit, ends the read with an error naming its line or element.
 */
final class RecordBodies {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RecordBodies() {
    }

    static List<byte[]> parse(String sessionKey, InputStream body, String contentType, int maxRecords,
                              int maxRecordBytes) {
        String type = contentType == null ? "" : contentType.toLowerCase();
        Accepted accepted = new Accepted(sessionKey, maxRecords, maxRecordBytes);
        try (Reader text = strictUtf8(body)) {
            if (type.startsWith("text/plain")) {
                readLines(text, (line, where) -> accepted.add(JSON.createObjectNode().put("text", line), where));
            } else if (type.startsWith("application/x-ndjson") || type.startsWith("application/jsonl")) {
                readLines(text, (line, where) -> accepted.add(record(readJson(line, where), where), where));
            } else {
                readJsonBody(text, accepted);
            }
        } catch (CharacterCodingException e) {
            throw new ApiException(400, "invalid-utf8", "The body is not valid UTF-8.");
        } catch (IOException e) {
            throw new ApiException(400, "invalid-request", "The body could not be read: " + e.getMessage());
        }
        if (accepted.values.isEmpty()) {
            throw ApiException.badRequest("The body holds no record.");
        }
        return accepted.values;
    }

    private interface LineHandler {
        void accept(String line, String where);
    }

    /** Non-blank lines one at a time, numbered from 1 as an editor shows them. */
    private static void readLines(Reader text, LineHandler handler) throws IOException {
        BufferedReader lines = new BufferedReader(text);
        int number = 0;
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
            number++;
            if (!line.isBlank()) {
                handler.accept(line, "Line " + number);
            }
        }
    }

    /** One JSON value: an array is read element by element, anything else as one record. */
    private static void readJsonBody(Reader text, Accepted accepted) throws IOException {
        try (JsonParser parser = JSON.createParser(text)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                throw new ApiException(400, "invalid-json", "The body is empty: send a JSON record or an array of them.");
            }
            if (first == JsonToken.START_ARRAY) {
                int index = 0;
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    String where = "Record " + index++;
                    accepted.add(record(parser.readValueAsTree(), where), where);
                }
            } else {
                accepted.add(record(parser.readValueAsTree(), "Record 0"), "Record 0");
            }
            if (parser.nextToken() != null) {
                throw new ApiException(400, "invalid-json", "The body holds more than one JSON value (after line "
                        + parser.currentLocation().getLineNr() + "); send an array, or NDJSON as application/x-ndjson.");
            }
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "invalid-json", "The body is not valid JSON: " + e.getOriginalMessage()
                    + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        }
    }

    /** The values accepted so far; each record is checked as it is read. */
    private static final class Accepted {
        private final byte[] key;
        private final int maxRecords;
        private final RecordParser parser;
        private final List<byte[]> values = new ArrayList<>();

        Accepted(String sessionKey, int maxRecords, int maxRecordBytes) {
            this.key = sessionKey.getBytes(StandardCharsets.UTF_8);
            this.maxRecords = maxRecords;
            this.parser = new RecordParser(maxRecordBytes);
        }

        void add(ObjectNode record, String where) {
            if (values.size() == maxRecords) {
                throw ApiException.tooLarge("At most " + maxRecords + " records per request; " + where
                        + " is one more.");
            }
            byte[] value = record.toString().getBytes(StandardCharsets.UTF_8);
            // The ingest service's own validator: what it would dead-letter is refused here, with its reason.
            if (parser.parse(key, value) instanceof ParseResult.Rejected rejected) {
                int status = rejected.reason() == RejectReason.TOO_LARGE ? 413 : 400;
                throw new ApiException(status, rejected.reason().code(), where + ": " + rejected.message() + ".");
            }
            values.add(value);
        }
    }

    private static ObjectNode record(JsonNode node, String where) {
        if (node != null && node.isTextual()) {
            return JSON.createObjectNode().put("text", node.asText());
        }
        if (node == null || !node.isObject()) {
            throw ApiException.badRequest(where + ": a record is a JSON object with a \"text\" string, or a string.");
        }
        return (ObjectNode) node;
    }

    private static JsonNode readJson(String text, String where) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "invalid-json", where + " is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** Strict decoding: a reader's default would replace bad bytes with U+FFFD silently. */
    private static Reader strictUtf8(InputStream body) {
        return new InputStreamReader(body, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT));
    }
}
