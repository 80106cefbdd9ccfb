package io.ultralong.runtime.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import io.ultralong.runtime.djl.RawViews;
import io.ultralong.runtime.djl.TorchScriptModule;
import io.ultralong.runtime.placement.KvPrecision;

/**
 * The KV memory of every sequence of a runtime: preallocated slabs, each {@code [layers, 2 (K, V), slabTokens,
 * kvHeads, headDim]} on one device, cut into blocks of {@code blockTokens} rows that caches hold by id (their block
 * table). Tokens are written in place; nothing is ever concatenated. Blocks are reference counted so forks share
 * them; a block whose count reaches zero returns to a free list (lowest id first, so a sequence's blocks tend to be
 * consecutive and attention reads them as few long segments), and trailing slabs with no block in use are freed.
 *
 * <p>A slab rather than one tensor per block: a sequence's blocks are views of a few large tensors (one fused
 * attention call per run of consecutive blocks), and growing the arena never copies what it holds.
 *
 * <p>Thread-safe: a forward pass on one thread and a block export (or a cache closed) on another may overlap.
 * Whatever reads the slabs runs under the read lock ({@link #withSlabs}); allocation, release and writes of whole
 * blocks take the write lock, so a slab is never freed, nor the slab list replaced, under a running kernel.
 *
 * <p>Precision ({@link KvLayout#precision}): f32 and f16 slabs are DJL arrays of that dtype. bf16 slabs are held as
 * their raw bytes (uint8, DJL aborts on bfloat16) and the slab list kernels see holds bfloat16 views of them. int8
 * and fp8 slabs hold codes (int8 bytes; fp8 viewed as float8_e4m3fn), with one float32 scale per block, layer, K or
 * V and KV head in a scale slab per slab ({@link #scaleList}); the fused forward pass dequantises what it reads and
 * quantises what it writes, export dequantises and import quantises, so stored blocks stay f32/f16.
 */
public final class KvArena implements AutoCloseable {

    /** Tokens per slab: 16384 tokens of an 8B model's fp16 KV are 2 GiB. */
    static final int SLAB_TOKENS = 16_384;

    private final KvLayout layout;
    private final NDManager manager;
    private final TorchScriptModule ops;
    private final int slabBlocks;
    private final List<NDArray> slabs = new ArrayList<>();
    /** Quantised arenas: [layers, 2, slabBlocks, kvHeads] float32 scales beside each slab; empty otherwise. */
    private final List<NDArray> scaleSlabs = new ArrayList<>();
    /** bf16 and fp8 slabs are seen through views made here. */
    private final RawViews views;
    /** Free block ids; the lowest is taken first. */
    private final BitSet free = new BitSet();
    private int[] references = new int[0];
    private int inUse;
    /** The slabs as a TorchScript list, rebuilt only when a slab comes or goes. */
    private IValue slabList;
    /** The scale slabs as a TorchScript list (quantised arenas only; null otherwise). */
    private IValue scaleList;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    /** {@code parent}: the manager, and so the device, the slabs live on. */
    public KvArena(KvLayout layout, NDManager parent) {
        this.layout = layout;
        this.manager = parent.newSubManager();
        this.manager.setName("kv-arena");
        this.ops = TorchScriptModule.load(KvArena.class, "kv_arena.torchscript", "KvArenaOps", manager);
        this.views = new RawViews(manager);
        this.slabBlocks = Math.max(1, SLAB_TOKENS / layout.blockTokens());
        rebuildSlabList();
    }

    public KvLayout layout() {
        return layout;
    }

    /** Blocks held by at least one cache. */
    public int blocksInUse() {
        lock.readLock().lock();
        try {
            return inUse;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** A free block with a reference count of 1 (a new slab when none is free). */
    int allocate() {
        lock.writeLock().lock();
        try {
            return allocateLocked();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private int allocateLocked() {
        if (free.isEmpty()) {
            int first = slabs.size() * slabBlocks;
            long rows = (long) slabBlocks * layout.blockTokens();
            KvPrecision precision = layout.precision();
            NDArray slab = switch (precision) {
                case F32, F16 -> manager.create(new Shape(layout.layers(), 2, rows, layout.kvHeads(), layout.headDim()),
                        layout.dataType());
                case BF16 -> manager.create(new Shape(layout.layers(), 2, rows, layout.kvHeads(), 2L * layout.headDim()),
                        DataType.UINT8);
                case INT8, FP8 -> manager.create(new Shape(layout.layers(), 2, rows, layout.kvHeads(), layout.headDim()),
                        DataType.INT8);
            };
            slabs.add(slab);
            if (precision.scaled()) {
                scaleSlabs.add(manager.zeros(new Shape(layout.layers(), 2, slabBlocks, layout.kvHeads()), DataType.FLOAT32));
            }
            rebuildSlabList();
            references = Arrays.copyOf(references, slabs.size() * slabBlocks);
            free.set(first, first + slabBlocks);
        }
        int id = free.nextSetBit(0);
        free.clear(id);
        references[id] = 1;
        inUse++;
        return id;
    }

    void retain(int id) {
        lock.writeLock().lock();
        try {
            if (references[id] <= 0) {
                throw new IllegalStateException("KV block " + id + " is not allocated");
            }
            references[id]++;
        } finally {
            lock.writeLock().unlock();
        }
    }

    void release(int id) {
        lock.writeLock().lock();
        try {
            if (references[id] <= 0) {
                throw new IllegalStateException("KV block " + id + " released more often than retained");
            }
            if (--references[id] == 0) {
                inUse--;
                free.set(id);
                freeTrailingSlabs();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** How many caches hold block {@code id}. */
    public int referenceCount(int id) {
        lock.readLock().lock();
        try {
            return id < references.length ? references[id] : 0;
        } finally {
            lock.readLock().unlock();
        }
    }

    int slabOf(int id) {
        return id / slabBlocks;
    }

    /** The block's first row within its slab. */
    int rowOf(int id) {
        return (id % slabBlocks) * layout.blockTokens();
    }

    /**
     * Runs {@code kernel} with the slabs as a TorchScript list (owned by the arena: do not close or keep it), under
     * the read lock: no slab goes away meanwhile. The kernel must not allocate or release blocks.
     */
    public <T> T withSlabs(Function<IValue, T> kernel) {
        lock.readLock().lock();
        try {
            return kernel.apply(slabList);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The scales of a quantised arena ([layers, 2, blocks, kvHeads] float32 per slab, block = row / blockTokens) as a
     * TorchScript list, or null when KV is not quantised. Like the slab list: use it inside {@link #withSlabs} only.
     */
    public IValue scaleList() {
        return scaleList;
    }

    /** Builds the list under the write lock, whenever the slabs change: readers only ever see a complete one. */
    private void rebuildSlabList() {
        if (slabList != null) {
            slabList.close();
        }
        if (scaleList != null) {
            scaleList.close();
            scaleList = null;
        }
        NDArray[] all = slabs.toArray(NDArray[]::new);
        slabList = switch (layout.precision()) {
            case BF16 -> views.views(all, RawViews.BFLOAT16);
            case FP8 -> views.views(all, RawViews.FLOAT8_E4M3FN);
            default -> IValue.listFrom(java.util.Arrays.stream(all).map(PtNDArray.class::cast).toArray(PtNDArray[]::new));
        };
        if (layout.quantised()) {
            scaleList = IValue.listFrom(scaleSlabs.stream().map(PtNDArray.class::cast).toArray(PtNDArray[]::new));
        }
    }

    /**
     * Rows [from, to) of one slab for one layer, K (kv = 0) or V (kv = 1): [to - from, kvHeads, headDim], a view
     * the caller closes.
     */
    public NDArray rows(int slab, int layer, int kv, long from, long to) {
        requireNative("the blockwise attention");
        return slabs.get(slab).get(new NDIndex("{},{},{}:{}", layer, kv, from, to));
    }

    /** Writes a chunk's keys and values ([n, kvHeads, headDim]) of one layer where {@link BlockKvCache#reserve} said. */
    public void write(int layer, NDArray keys, NDArray values, long[] writes) {
        requireNative("the blockwise attention");
        try (IValue l = IValue.from(layer); IValue k = IValue.from((PtNDArray) keys);
                IValue v = IValue.from((PtNDArray) values); IValue w = IValue.listFrom(writes)) {
            withSlabs(slabs -> run("write", slabs, l, k, v, w));
        }
    }

    void copyRows(int fromId, int toId, int count) {
        try (IValue fromSlab = IValue.from(slabOf(fromId)); IValue fromRow = IValue.from(rowOf(fromId));
                IValue toSlab = IValue.from(slabOf(toId)); IValue toRow = IValue.from(rowOf(toId));
                IValue n = IValue.from(count)) {
            withSlabs(slabs -> run("copy_rows", slabs, fromSlab, fromRow, toSlab, toRow, n));
        }
        if (layout.quantised()) {
            try (IValue fromSlab = IValue.from(slabOf(fromId)); IValue fromBlock = IValue.from(fromId % slabBlocks);
                    IValue toSlab = IValue.from(slabOf(toId)); IValue toBlock = IValue.from(toId % slabBlocks)) {
                withSlabs(slabs -> run("copy_scales", scaleList, fromSlab, fromBlock, toSlab, toBlock));
            }
        }
    }

    /**
     * Block {@code id}'s first {@code count} tokens as a host array [layers, 2, count, kvHeads, headDim] in the
     * layout's export dtype (bf16 widened, int8/fp8 dequantised).
     */
    NDArray gather(int id, int count, NDManager host) {
        try (IValue slab = IValue.from(slabOf(id)); IValue row = IValue.from(rowOf(id)); IValue n = IValue.from(count)) {
            if (layout.precision() == KvPrecision.F32 || layout.precision() == KvPrecision.F16) {
                return withSlabs(slabs -> {
                    try (IValue result = ops.call("gather", slabs, slab, row, n)) {
                        return result.toTensor((PtNDManager) host);
                    }
                });
            }
            try (IValue dtype = IValue.from(layout.exportType() == DataType.FLOAT16 ? RawViews.FLOAT16 : RawViews.FLOAT32)) {
                return withSlabs(slabs -> {
                    // bf16 passes no scales: an argument left out takes its default (None)
                    try (IValue result = layout.quantised()
                            ? ops.call("export_rows", slabs, slab, row, n, dtype, scaleList)
                            : ops.call("export_rows", slabs, slab, row, n, dtype)) {
                        return result.toTensor((PtNDManager) host);
                    }
                });
            }
        }
    }

    /** Writes host data [layers, 2, tokens, kvHeads, headDim] (any float dtype) into block {@code id}. */
    void scatter(int id, NDArray data) {
        try (IValue slab = IValue.from(slabOf(id)); IValue row = IValue.from(rowOf(id));
                IValue d = IValue.from((PtNDArray) data)) {
            if (layout.quantised()) {
                try (IValue fp8 = IValue.from(layout.precision() == KvPrecision.FP8)) {
                    withSlabs(slabs -> run("import_rows", slabs, scaleList, slab, row, d, fp8));
                }
            } else {
                withSlabs(slabs -> run("scatter", slabs, slab, row, d));   // copy_ rounds to the slab's dtype
            }
        }
    }

    private void requireNative(String what) {
        if (layout.precision() != KvPrecision.F32 && layout.precision() != KvPrecision.F16) {
            throw new IllegalStateException(what + " reads f32/f16 KV only, not " + layout.dtypeName()
                    + ": use the fused attention");
        }
    }

    private long run(String method, IValue... arguments) {
        try (IValue done = ops.call(method, arguments)) {
            return done.toLong();
        }
    }

    private void freeTrailingSlabs() {
        while (!slabs.isEmpty()) {
            int last = slabs.size() - 1;
            int first = last * slabBlocks;
            if (free.nextClearBit(first) < first + slabBlocks) {
                return;   // a block of the last slab is still in use
            }
            free.clear(first, first + slabBlocks);
            slabs.remove(last).close();
            if (!scaleSlabs.isEmpty()) {
                scaleSlabs.remove(last).close();
            }
            references = Arrays.copyOf(references, last * slabBlocks);
            rebuildSlabList();
        }
    }

    @Override
    public void close() {
        if (slabList != null) {
            slabList.close();
        }
        if (scaleList != null) {
            scaleList.close();
        }
        views.close();
        ops.close();
        manager.close();
    }
}
