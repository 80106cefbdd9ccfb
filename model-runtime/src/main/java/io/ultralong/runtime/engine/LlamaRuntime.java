package io.ultralong.runtime.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.TreeSet;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import io.ultralong.runtime.cpu.VectorDecoder;
import io.ultralong.runtime.djl.NativeResources;
import io.ultralong.runtime.generate.GenerationParams;
import io.ultralong.runtime.generate.GenerationResult;
import io.ultralong.runtime.generate.Generator;
import io.ultralong.runtime.generate.Sampler;
import io.ultralong.runtime.generate.TokenListener;
import io.ultralong.runtime.kv.BlockKvCache;
import io.ultralong.runtime.kv.KvArena;
import io.ultralong.runtime.kv.KvBlockCodec;
import io.ultralong.runtime.kv.KvCache;
import io.ultralong.runtime.kv.KvLayout;
import io.ultralong.runtime.model.LlamaConfig;
import io.ultralong.runtime.model.ModelDirectory;
import io.ultralong.runtime.model.SafetensorsCheckpoint;
import io.ultralong.runtime.placement.KvPrecision;
import io.ultralong.runtime.tokenizer.ModelTokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loaded Llama model on DJL's PyTorch engine: the facade the worker and the CLI use. Shared, immutable state
 * only (config, tokenizer, weights on the device); everything per sequence lives in the {@link KvCache} passed in,
 * so one runtime serves many sequences. A cache must be used by one thread at a time. Owns the root NDManager:
 * closing the runtime frees the weights and every block still alive.
 */
public final class LlamaRuntime implements AutoCloseable {

    /** libtorch's switch for 2 MiB-aligned CPU allocations advised as transparent huge pages. */
    private static final String THP_ENV = "THP_MEM_ALLOC_ENABLE";
    /** System property that turns the Java decode kernels off ({@code false}); they are on wherever they apply. */
    public static final String VECTOR_DECODE_PROPERTY = "ultralong.vector-decode";
    /** System property: threads of the Java decode kernels (default: libtorch's intra-op threads). */
    public static final String VECTOR_DECODE_THREADS_PROPERTY = "ultralong.vector-decode.threads";

    private static final Logger LOG = LoggerFactory.getLogger(LlamaRuntime.class);

    private final LlamaConfig config;
    private final ModelTokenizer tokenizer;
    private final RuntimeOptions options;
    private final ComputeDevice device;
    private final NDManager root;
    private final NDManager kvManager;
    /** The host-side root of the KV blocks when they live off the GPU (kvOnHost, host tier); null otherwise. */
    private final NDManager hostKvRoot;
    /** Roots of the KV shards on other GPUs than the compute device (closed with the runtime). */
    private final java.util.List<NDManager> deviceRoots = new java.util.ArrayList<>();
    /** Host arrays of block export and import, freed after each call. */
    private final NDManager hostTransfers;
    private final LlamaWeights weights;
    private final KvArena arena;
    /** The fused forward pass; null when attention runs blockwise (then {@code forward} runs every chunk). */
    private final FusedLlama fused;
    private final LlamaForward forward;
    /** One-token steps in Java on the Vector API (f32 on the CPU); null where they do not apply (see cpuDecoder). */
    private final VectorDecoder cpuDecoder;
    private final KvLayout kvLayout;
    private final String fingerprint;

    private LlamaRuntime(LlamaConfig config, ModelTokenizer tokenizer, RuntimeOptions options, ComputeDevice device,
            NDManager root, NDManager kvManager, NDManager hostKvRoot, LlamaWeights weights, String fingerprint) {
        this.config = config;
        this.tokenizer = tokenizer;
        this.options = options;
        this.device = device;
        this.root = root;
        this.kvManager = kvManager;
        this.weights = weights;
        this.kvLayout = new KvLayout(config.numHiddenLayers(), config.numKeyValueHeads(), config.headDim(),
                options.kvBlockTokens(), device.dataType(), kvPrecision(device, options));
        KvPlacement placement = options.placement();
        if (options.kvOnHost() || (placement.devices().size() <= 1 && placement.hostKvBytes() == 0
                && placement.deviceKvBytes() == 0)) {
            this.arena = new KvArena(kvLayout, kvManager);
        } else {
            if (hostKvRoot == null && placement.hostKvBytes() > 0) {
                hostKvRoot = NDManager.newBaseManager(Device.cpu(), "PyTorch");
            }
            this.arena = new KvArena(kvLayout, KvShards.of(options, device, kvManager, hostKvRoot, weights.parameterBytes,
                    kvLayout.bytesPerToken() * kvLayout.blockTokens(), deviceRoots));
            LOG.info("KV sharded over {}", KvShards.describe(arena.shards(), kvLayout));
        }
        this.hostKvRoot = hostKvRoot;
        this.hostTransfers = root.getDevice().isGpu()
                ? NDManager.newBaseManager(Device.cpu(), "PyTorch") : root.newSubManager();
        this.fused = options.fusedAttention()
                ? new FusedLlama(config, weights, root, placement.hostPieceTokens(), device.dataType() == DataType.BFLOAT16)
                : null;
        this.forward = new LlamaForward(config, weights, root, device.dataType(), options);
        this.fingerprint = fingerprint;
        this.cpuDecoder = cpuDecoder(config, weights, device, arena, fused != null);
    }

    /**
     * The Java decode kernels when they apply: fused attention (the path they replace for one token), float32 weights
     * and KV in host memory on one shard, the JVM started with the Vector API, and not turned off.
     */
    private static VectorDecoder cpuDecoder(LlamaConfig config, LlamaWeights weights, ComputeDevice device,
            KvArena arena, boolean fused) {
        if (!fused || device.device().isGpu() || device.dataType() != DataType.FLOAT32 || !arena.hostAddressable()
                || "false".equals(System.getProperty(VECTOR_DECODE_PROPERTY))) {
            return null;
        }
        if (!weights.hostAddressable()) {
            LOG.info("Decode runs through libtorch: a weight matrix exceeds the 2 GiB a Java buffer addresses");
            return null;
        }
        if (!VectorDecoder.available()) {
            LOG.info("Decode runs through libtorch: start the JVM with --add-modules jdk.incubator.vector and one-token "
                    + "steps run on the Vector API kernels, reading weights and KV at memory speed (2x faster here)");
            return null;
        }
        int threads = Integer.getInteger(VECTOR_DECODE_THREADS_PROPERTY, JniUtils.getNumThreads());
        LOG.info("Decode steps run on the Vector API kernels, {} threads", threads);
        return new VectorDecoder(new VectorDecoder.Shape(config.hiddenSize(), config.intermediateSize(),
                config.numAttentionHeads(), config.numKeyValueHeads(), config.headDim(), config.vocabSize(),
                config.rmsNormEps(), config.inverseFrequencies(), config.ropeScaling().attentionFactor()),
                weights.hostViews(), threads);
    }

    /** Threads of the Java decode kernels, 0 when decode runs through libtorch. */
    int cpuDecodeThreads() {
        return cpuDecoder == null ? 0 : cpuDecoder.threads();
    }

    /** One token through the Java decode kernels: its KV written into the cache, the next token's logits returned. */
    private float[] decodeOnCpu(BlockKvCache blocks, int token) {
        long position = blocks.length();
        blocks.reserve(1);
        float[] logits = blocks.arena().withHostSlabs(
                slabs -> cpuDecoder.step(token, position, blocks.segments(), blocks.writes(1), slabs));
        blocks.commit(1);
        return logits;
    }

    /** Loads config, tokenizer and weights onto the configured device; logs load progress per layer. */
    public static LlamaRuntime load(ModelDirectory model, RuntimeOptions options) {
        ComputeDevice onDevice = ComputeDevice.parse(options.device());
        LlamaConfig config = model.config();
        if (config.numAttentionHeads() % config.numKeyValueHeads() != 0) {
            throw new IllegalArgumentException("num_attention_heads " + config.numAttentionHeads()
                    + " is not a multiple of num_key_value_heads " + config.numKeyValueHeads());
        }
        long started = System.nanoTime();
        ModelTokenizer tokenizer = model.openTokenizer();
        NDManager root = null;
        try (SafetensorsCheckpoint checkpoint = model.openWeights()) {
            ComputeDevice device = onDevice.withPrecision(options.precision(),
                    checkpoint.info("model.embed_tokens.weight").dtype(), options.fusedAttention());
            if (device.device().isGpu() && device.dataType() == DataType.FLOAT32 && options.fusedAttention()) {
                // _scaled_dot_product_flash_attention on CUDA takes f16 and bf16 only
                throw new IllegalArgumentException("precision f32 on " + device.device()
                        + " needs the blockwise attention (--blockwise-attention): the CUDA flash kernels run f16/bf16");
            }
            String digest = fingerprint(model.root(), checkpoint, device, options);
            root = NDManager.newBaseManager(device.device(), "PyTorch");
            root.setName("llama-runtime");
            LOG.info("Loading {} layers of {} onto {}, computing in {}, KV {}", config.numHiddenLayers(), model.root(),
                    device.device(), device.dtypeName(), kvPrecision(device, options));
            LlamaWeights weights = LlamaWeights.load(config, checkpoint, root, device.dataType());
            // Blocks hang under kvManager, so its device is where the KV lives; attention copies them to the model.
            NDManager hostKvRoot = null;
            NDManager kvManager;
            if (options.kvOnHost()) {
                // Its own root on the CPU (also when computing there, so both placements run the same code).
                hostKvRoot = NDManager.newBaseManager(Device.cpu(), "PyTorch");
                kvManager = hostKvRoot.newSubManager();
                LOG.info("KV blocks live in host memory and are copied to {} step by step during attention", device.device());
            } else {
                kvManager = root.newSubManager();
            }
            kvManager.setName("kv-blocks");
            LOG.info("Loaded {} MiB of weights in {} ms", weights.parameterBytes >> 20,
                    (System.nanoTime() - started) / 1_000_000);
            if (!device.device().isGpu() && !"1".equals(System.getenv(THP_ENV))) {
                // Read once by libtorch's CPU allocator, from the environment only: the launcher must set it.
                LOG.info("{}=1 is not set: the weights sit in 4 KiB pages; with it libtorch puts them in transparent "
                        + "huge pages and CPU decode runs ~6% faster (decode streams every weight once per token)", THP_ENV);
            }
            return new LlamaRuntime(config, tokenizer, options, device, root, kvManager, hostKvRoot, weights, digest);
        } catch (RuntimeException e) {
            if (root != null) {
                root.close();
            }
            tokenizer.close();
            throw e;
        }
    }

    public LlamaConfig config() {
        return config;
    }

    public ModelTokenizer tokenizer() {
        return tokenizer;
    }

    public RuntimeOptions options() {
        return options;
    }

    /** e.g. "cpu()" / "gpu(0)". */
    public String device() {
        return device.device().toString();
    }

    /** Where the KV blocks live: the compute device, or the host when they are kept off the GPU. */
    public String kvDevice() {
        return kvManager.getDevice().toString();
    }

    /** How KV is stored: "f32", "f16", "bf16" (the compute dtype), or "int8" / "fp8" when quantised. */
    public String kvDtype() {
        return kvLayout.dtypeName();
    }

    /** The dtype weights and activations compute in: "f32", "f16" or "bf16". */
    public String computeDtype() {
        return device.dtypeName();
    }

    /** KV storage for the options: the compute dtype unless quantised. */
    private static KvPrecision kvPrecision(ComputeDevice device, RuntimeOptions options) {
        return switch (options.kvPrecision()) {
            case "int8" -> KvPrecision.INT8;
            case "fp8" -> KvPrecision.FP8;
            default -> KvPrecision.valueOf(device.dtypeName().toUpperCase(java.util.Locale.ROOT));
        };
    }

    /**
     * Digest identifying whose KV blocks are interchangeable: SHA-256 over config.json bytes, weight file
     * names+sizes (and the safetensors headers), kv dtype and kvBlockTokens; lowercase hex.
     */
    public String fingerprint() {
        return fingerprint;
    }

    public KvCache newCache() {
        return new BlockKvCache(arena);
    }

    /**
     * Appends tokens at positions cache.length()..; chunked by prefillChunkTokens; returns the logits (float32,
     * length vocab) of the LAST appended position.
     */
    public float[] prefill(KvCache cache, int[] tokens, PrefillListener listener) {
        BlockKvCache blocks = checkedForPrefill(cache, tokens);
        if (fused == null) {
            return prefillBlockwise(blocks, tokens, listener);
        }
        if (tokens.length == 1 && cpuDecoder != null) {
            float[] logits = decodeOnCpu(blocks, tokens[0]);
            listener.onProgress(1, 1);
            return logits;
        }
        try (NDManager scope = root.newSubManager()) {
            return prefillFused(blocks, tokens, listener, scope).toFloatArray();
        }
    }

    private BlockKvCache checkedForPrefill(KvCache cache, int[] tokens) {
        BlockKvCache blocks = own(cache);
        if (tokens.length == 0) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        for (int token : tokens) {
            if (token < 0 || token >= config.vocabSize()) {
                throw new IllegalArgumentException("Token id " + token + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
        if (blocks.length() + tokens.length > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("Context of " + (blocks.length() + tokens.length)
                    + " tokens exceeds max_position_embeddings " + config.maxPositionEmbeddings());
        }
        return blocks;
    }

    private float[] prefillBlockwise(BlockKvCache blocks, int[] tokens, PrefillListener listener) {
        int chunkSize = options.prefillChunkTokens();
        float[] logits = null;
        for (int offset = 0; offset < tokens.length; offset += chunkSize) {
            int end = Math.min(tokens.length, offset + chunkSize);
            logits = forward.forward(java.util.Arrays.copyOfRange(tokens, offset, end), blocks, end == tokens.length);
            listener.onProgress(end, tokens.length);
        }
        return logits;
    }

    /** The last position's logits, left on the device under {@code scope}. */
    private NDArray prefillFused(BlockKvCache blocks, int[] tokens, PrefillListener listener, NDManager scope) {
        int chunkSize = options.prefillChunkTokens();
        NDArray logits = null;
        for (int offset = 0; offset < tokens.length; offset += chunkSize) {
            int end = Math.min(tokens.length, offset + chunkSize);
            logits = fused.forward(java.util.Arrays.copyOfRange(tokens, offset, end), blocks, end == tokens.length, scope);
            listener.onProgress(end, tokens.length);
        }
        return logits;
    }

    /**
     * Decoding loop on top of the cache (appends the generated tokens to it, all but the last: see
     * {@link Generator}): each step is a one-token prefill of the cache. With fused attention the logits never
     * leave the device: it samples there (same semantics and seeded stream as {@link Sampler}; greedy is
     * identical) and returns only the token id. On the Java decode kernels the logits are in host memory already
     * and {@link Sampler} draws from them.
     */
    public GenerationResult generate(KvCache cache, float[] lastLogits, GenerationParams params, TokenListener listener) {
        own(cache);
        if (fused == null) {
            return Generator.run(lastLogits, token -> prefill(cache, new int[] {token}, PrefillListener.NONE), params,
                    tokenizer, listener);
        }
        Sampler sampler = new Sampler(params);
        return Generator.runSampled(sampler.sample(lastLogits), token -> decodeStep(cache, token, sampler), params,
                tokenizer, listener);
    }

    /**
     * The token {@code sampler} would draw from {@code logits}, drawn on the device (fused attention only): how
     * tests hold the device sampler against the host one.
     */
    int sampleOnDevice(float[] logits, Sampler sampler) {
        try (NDManager scope = root.newSubManager()) {
            NDArray onDevice = scope.create(logits);
            double uniform = sampler.greedy() ? 0 : sampler.nextUniform();
            return fused.sample(onDevice, sampler.temperature(), sampler.topK(), sampler.topP(), uniform);
        }
    }

    /** Feeds one token and returns the next, sampled where the logits are: the fused (or Java kernels') decode step. */
    int decodeStep(KvCache cache, int token, Sampler sampler) {
        BlockKvCache blocks = checkedForPrefill(cache, new int[] {token});
        if (cpuDecoder != null) {
            return sampler.sample(decodeOnCpu(blocks, token));
        }
        try (NDManager scope = root.newSubManager()) {
            NDArray logits = fused.forward(new int[] {token}, blocks, true, scope);
            double uniform = sampler.greedy() ? 0 : sampler.nextUniform();
            return fused.sample(logits, sampler.temperature(), sampler.topK(), sampler.topP(), uniform);
        }
    }

    /** Export full block i (0-based) in the documented little-endian layout ({@link KvBlockCodec}). */
    public byte[] exportBlock(KvCache cache, int blockIndex) {
        BlockKvCache blocks = own(cache);
        try (NDArray data = blocks.gatherBlock(blockIndex, hostTransfers)) {
            return KvBlockCodec.encode(data, kvLayout);
        }
    }

    /**
     * Export the unfinished last block (its {@code length % blockTokens} tokens) in the same layout, or null when the
     * cache ends on a block boundary: persisted too, a restore then recomputes none of the cached tokens.
     */
    public byte[] exportPartialBlock(KvCache cache) {
        BlockKvCache blocks = own(cache);
        try (NDArray data = blocks.gatherPartialBlock(hostTransfers)) {
            return data == null ? null : KvBlockCodec.encode(data, kvLayout);
        }
    }

    /**
     * Imports one block at the end (cache.length() must be a multiple of blockTokens): a full block, or a partial one
     * ({@link #exportPartialBlock}) as the last; importing f32 bytes into an f16 cache converts.
     */
    public void importBlock(KvCache cache, byte[] block) {
        BlockKvCache blocks = own(cache);
        requireBlockBoundary(blocks);
        KvBlockCodec.checkHeader(block, kvLayout);
        try (NDArray data = KvBlockCodec.decode(block, kvLayout, hostTransfers)) {
            blocks.appendBlock(data);
        }
    }

    /**
     * Imports one block from a buffer's remaining bytes (the context store hands over each verified block in a
     * direct buffer) without a host copy: the arena's scatter reads the buffer itself (on a GPU after one
     * host-to-device copy). Same layout and checks as the byte[] form; the buffer is not kept.
     */
    public void importBlock(KvCache cache, ByteBuffer block) {
        BlockKvCache blocks = own(cache);
        requireBlockBoundary(blocks);
        try (NDArray data = KvBlockCodec.view(block, kvLayout, hostTransfers)) {
            blocks.appendBlock(data);
        }
    }

    private void requireBlockBoundary(BlockKvCache blocks) {
        if (blocks.length() % kvLayout.blockTokens() != 0) {
            throw new IllegalStateException("Import needs a cache length that is a multiple of "
                    + kvLayout.blockTokens() + ", not " + blocks.length());
        }
    }

    public long kvBytesPerToken() {
        return kvLayout.bytesPerToken();
    }

    /** Bytes of the weights on the device. */
    public long weightBytes() {
        return weights.parameterBytes;
    }

    /**
     * Native arrays and managers alive under this runtime (weights, KV arena slabs, transfer buffers): a leak shows
     * as growth between calls.
     */
    public int liveArrayCount() {
        return NativeResources.count(root) + (hostKvRoot == null ? 0 : NativeResources.count(hostKvRoot))
                + (hostTransfers.getParentManager() == root ? 0 : NativeResources.count(hostTransfers));
    }

    /**
     * Where KV may live and how much of it is there now, per shard in fill order (one entry when KV is on one device;
     * the host tier last). {@code capacityBytes} is {@link Long#MAX_VALUE} for a shard without a limit.
     */
    public java.util.List<KvShardUsage> kvShards() {
        long blockBytes = kvLayout.bytesPerToken() * kvLayout.blockTokens();
        long[] used = arena.blocksInUsePerShard();
        java.util.List<KvArena.Shard> shards = arena.shards();
        java.util.List<KvShardUsage> out = new java.util.ArrayList<>();
        for (int i = 0; i < shards.size(); i++) {
            KvArena.Shard shard = shards.get(i);
            long capacity = shard.capacityBlocks() == Long.MAX_VALUE ? Long.MAX_VALUE : shard.capacityBlocks() * blockBytes;
            out.add(new KvShardUsage(shard.name(), shard.host(), capacity, used[i] * blockBytes));
        }
        return out;
    }

    /** One KV shard: its name (a DJL device, {@code host}), whether it is the host tier, its limit and what it holds. */
    public record KvShardUsage(String name, boolean host, long capacityBytes, long usedBytes) {
    }

    /** Tokens of {@code cache} per shard of {@link #kvShards()}, in the same order. */
    public long[] kvTokensPerShard(KvCache cache) {
        return own(cache).tokensPerShard();
    }

    /** KV blocks held by at least one cache (a cache never closed shows here). */
    public int kvBlocksInUse() {
        return arena.blocksInUse();
    }

    /** Gives cached-but-free CUDA memory back after large frees (no-op on CPU). */
    public void releaseCachedDeviceMemory() {
        if (device.device().isGpu()) {
            JniUtils.emptyCudaCache();
        }
    }

    private BlockKvCache own(KvCache cache) {
        if (!(cache instanceof BlockKvCache blocks) || blocks.arena() != arena) {
            throw new IllegalArgumentException("KV cache was not created by this runtime");
        }
        if (blocks.isClosed()) {
            throw new IllegalStateException("KV cache is closed");
        }
        return blocks;
    }

    private static String fingerprint(Path modelRoot, SafetensorsCheckpoint checkpoint, ComputeDevice device,
            RuntimeOptions options) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(Files.readAllBytes(modelRoot.resolve("config.json")));
            TreeSet<Path> files = new TreeSet<>();
            checkpoint.tensorNames().forEach(name -> files.add(checkpoint.info(name).file()));
            for (Path file : files) {
                sha.update(file.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    sha.update(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, ch.size()));
                    ByteBuffer length = readFully(ch, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
                    // the header (already validated by SafetensorsCheckpoint) names every tensor, dtype and offset
                    sha.update(readFully(ch, 8, Math.toIntExact(length.getLong(0))));
                }
                // the weights' content: a retrained checkpoint of the same shapes must not reuse stale KV (cached)
                sha.update(io.ultralong.runtime.model.WeightsDigest.atDefaultCache().of(file).getBytes(StandardCharsets.UTF_8));
            }
            // f32 and f16 as they always were (stored blocks stay valid); newer precisions name compute and storage
            String dtype = options.kvPrecision().equals("auto") ? device.dtypeName()
                    : options.kvPrecision() + "@" + device.dtypeName();
            sha.update(("kv=" + dtype + ";block=" + options.kvBlockTokens() + ";kvformat=" + KvBlockCodec.VERSION)
                    .getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot fingerprint the model in " + modelRoot, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JVM", e);
        }
    }

    private static ByteBuffer readFully(FileChannel ch, long position, int bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(bytes);
        while (buffer.hasRemaining()) {
            if (ch.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("Unexpected end of file");
            }
        }
        return buffer.flip();
    }

    @Override
    public void close() {
        if (cpuDecoder != null) {
            cpuDecoder.close();
        }
        if (fused != null) {
            fused.close();
        }
        arena.close();
        deviceRoots.forEach(NDManager::close);
        hostTransfers.close();
        if (hostKvRoot != null) {
            hostKvRoot.close();
        }
        root.close();
        releaseCachedDeviceMemory();
        tokenizer.close();
    }
}
