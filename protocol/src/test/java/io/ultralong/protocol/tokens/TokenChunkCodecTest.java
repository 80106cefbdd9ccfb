package io.ultralong.protocol.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class TokenChunkCodecTest {

    @Test
    void encodesTheDocumentedLittleEndianLayout() {
        byte[] bytes = TokenChunkCodec.encode(new TokenChunk(2, 300, 7, true, new int[] {1, 128009}));

        assertThat(HexFormat.of().formatHex(bytes)).isEqualTo(
                "55" + "01" + "01"
                        + "0200000000000000"
                        + "2c01000000000000"
                        + "0700000000000000"
                        + "02000000"
                        + "01000000" + "09f40100");
    }

    @Test
    void roundTripsEveryField() {
        TokenChunk chunk = new TokenChunk(Long.MAX_VALUE, 4_000_000L, 123_456_789_012L, false, new int[] {0, -1, 42});

        assertThat(TokenChunkCodec.decode(TokenChunkCodec.encode(chunk))).isEqualTo(chunk);
    }

    @Test
    void markerChunksRoundTripAndOrdinaryChunksKeepTheVersionOneLayout() {
        TokenChunk created = TokenChunk.marker(1, 0, 17, new TokenChunk.Marker.SessionCreated("{\"team\":\"sre ✓\"}"));
        TokenChunk rejected = TokenChunk.marker(4, 90, 21, new TokenChunk.Marker.Rejected("invalid-field", "\"ts\" bad"));

        assertThat(TokenChunkCodec.decode(TokenChunkCodec.encode(created))).isEqualTo(created);
        assertThat(TokenChunkCodec.decode(TokenChunkCodec.encode(rejected))).isEqualTo(rejected);
        byte[] bytes = TokenChunkCodec.encode(rejected);
        assertThat(bytes[2]).as("flags: end of record and marker").isEqualTo((byte) 3);
        assertThat(bytes).hasSize(31 + 1 + 4 + "invalid-field".length() + 4 + "\"ts\" bad".length());
        assertThatThrownBy(() -> TokenChunkCodec.decode(java.util.Arrays.copyOf(bytes, bytes.length - 1)))
                .hasMessageContaining("marker");
        assertThatThrownBy(() -> new TokenChunk(1, 0, 0, false, new int[0], rejected.marker()))
                .hasMessageContaining("marker chunk");
    }

    @Test
    void duplicateMarkerRoundTripsWithItsRecordIdAndKindThree() {
        TokenChunk duplicate = TokenChunk.marker(9, 120, 33, new TokenChunk.Marker.Duplicate("retry-7/2 ✓"));

        byte[] bytes = TokenChunkCodec.encode(duplicate);

        assertThat(TokenChunkCodec.decode(bytes)).isEqualTo(duplicate);
        assertThat(bytes[31]).as("marker kind").isEqualTo((byte) 3);
        assertThat(bytes).hasSize(31 + 1 + 4 + "retry-7/2 ✓".getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 4);
    }

    @Test
    void rejectsForeignTruncatedAndOverlongValues() {
        byte[] good = TokenChunkCodec.encode(new TokenChunk(1, 0, 0, true, new int[] {5, 6}));
        byte[] foreign = good.clone();
        foreign[0] = '{';
        byte[] futureVersion = good.clone();
        futureVersion[1] = 2;
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 1);
        byte[] overlong = java.util.Arrays.copyOf(good, good.length + 4);

        assertThatThrownBy(() -> TokenChunkCodec.decode(foreign)).hasMessageContaining("magic");
        assertThatThrownBy(() -> TokenChunkCodec.decode(futureVersion)).hasMessageContaining("version 2");
        assertThatThrownBy(() -> TokenChunkCodec.decode(truncated)).hasMessageContaining("cannot hold 2 tokens");
        assertThatThrownBy(() -> TokenChunkCodec.decode(overlong)).hasMessageContaining("cannot hold 2 tokens");
        assertThatThrownBy(() -> TokenChunkCodec.decode(new byte[3])).hasMessageContaining("header");
    }
}
