package io.ultralong.gateway.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

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
 */
final class RecordBodies {

    private static final ObjectMapper JSON = new ObjectMapper();

    private RecordBodies() {
    }

    static List<byte[]> parse(String sessionKey, byte[] body, String contentType, int maxRecords, int maxRecordBytes) {
        String text = strictUtf8(body);
        String type = contentType == null ? "" : contentType.toLowerCase();
        List<ObjectNode> records = new ArrayList<>();
        if (type.startsWith("text/plain")) {
            for (String line : text.split("\r?\n")) {
                if (!line.isBlank()) {
                    records.add(JSON.createObjectNode().put("text", line));
                }
            }
        } else if (type.startsWith("application/x-ndjson") || type.startsWith("application/jsonl")) {
            String[] lines = text.split("\r?\n");
            for (int i = 0; i < lines.length; i++) {
                if (!lines[i].isBlank()) {
                    records.add(record(readJson(lines[i], "line " + (i + 1)), "line " + (i + 1)));
                }
            }
        } else {
            JsonNode root = readJson(text, "body");
            if (root.isArray()) {
                for (int i = 0; i < root.size(); i++) {
                    records.add(record(root.get(i), "element " + i));
                }
            } else {
                records.add(record(root, "body"));
            }
        }
        if (records.isEmpty()) {
            throw ApiException.badRequest("The body holds no record.");
        }
        if (records.size() > maxRecords) {
            throw ApiException.tooLarge("At most " + maxRecords + " records per request; got " + records.size() + ".");
        }
        RecordParser parser = new RecordParser(maxRecordBytes);
        byte[] key = sessionKey.getBytes(StandardCharsets.UTF_8);
        List<byte[]> values = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            byte[] value = records.get(i).toString().getBytes(StandardCharsets.UTF_8);
            // The ingest service's own validator: what it would dead-letter is refused here, with its reason.
            if (parser.parse(key, value) instanceof ParseResult.Rejected rejected) {
                int status = rejected.reason() == RejectReason.TOO_LARGE ? 413 : 400;
                throw new ApiException(status, rejected.reason().code(), "Record " + i + ": " + rejected.message() + ".");
            }
            values.add(value);
        }
        return values;
    }

    private static ObjectNode record(JsonNode node, String where) {
        if (node.isTextual()) {
            return JSON.createObjectNode().put("text", node.asText());
        }
        if (!node.isObject()) {
            throw ApiException.badRequest(where + ": a record is a JSON object with a \"text\" string, or a string.");
        }
        return (ObjectNode) node;
    }

    private static JsonNode readJson(String text, String where) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new ApiException(400, "invalid-json", where + " is not valid JSON: " + e.getMessage().split("\n")[0]);
        }
    }

    private static String strictUtf8(byte[] body) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException e) {
            throw new ApiException(400, "invalid-utf8", "The body is not valid UTF-8.");
        }
    }
}
