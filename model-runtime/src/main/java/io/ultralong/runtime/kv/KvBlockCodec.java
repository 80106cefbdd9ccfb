package io.ultralong.runtime.kv;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.ultralong.runtime.djl.HostUpload;

/**
 * The byte layout of one exported KV block; every number little-endian.
 *
 * <pre>
 * offset size  field
 *  0      4    magic "ULKV" (0x55 0x4C 0x4B 0x56)
 *  4      4    int32 version = 1
 *  8      4    int32 dtype tag: 1 = f32 (IEEE binary32), 2 = f16 (IEEE binary16)
 * 12      4    int32 layers
 * 16      4    int32 kvHeads
 * 20      4    int32 headDim
 * 24      4    int32 tokens
 * 28      4    int32 CRC-32 (java.util.zip.CRC32, as unsigned 32 bits) of the data section
 * 32      ...  data: for layer 0..layers-1: K then V, each [tokens][kvHeads][headDim] row-major,
 *              so value (layer l, K/V s in {0,1}, token t, head h, dim d) sits at element
 *              ((l*2 + s)*tokens + t)*kvHeads*headDim + h*headDim + d
 * </pre>
 *
 * Keys are stored after RoPE (as the attention uses them), so a block is only valid at the positions it was
 * computed for: the importer must place it at the same offset of the same token prefix.
 */
public final class KvBlockCodec {

    public static final int MAGIC = 0x564B4C55;   // "ULKV" read as a little-endian int
    public static final int VERSION = 1;
    public static final int HEADER_BYTES = 32;
    static final int TAG_F32 = 1;
    static final int TAG_F16 = 2;

    private KvBlockCodec() {
    }

    /**
     * Encodes {@code data}, a host array [layers, 2 (K, V), tokens, kvHeads, headDim] in the layout's export dtype
     * ({@link KvLayout#exportType}: the arena widens bf16 and dequantises int8/fp8 on the way out, so the stored
     * format stays f32 or f16): the data section's order, so its bytes are copied once, as they are.
     */
    public static byte[] encode(NDArray data, KvLayout layout) {
        Shape shape = data.getShape();
        if (shape.dimension() != 5 || shape.get(0) != layout.layers() || shape.get(1) != 2
                || shape.get(3) != layout.kvHeads() || shape.get(4) != layout.headDim()
                || data.getDataType() != layout.exportType()) {
            throw new IllegalArgumentException("KV block data " + shape + " " + data.getDataType()
                    + " does not match the layout " + layout);
        }
        int tokens = Math.toIntExact(shape.get(2));
        int bytes = layout.exportType().getNumOfBytes();
        long total = HEADER_BYTES + (long) layout.layers() * 2 * tokens * layout.kvHeads() * layout.headDim() * bytes;
        if (total > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("Block of " + total + " bytes is too large for one byte array");
        }
        ByteBuffer out = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        out.position(HEADER_BYTES);
        // toByteBuffer is in native order: go through typed views so the output is little-endian anywhere
        ByteBuffer raw = data.toByteBuffer().order(ByteOrder.nativeOrder());
        if (bytes == 4) {
            out.asFloatBuffer().put(raw.asFloatBuffer());
        } else {
            out.asShortBuffer().put(raw.asShortBuffer());
        }
        CRC32 crc = new CRC32();
        crc.update(out.array(), HEADER_BYTES, (int) total - HEADER_BYTES);
        out.putInt(0, MAGIC).putInt(4, VERSION).putInt(8, bytes == 4 ? TAG_F32 : TAG_F16)
                .putInt(12, layout.layers()).putInt(16, layout.kvHeads()).putInt(20, layout.headDim())
                .putInt(24, tokens).putInt(28, (int) crc.getValue());
        return out.array();
    }

    /** The token count in an encoded block's header, after checking the header against the layout. */
    public static int checkHeader(byte[] encoded, KvLayout layout) {
        return checkHeader(ByteBuffer.wrap(encoded), layout);
    }

    /** The same for an encoded block in a buffer's remaining bytes (heap, direct or mapped; left untouched). */
    public static int checkHeader(ByteBuffer block, KvLayout layout) {
        ByteBuffer encoded = block.slice();
        if (encoded.remaining() < HEADER_BYTES) {
            throw new IllegalArgumentException("KV block of " + encoded.remaining() + " bytes has no complete header");
        }
        ByteBuffer in = encoded.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (in.getInt(0) != MAGIC) {
            throw new IllegalArgumentException("Not a KV block (bad magic)");
        }
        if (in.getInt(4) != VERSION) {
            throw new IllegalArgumentException("Unsupported KV block version " + in.getInt(4));
        }
        int tag = in.getInt(8);
        if (tag != TAG_F32 && tag != TAG_F16) {
            throw new IllegalArgumentException("Unknown KV block dtype tag " + tag);
        }
        int layers = in.getInt(12);
        int kvHeads = in.getInt(16);
        int headDim = in.getInt(20);
        int tokens = in.getInt(24);
        if (layers != layout.layers() || kvHeads != layout.kvHeads() || headDim != layout.headDim()) {
            throw new IllegalArgumentException("KV block shape layers=" + layers + " kvHeads=" + kvHeads + " headDim="
                    + headDim + " does not match the model's " + layout.layers() + "/" + layout.kvHeads() + "/"
                    + layout.headDim());
        }
        long expected = HEADER_BYTES + 2L * layers * tokens * kvHeads * headDim * (tag == TAG_F32 ? 4 : 2);
        if (tokens < 1 || encoded.remaining() != expected) {
            throw new IllegalArgumentException("KV block of " + encoded.remaining() + " bytes, header says " + expected);
        }
        CRC32 crc = new CRC32();
        crc.update(encoded.slice(HEADER_BYTES, encoded.remaining() - HEADER_BYTES));
        if ((int) crc.getValue() != in.getInt(28)) {
            throw new IllegalArgumentException("KV block checksum mismatch: corrupt block");
        }
        return tokens;
    }

    /**
     * The data of an encoded block in a buffer's remaining bytes as an array [layers, 2 (K, V), tokens, kvHeads,
     * headDim] in its stored dtype, after checking the header: from a direct buffer on the CPU a view of the
     * buffer's memory (torch::from_blob, no copy), on a GPU one host-to-device copy. The array reads the buffer: close
     * it before the buffer goes, and take no views of it that outlive it.
     */
    public static NDArray view(ByteBuffer block, KvLayout layout, NDManager manager) {
        ByteBuffer encoded = block.slice();
        int tokens = checkHeader(encoded, layout);
        DataType stored = encoded.order(ByteOrder.LITTLE_ENDIAN).getInt(8) == TAG_F32 ? DataType.FLOAT32 : DataType.FLOAT16;
        ByteBuffer data = encoded.slice(HEADER_BYTES, encoded.remaining() - HEADER_BYTES);
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            ByteBuffer nativeOrder = ByteBuffer.allocateDirect(data.remaining()).order(ByteOrder.nativeOrder());
            ByteBuffer le = data.order(ByteOrder.LITTLE_ENDIAN);
            if (stored == DataType.FLOAT32) {
                nativeOrder.asFloatBuffer().put(le.asFloatBuffer());
            } else {
                nativeOrder.asShortBuffer().put(le.asShortBuffer());
            }
            data = nativeOrder;
        }
        return manager.create(data.order(ByteOrder.nativeOrder()),
                new Shape(layout.layers(), 2, tokens, layout.kvHeads(), layout.headDim()), stored);
    }

    /**
     * Decodes into a host array [layers, 2 (K, V), tokens, kvHeads, headDim] in the dtype the block was stored in
     * (the arena converts on its way in: rounds to f16 or bf16, or quantises), with storage owned by libtorch.
     */
    public static NDArray decode(byte[] encoded, KvLayout layout, NDManager host) {
        int tokens = checkHeader(encoded, layout);
        int tag = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN).getInt(8);
        DataType stored = tag == TAG_F32 ? DataType.FLOAT32 : DataType.FLOAT16;
        int data = encoded.length - HEADER_BYTES;
        ByteBuffer le = ByteBuffer.wrap(encoded, HEADER_BYTES, data).slice().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer nativeOrder = ByteBuffer.allocateDirect(data).order(ByteOrder.nativeOrder());
        if (stored == DataType.FLOAT32) {
            nativeOrder.asFloatBuffer().put(le.asFloatBuffer());
        } else {
            nativeOrder.asShortBuffer().put(le.asShortBuffer());
        }
        return HostUpload.create(host, nativeOrder,
                new Shape(layout.layers(), 2, tokens, layout.kvHeads(), layout.headDim()), stored);
    }
}
