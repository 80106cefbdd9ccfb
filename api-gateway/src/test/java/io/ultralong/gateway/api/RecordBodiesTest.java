package io.ultralong.gateway.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Append bodies are read record by record: a bad record or one too many ends the read where it is, with its
 * line or element, however much body follows. An endless body proves it: reading it whole would never end.
 */
class RecordBodiesTest {

    private static final int MAX_RECORD_BYTES = 4096;

    /** {@code prefix}, then {@code line} repeated for ever; counts what was read. */
    static final class EndlessBody extends InputStream {
        private final byte[] prefix;
        private final byte[] line;
        private long position;

        EndlessBody(String prefix, String line) {
            this.prefix = prefix.getBytes(StandardCharsets.UTF_8);
            this.line = line.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public int read() {
            long at = position++;
            return Byte.toUnsignedInt(at < prefix.length ? prefix[(int) at] : line[(int) ((at - prefix.length) % line.length)]);
        }

        long bytesRead() {
            return position;
        }
    }

    @Test
    void aBadNdjsonLineEndsTheReadWithItsLineNumber() {
        EndlessBody body = new EndlessBody("{\"text\": \"one\"}\n\n{\"text\": \"two\"}\n{\"text\": \n", "{\"text\": \"more\"}\n");
        assertThatThrownBy(() -> RecordBodies.parse("acme/s", body, "application/x-ndjson", 1_000_000, MAX_RECORD_BYTES))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.code()).isEqualTo("invalid-json");
                    assertThat(e.getMessage()).startsWith("Line 4 is not valid JSON");   // blank line 2 counts
                });
        assertThat(body.bytesRead()).as("read up to the bad line, not the endless rest").isLessThan(64 * 1024);
    }

    @Test
    void theRecordOnePastTheCountLimitEndsTheReadWith413() {
        EndlessBody body = new EndlessBody("", "a line of text\n");
        assertThatThrownBy(() -> RecordBodies.parse("acme/s", body, "text/plain", 100, MAX_RECORD_BYTES))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(413);
                    assertThat(e.getMessage()).isEqualTo("At most 100 records per request; Line 101 is one more.");
                });
        assertThat(body.bytesRead()).isLessThan(64 * 1024);
    }

    @Test
    void aBadArrayElementEndsTheReadWithItsIndex() {
        EndlessBody body = new EndlessBody("[{\"text\": \"a\"}, \"b\", {\"text\": 5}, ", "{\"text\": \"more\"}, ");
        assertThatThrownBy(() -> RecordBodies.parse("acme/s", body, "application/json", 1_000_000, MAX_RECORD_BYTES))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.code()).isEqualTo("missing-text");
                    assertThat(e.getMessage()).startsWith("Record 2: ");
                });
        assertThat(body.bytesRead()).isLessThan(64 * 1024);
    }

    @Test
    void badUtf8OnALaterLineIsRefusedAsInvalidUtf8() {
        InputStream body = new SequenceInputStream(new ByteArrayInputStream("fine\n".getBytes(StandardCharsets.UTF_8)),
                new ByteArrayInputStream(new byte[] {'o', 'k', (byte) 0xC3, (byte) 0x28, '\n'}));
        assertThatThrownBy(() -> RecordBodies.parse("acme/s", body, "text/plain", 100, MAX_RECORD_BYTES))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid-utf8"));
    }

    @Test
    void aLargeNdjsonBodyIsReadWholeIntoOneValuePerLine() {
        // 12 MiB of NDJSON, the size of body the gateway takes (16 MiB), in 10,000 records
        String payload = "x".repeat(1200);
        StringBuilder ndjson = new StringBuilder();
        for (int i = 0; i < 10_000; i++) {
            ndjson.append("{\"text\": \"").append(i).append(' ').append(payload).append("\", \"source\": \"bench\"}\r\n");
        }
        byte[] bytes = ndjson.toString().getBytes(StandardCharsets.UTF_8);
        assertThat(bytes.length).isGreaterThan(12_000_000);
        List<byte[]> values = RecordBodies.parse("acme/s", new ByteArrayInputStream(bytes), "application/x-ndjson; charset=utf-8",
                10_000, MAX_RECORD_BYTES);
        assertThat(values).hasSize(10_000);
        assertThat(new String(values.get(9_999), StandardCharsets.UTF_8))
                .isEqualTo("{\"text\":\"9999 " + payload + "\",\"source\":\"bench\"}");
    }
}
