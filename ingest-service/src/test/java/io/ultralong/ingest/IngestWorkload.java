package io.ultralong.ingest;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.ultralong.protocol.records.RejectReason;

/**
 * A deterministic mix of {@code ul.records} input for tests and the benchmark: plain-text and JSON records of mixed
 * sizes with non-ASCII text over many sessions, a share of invalid records of every kind, and a few deletes. Each
 * record knows what ingest must make of it; the expected context text is written out here by hand from the default
 * template's rules rather than by the code under test.
 */
public final class IngestWorkload {

    /** What ingest must do with one record. */
    public sealed interface Expectation {
    }

    /** A valid record: tokenizing {@code contextText} gives the session's next tokens. */
    public record Valid(String contextText) implements Expectation {
    }

    /** A delete (tombstone with a key). */
    public record Delete() implements Expectation {
    }

    /** An invalid record that must reach the DLQ with {@code reason}. */
    public record Invalid(RejectReason reason) implements Expectation {
    }

    /** One input record: key (null for missing-key), value (null for a delete), and the expectation. */
    public record InputRecord(byte[] key, byte[] value, Expectation expectation) {
        public String session() {
            return key == null ? null : new String(key, StandardCharsets.UTF_8);
        }
    }

    private static final String[] WORDS = {
            "the", "session", "service", "restarted", "after", "timeout", "reading", "partition", "request",
            "completed", "in", "12", "ms", "status", "200", "ERROR", "warning:", "disk", "full", "on", "db-1,",
            "Grüße", "naïve", "café", "Привет", "ошибка", "κόσμος", "模型", "读取", "全部", "上下文。", "日本語",
            "🌍", "🦊", "emoji👩‍💻", "\"quoted\"", "back\\slash", "tab\there", "line\nbreak", "0x7f", "{braces}",
    };
    private static final RejectReason[] INVALID_KINDS = {
            RejectReason.INVALID_UTF8, RejectReason.INVALID_JSON, RejectReason.MISSING_TEXT, RejectReason.TOO_LARGE,
            RejectReason.INVALID_FIELD, RejectReason.MISSING_KEY,
    };
    private static final ObjectMapper JSON = new ObjectMapper();

    private IngestWorkload() {
    }

    /**
     * @param count          number of records
     * @param sessions       number of distinct sessions
     * @param maxRecordBytes the ingest limit the too-large records must exceed
     * @param seed           the same seed gives the same records
     */
    public static List<InputRecord> generate(int count, int sessions, int maxRecordBytes, long seed) {
        Random random = new Random(seed);
        List<InputRecord> records = new ArrayList<>(count);
        int invalidKind = 0;
        for (int i = 0; i < count; i++) {
            byte[] key = utf8("tenant-" + (i % 3) + "/session-" + random.nextInt(sessions));
            double roll = random.nextDouble();
            if (roll < 0.015) {
                records.add(invalid(INVALID_KINDS[invalidKind++ % INVALID_KINDS.length], key, maxRecordBytes, random));
            } else if (roll < 0.016) {
                records.add(new InputRecord(key, null, new Delete()));
            } else {
                records.add(valid(key, random));
            }
        }
        return records;
    }

    private static InputRecord valid(byte[] key, Random random) {
        String text = text(random, length(random));
        if (random.nextBoolean()) {
            return new InputRecord(key, utf8(text), new Valid(text + "\n"));
        }
        ObjectNode json = JSON.createObjectNode().put("text", text);
        StringBuilder expected = new StringBuilder();
        if (random.nextInt(3) > 0) {
            long epochMillis = 1_767_225_600_000L + random.nextInt(1_000_000_000);
            if (random.nextBoolean()) {
                json.put("ts", epochMillis);
                expected.append('[').append(Instant.ofEpochMilli(epochMillis)).append("] ");
            } else {
                String iso = "2026-03-0" + (1 + random.nextInt(9)) + "T10:15:30+02:00";
                json.put("ts", iso);
                expected.append('[').append(iso).append("] ");
            }
        }
        if (random.nextInt(3) > 0) {
            String source = random.nextBoolean() ? "worker-" + random.nextInt(10) : "приложение";
            json.put("source", source);
            expected.append(source).append(": ");
        }
        if (random.nextBoolean()) {
            // 64 random bits: ids must not collide, since ingest drops a record repeating its session's id
            json.put("id", "r-" + Long.toHexString(random.nextLong()));
        }
        expected.append(text).append('\n');
        return new InputRecord(key, utf8(json.toString()), new Valid(expected.toString()));
    }

    private static InputRecord invalid(RejectReason reason, byte[] key, int maxRecordBytes, Random random) {
        String text = text(random, 40);
        byte[] value = switch (reason) {
            case INVALID_UTF8 -> {
                byte[] good = utf8(text);
                good[good.length / 2] = (byte) 0xFF;
                yield good;
            }
            case INVALID_JSON -> utf8("{\"text\": \"" + text.replace("\"", "'").replace("\\", "/").replace("\n", " ")
                    .replace("\t", " ") + "\"");
            case MISSING_TEXT -> utf8("{\"source\": \"app\", \"body\": \"" + random.nextInt() + "\"}");
            case TOO_LARGE -> utf8("x".repeat(maxRecordBytes + 1 + random.nextInt(100)));
            case INVALID_FIELD -> utf8("{\"text\": \"x\", \"ts\": \"yesterday " + random.nextInt() + "\"}");
            case MISSING_KEY -> utf8(text);
            default -> throw new IllegalArgumentException(reason.toString());
        };
        return new InputRecord(reason == RejectReason.MISSING_KEY ? null : key, value, new Invalid(reason));
    }

    /** Mostly short lines, some paragraphs, a few pages (several chunks each). */
    private static int length(Random random) {
        double roll = random.nextDouble();
        if (roll < 0.85) {
            return 20 + random.nextInt(100);
        }
        if (roll < 0.99) {
            return 120 + random.nextInt(480);
        }
        return 600 + random.nextInt(2400);
    }

    private static String text(Random random, int approximateChars) {
        StringBuilder text = new StringBuilder(approximateChars + 16);
        // Plain-text records must not look like JSON: start with a letter.
        text.append("Log");
        while (text.length() < approximateChars) {
            text.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
        }
        return text.toString();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
