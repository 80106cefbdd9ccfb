package io.ultralong.runtime.djl;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;

/**
 * A TorchScript module whose source the project ships as a resource, packaged at run time into the zip archive
 * {@code torch.jit.load} reads, and loaded through DJL: PyTorch's own kernels (fused attention, in-place copies)
 * without Python anywhere. The archive holds the source ({@code code/__torch__.py}), a pickled instance of the
 * module class with only its {@code training} flag ({@code data.pkl}), an empty constants table and the file
 * format version.
 *
 * <p>Serialized TorchScript is a dialect of the Python subset: aten ops are {@code torch.<op>} (also private ones
 * such as {@code torch._scaled_dot_product_flash_attention_for_cpu}), dtypes are their ScalarType numbers
 * (6 = float32, 15 = bfloat16), and a dtype reinterpretation is {@code torch.view_copy(x, dtype)}.
 */
public final class TorchScriptModule implements AutoCloseable {

    /** The file format version PyTorch 2.x writes; a lower one would make the loader apply old-op upgraders. */
    private static final String FILE_FORMAT_VERSION = "10\n";

    /** -Dultralong.torchscript.optimize=true turns libtorch's graph optimizer back on (for measurements). */
    private static final boolean OPTIMIZE = Boolean.getBoolean("ultralong.torchscript.optimize");

    private final PtSymbolBlock block;
    private final String className;

    private TorchScriptModule(PtSymbolBlock block, String className) {
        this.block = block;
        this.className = className;
    }

    /**
     * Loads the TorchScript class {@code className} whose source is the resource {@code resource} next to
     * {@code anchor}; the module's tensors are created on {@code manager}'s device.
     */
    public static TorchScriptModule load(Class<?> anchor, String resource, String className, NDManager manager) {
        String source;
        try (InputStream in = anchor.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("TorchScript source " + resource + " missing beside " + anchor.getName());
            }
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Path archive = Files.createTempFile("ultralong-" + className, ".pt");
            try {
                Files.write(archive, archive(className, source));
                PtSymbolBlock block = JniUtils.loadModule((PtNDManager) manager, archive, true, new String[0],
                        new String[0], false);
                return new TorchScriptModule(block, className);
            } finally {
                Files.deleteIfExists(archive);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the TorchScript archive of " + className, e);
        }
    }

    /** The zip archive torch.jit.load reads: every entry stored (uncompressed) under one top-level folder. */
    static byte[] archive(String className, String source) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            String root = className.toLowerCase(java.util.Locale.ROOT) + "/";
            stored(zip, root + "data.pkl", instancePickle(className));
            stored(zip, root + "constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});   // pickle of ()
            stored(zip, root + "code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
            stored(zip, root + "version", FILE_FORMAT_VERSION.getBytes(StandardCharsets.US_ASCII));
        }
        return bytes.toByteArray();
    }

    /**
     * Pickle (protocol 2) of {@code __torch__.<className>()} with state {@code {"training": True}}:
     * PROTO 2, GLOBAL, EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, MARK, BINUNICODE "training", NEWTRUE, SETITEMS, BUILD, STOP.
     */
    private static byte[] instancePickle(String className) throws IOException {
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        pickle.write(new byte[] {(byte) 0x80, 2});
        pickle.write(("c__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII));
        pickle.write(new byte[] {')', (byte) 0x81, '}', '(', 'X', 8, 0, 0, 0});
        pickle.write("training".getBytes(StandardCharsets.US_ASCII));
        pickle.write(new byte[] {(byte) 0x88, 'u', 'b', '.'});
        return pickle.toByteArray();
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry entry = new ZipEntry(name);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(data);
        zip.closeEntry();
    }

    /**
     * Runs one method of the module without autograd. The caller closes the arguments and the result (an IValue
     * is a native handle; a tensor taken out of it with {@code toTensor} is a separate handle).
     */
    public IValue call(String method, IValue... arguments) {
        // The profiling graph executor re-specialises the graph for every new input shape (each chunk length, each
        // segment count) and was measured slower here; the setting is per thread in libtorch, so set it per call.
        JniUtils.setGraphExecutorOptimize(OPTIMIZE);
        return IValueUtils.runMethod(block, method, arguments);
    }

    public String className() {
        return className;
    }

    @Override
    public void close() {
        block.close();
    }
}
