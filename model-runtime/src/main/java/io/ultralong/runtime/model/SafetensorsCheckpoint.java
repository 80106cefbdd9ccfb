package io.ultralong.runtime.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Single-file or sharded (model.safetensors.index.json) safetensors, header parsed by us, tensors
 * memory-mapped one by one, never a whole shard on the heap. Owns the open file channels.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private final Map<String, TensorInfo> tensors;
    private final Map<Path, FileChannel> channels;

    private SafetensorsCheckpoint(Map<String, TensorInfo> tensors, Map<Path, FileChannel> channels) {
        this.tensors = tensors;
        this.channels = channels;
    }

    public static SafetensorsCheckpoint open(Path modelDir) {
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<Path, FileChannel> channels = new LinkedHashMap<>();
        try {
            Path index = modelDir.resolve("model.safetensors.index.json");
            Set<Path> files = new LinkedHashSet<>();
            if (Files.isRegularFile(index)) {
                JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
                for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                    files.add(modelDir.resolve(it.next().getValue().asText()));
                }
            } else if (Files.isRegularFile(modelDir.resolve("model.safetensors"))) {
                files.add(modelDir.resolve("model.safetensors"));
            } else {
                throw new IllegalArgumentException("Missing weights: neither model.safetensors nor "
                        + "model.safetensors.index.json in " + modelDir);
            }
            for (Path file : files) {
                if (!Files.isRegularFile(file)) {
                    throw new IllegalArgumentException("Missing safetensors shard " + file);
                }
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
                channels.put(file, ch);
                readHeader(file, ch, tensors);
            }
        } catch (IOException e) {
            closeAll(channels);
            throw new UncheckedIOException("Cannot read safetensors in " + modelDir, e);
        } catch (RuntimeException e) {
            closeAll(channels);
            throw e;
        }
        return new SafetensorsCheckpoint(Collections.unmodifiableMap(tensors), channels);
    }

    /** 8-byte little-endian header length, then that many bytes of JSON; offsets relative to the data start. */
    static void readHeader(Path file, FileChannel ch, Map<String, TensorInfo> out) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new IllegalArgumentException("Truncated safetensors file (no header length): " + file);
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
            throw new IllegalArgumentException("Truncated or corrupt safetensors header (length " + headerLen
                    + ", file " + size + " bytes): " + file);
        }
        ByteBuffer header = ByteBuffer.allocate((int) headerLen);
        readFully(ch, header, 8);
        JsonNode root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
        long dataStart = 8 + headerLen;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            TensorDType dtype;
            try {
                dtype = TensorDType.fromSafetensors(t.path("dtype").asText());
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(ex.getMessage() + " for tensor " + e.getKey() + " in " + file, ex);
            }
            long[] shape = new long[t.path("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.path("shape").get(i).asLong();
            }
            long begin = t.path("data_offsets").get(0).asLong();
            long end = t.path("data_offsets").get(1).asLong();
            TensorInfo info = new TensorInfo(e.getKey(), dtype, shape, file, dataStart + begin, end - begin);
            if (info.elements() * dtype.bytes() != info.byteLength()) {
                throw new IllegalArgumentException("Tensor " + e.getKey() + " in " + file + ": shape and byte range disagree");
            }
            if (dataStart + end > size) {
                throw new IllegalArgumentException("Truncated safetensors file " + file + ": tensor " + e.getKey()
                        + " ends at " + (dataStart + end) + " but the file has " + size + " bytes");
            }
            out.put(e.getKey(), info);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new IOException("Unexpected end of file");
            }
        }
    }

    public Set<String> tensorNames() {
        return tensors.keySet();
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new IllegalArgumentException("No tensor '" + name + "' in checkpoint");
        }
        return info;
    }

    private long rowElements(TensorInfo info) {
        return info.shape().length == 0 ? 1 : info.elements() / Math.max(1, info.shape()[0]);
    }

    /** The raw bytes of rows [rowStart,rowEnd) as stored (a read-only mapped slice). */
    public ByteBuffer readRowsRaw(String name, long rowStart, long rowEnd) {
        TensorInfo info = info(name);
        long rows = info.shape().length == 0 ? 1 : info.shape()[0];
        if (rowStart < 0 || rowEnd > rows || rowStart > rowEnd) {
            throw new IndexOutOfBoundsException("Rows [" + rowStart + "," + rowEnd + ") of " + info);
        }
        long rowBytes = rowElements(info) * info.dtype().bytes();
        long length = (rowEnd - rowStart) * rowBytes;
        if (length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Row range of " + name + " exceeds 2 GiB; read it in windows");
        }
        try {
            return channels.get(info.file()).map(FileChannel.MapMode.READ_ONLY, info.dataOffset() + rowStart * rowBytes, length)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot map " + info, e);
        }
    }

    /** Rows [rowStart,rowEnd) widened to float32 in a little-endian direct buffer. */
    public FloatBuffer readRowsAsFloat(String name, long rowStart, long rowEnd) {
        TensorInfo info = info(name);
        ByteBuffer raw = readRowsRaw(name, rowStart, rowEnd);
        int n = (int) (raw.capacity() / info.dtype().bytes());
        ByteBuffer outBytes = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer out = outBytes.asFloatBuffer();
        switch (info.dtype()) {
            case F32 -> out.put(raw.asFloatBuffer());
            case BF16 -> {
                ShortBuffer s = raw.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out.put(Float.intBitsToFloat((s.get(i) & 0xFFFF) << 16));
                }
            }
            case F16 -> {
                ShortBuffer s = raw.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out.put(halfToFloat(s.get(i)));
                }
            }
        }
        out.flip();
        return out;
    }

    /** IEEE 754 binary16 to float32 (Java 17 has no Float.float16ToFloat). */
    public static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;   // subnormal: exact in float32
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    public float[] readAsFloatArray(String name) {
        TensorInfo info = info(name);
        if (info.elements() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("Tensor " + name + " has " + info.elements() + " elements: too big for an array");
        }
        long rows = info.shape().length == 0 ? 1 : info.shape()[0];
        FloatBuffer buf = readRowsAsFloat(name, 0, rows);
        float[] out = new float[buf.remaining()];
        buf.get(out);
        return out;
    }

    @Override
    public void close() {
        closeAll(channels);
    }

    private static void closeAll(Map<Path, FileChannel> channels) {
        for (FileChannel ch : channels.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing a read-only channel: nothing to recover
            }
        }
    }
}
