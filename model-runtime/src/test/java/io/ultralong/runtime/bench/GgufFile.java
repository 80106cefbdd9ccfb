package io.ultralong.runtime.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.ultralong.runtime.bench.GgufWriter.ValueType;

/**
 * A GGUF v3 file read back from its bytes (header, key/value metadata, tensor infos, f32 tensor data), written from
 * the format description, independently of {@link GgufWriter}'s code paths, so a test can check what was written.
 * Metadata values come back as String, Long (all integer types), Double (floats), Boolean or List.
 */
final class GgufFile {

    record TensorInfo(String name, long[] dims, int type, long offset) { }

    private final Path file;
    final int version;
    final Map<String, Object> metadata;
    final Map<String, TensorInfo> tensors;
    final long dataStart;

    private GgufFile(Path file, int version, Map<String, Object> metadata, Map<String, TensorInfo> tensors, long dataStart) {
        this.file = file;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataStart = dataStart;
    }

    static GgufFile read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            // metadata of our files is a few MB at most (vocabulary and merges)
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(ch.size(), 64L << 20))
                    .order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[4];
            b.get(magic);
            if (!"GGUF".equals(new String(magic, StandardCharsets.US_ASCII))) {
                throw new IllegalArgumentException(file + " is not a GGUF file");
            }
            int version = b.getInt();
            long tensorCount = b.getLong();
            long kvCount = b.getLong();
            Map<String, Object> metadata = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = string(b);
                metadata.put(key, value(b, ValueType.of(b.getInt())));
            }
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = string(b);
                long[] dims = new long[b.getInt()];
                for (int d = 0; d < dims.length; d++) {
                    dims[d] = b.getLong();
                }
                tensors.put(name, new TensorInfo(name, dims, b.getInt(), b.getLong()));
            }
            long alignment = ((Number) metadata.getOrDefault("general.alignment", 32L)).longValue();
            long dataStart = (b.position() + alignment - 1) / alignment * alignment;
            return new GgufFile(file, version, metadata, tensors, dataStart);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        }
    }

    /** The f32 data of one tensor, in file order (innermost dimension fastest). */
    float[] floats(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null || t.type() != GgufWriter.GGML_F32) {
            throw new IllegalArgumentException("No f32 tensor " + name + " in " + file);
        }
        long n = 1;
        for (long d : t.dims()) {
            n *= d;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + t.offset(), n * Float.BYTES)
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[(int) n];
            b.asFloatBuffer().get(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + name + " from " + file, e);
        }
    }

    long fileSize() {
        return file.toFile().length();
    }

    private static String string(ByteBuffer b) {
        byte[] utf8 = new byte[Math.toIntExact(b.getLong())];
        b.get(utf8);
        return new String(utf8, StandardCharsets.UTF_8);
    }

    private static Object value(ByteBuffer b, ValueType type) {
        return switch (type) {
            case UINT8 -> (long) (b.get() & 0xFF);
            case INT8 -> (long) b.get();
            case UINT16 -> (long) (b.getShort() & 0xFFFF);
            case INT16 -> (long) b.getShort();
            case UINT32 -> b.getInt() & 0xFFFFFFFFL;
            case INT32 -> (long) b.getInt();
            case UINT64, INT64 -> b.getLong();
            case FLOAT32 -> (double) b.getFloat();
            case FLOAT64 -> b.getDouble();
            case BOOL -> b.get() != 0;
            case STRING -> string(b);
            case ARRAY -> {
                ValueType element = ValueType.of(b.getInt());
                long count = b.getLong();
                List<Object> items = new ArrayList<>();
                for (long i = 0; i < count; i++) {
                    items.add(value(b, element));
                }
                yield items;
            }
        };
    }
}
