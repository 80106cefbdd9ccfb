package io.ultralong.runtime.kv;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
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
import ai.djl.pytorch.jni.JniUtils;
import io.ultralong.runtime.djl.RawViews;
import io.ultralong.runtime.djl.TorchScriptModule;
import io.ultralong.runtime.placement.KvPrecision;

/**
 * The KV memory of every sequence of a runtime: preallocated slabs, each {@code [layers, 2 (K, V), kvHeads,
 * slabTokens, headDim]} on one device, cut into blocks of {@code blockTokens} rows that caches hold by id (their block
 * table). Tokens are written in place; nothing is ever concatenated. Blocks are reference counted so forks share
 * them; a block whose count reaches zero returns to a free list (lowest id first, so a sequence's blocks tend to be
 * consecutive and attention reads them as few long segments), and trailing slabs with no block in use are freed.
 *
 * <p>Head-major: each head's keys (and values) of a run of blocks are one contiguous stream, which is what attention
 * reads. Token-major rows ([tokens, kvHeads, headDim]) made a decode step read every head's 256-byte row pieces at a
 * stride and measured about twice as slow over an 8K cache. Export and import keep the token-major byte order.
 *
 * <p>A slab rather than one tensor per block: a sequence's blocks are views of a few large tensors (one fused
 * attention call per run of consecutive blocks), and growing the arena never copies what it holds.
 *
 * <p>Thread-safe: a forward pass on one thread and a block export (or a cache closed) on another may overlap.
 * Whatever reads the slabs runs under the read lock ({@link #withSlabs}); allocation, release and writes of whole
 * blocks take the write lock, so a slab is never freed, nor the slab list replaced, under a running kernel.
 *
 * <p>Sequence sharding (issue 18): the slabs may live in several {@link Shard shards}, an ordered list of devices
 * (each with a capacity in blocks) and optionally a host-memory tier last. A block id is logical: where its rows
 * live (shard, slot) is looked up per id, so a block can move to the host tier ({@link #demoteOldest}) while every
 * cache that shares it keeps its id. Device shards are filled in order ({@link #allocate} takes the first with room);
 * the host tier only ever receives demoted blocks, the oldest on the devices, so the most recent blocks stay there.
 * The TorchScript kernels see one flat slab list (every shard's slabs, in shard order).
 *
 * <p>Precision ({@link KvLayout#precision}): f32 and f16 slabs are DJL arrays of that dtype. bf16 slabs are held as
 * their raw bytes (uint8, DJL aborts on bfloat16) and the slab list kernels see holds bfloat16 views of them. int8
 * and fp8 slabs hold codes (int8 bytes; fp8 viewed as float8_e4m3fn), with one float32 scale per block, layer, K or
 * V and KV head in a scale slab per slab ({@link #scaleList}); the fused forward pass dequantises what it reads and
 * quantises what it writes, export dequantises and import quantises, so stored blocks stay f32/f16. A block's scales
 * live beside it, in its shard, and move with it.
 */
public final class KvArena implements AutoCloseable {

    /**
     * One place KV blocks live: a device, or host memory ({@code host}: the last tier, holding only demoted blocks).
     *
     * @param name           for logs and metrics (e.g. {@code gpu(1)}, {@code host})
     * @param parent         the manager, and so the device, its slabs live on
     * @param capacityBlocks the most blocks it holds; {@link Long#MAX_VALUE}: no limit
     * @param pinned         allocate its slabs in page-locked host memory (host tier beside a CUDA device only)
     */
    public record Shard(String name, NDManager parent, long capacityBlocks, boolean host, boolean pinned) {

        public Shard {
            if (capacityBlocks < 1) {
                throw new IllegalArgumentException("KV shard " + name + " must hold at least one block");
            }
        }
    }

    /** A shard's slabs and which of its slots are free. */
    private static final class Pool {
        final Shard shard;
        final NDManager manager;
        /** Blocks per slab: the arena's, or fewer when the shard's capacity is smaller (small shards in tests). */
        final int slabBlocks;
        final List<NDArray> slabs = new ArrayList<>();
        /** Quantised arenas: [layers, 2, slab blocks, kvHeads] float32 scales beside each slab; empty otherwise. */
        final List<NDArray> scaleSlabs = new ArrayList<>();
        /** Free slots of the existing slabs; the lowest is taken first. */
        final BitSet freeSlots = new BitSet();
        /** Index of this pool's first slab in the flat slab list. */
        int firstSlab;
        int used;

        Pool(Shard shard, int arenaSlabBlocks) {
            this.shard = shard;
            this.manager = shard.parent().newSubManager();
            this.manager.setName("kv-" + shard.name());
            this.slabBlocks = (int) Math.min(arenaSlabBlocks, shard.capacityBlocks());
        }

        /** Slots the shard may still create (beyond its slabs) plus the free ones of its slabs. */
        boolean hasRoom() {
            return !freeSlots.isEmpty() || (long) slabs.size() * slabBlocks < shard.capacityBlocks();
        }
    }

    /** Tokens per slab: 16384 tokens of an 8B model's fp16 KV are 2 GiB. */
    static final int SLAB_TOKENS = 16_384;

    private final KvLayout layout;
    private final NDManager manager;
    private final TorchScriptModule ops;
    private final int slabBlocks;
    private final List<Pool> pools = new ArrayList<>();
    /** Block ids in use; a new block takes the lowest free id. */
    private final BitSet allocated = new BitSet();
    private int[] references = new int[0];
    /** Per block id: its shard (index into pools) and its slot there (slab = slot / slabBlocks). */
    private int[] poolOf = new int[0];
    private int[] slotOf = new int[0];
    /** Per block id: when it was allocated (a counter), so the oldest block on the devices is the one demoted. */
    private long[] allocatedAt = new long[0];
    private long allocations;
    private int inUse;
    /** The slabs as a TorchScript list, rebuilt only when a slab comes or goes. */
    private IValue slabList;
    /** Quantised arenas: the scale slabs as a TorchScript list (same order as the slabs); null otherwise. */
    private IValue scaleList;
    /**
     * Host-memory float32 arenas on one device: per slab, per layer, that layer's memory as a direct buffer (for
     * the Java decode kernels), rebuilt with the slab list; null otherwise.
     */
    private List<ByteBuffer[]> hostViews;
    /** bf16 and fp8 slabs are seen through views made here. */
    private final RawViews views;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    /** {@code parent}: the manager, and so the device, the slabs live on. */
    public KvArena(KvLayout layout, NDManager parent) {
        this(layout, List.of(new Shard(parent.getDevice().toString(), parent, Long.MAX_VALUE, false, false)));
    }

    /** Sharded: blocks fill the device shards in order; a host shard, if any, must be last. */
    public KvArena(KvLayout layout, List<Shard> shards) {
        if (shards.isEmpty()) {
            throw new IllegalArgumentException("a KV arena needs at least one shard");
        }
        for (int i = 0; i < shards.size(); i++) {
            if (shards.get(i).host() && i != shards.size() - 1) {
                throw new IllegalArgumentException("the host KV tier must be the last shard");
            }
        }
        if (shards.get(0).host()) {
            throw new IllegalArgumentException("a KV arena needs a device shard before the host tier");
        }
        this.layout = layout;
        this.manager = shards.get(0).parent().newSubManager();
        this.manager.setName("kv-arena");
        this.ops = TorchScriptModule.load(KvArena.class, "kv_arena.torchscript", "KvArenaOps", manager);
        this.views = new RawViews(manager);
        this.slabBlocks = Math.max(1, SLAB_TOKENS / layout.blockTokens());
        for (Shard shard : shards) {
            pools.add(new Pool(shard, slabBlocks));
        }
        rebuildSlabList();
    }

    /** The shards in order (the host tier last, if any). */
    public List<Shard> shards() {
        return pools.stream().map(p -> p.shard).toList();
    }

    /** Blocks in use per shard, in shard order. */
    public long[] blocksInUsePerShard() {
        lock.readLock().lock();
        try {
            return pools.stream().mapToLong(p -> p.used).toArray();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The shard holding block {@code id} (index into {@link #shards()}). */
    public int shardOf(int id) {
        lock.readLock().lock();
        try {
            return poolOf[id];
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Whether the arena has more than one shard: attention then runs per shard and merges ({@code attend_sharded}). */
    public boolean sharded() {
        return pools.size() > 1;
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

    /**
     * A free block with a reference count of 1, on the first device shard with room (a new slab when its slabs are
     * full); -1 when every device shard is full (the caller may {@link #demoteOldest} and ask again).
     */
    int allocate() {
        lock.writeLock().lock();
        try {
            for (int p = 0; p < pools.size(); p++) {
                if (!pools.get(p).shard.host() && pools.get(p).hasRoom()) {
                    int id = allocated.nextClearBit(0);
                    place(id, p, takeSlot(p));
                    allocatedAt[id] = allocations++;
                    allocated.set(id);
                    references[id] = 1;
                    inUse++;
                    return id;
                }
            }
            return -1;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Moves block {@code id} (every row, all layers) to the host tier and frees its device slot; its id, and so
     * every cache sharing it, is unchanged.
     *
     * @throws IllegalStateException when there is no host tier, or it is full
     */
    private void demote(int id) {
        lock.writeLock().lock();
        try {
            int hostPool = pools.size() - 1;
            if (!pools.get(hostPool).shard.host() || !pools.get(hostPool).hasRoom()) {
                throw new IllegalStateException(capacityMessage());
            }
            int fromPool = poolOf[id];
            int fromSlot = slotOf[id];
            int toSlot = takeSlot(hostPool);
            copyRowsLocked(fromPool, fromSlot, hostPool, toSlot, layout.blockTokens());
            place(id, hostPool, toSlot);
            releaseSlot(fromPool, fromSlot);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Moves the oldest block on the devices (the earliest allocated of those still there) to the host tier; false
     * when there is no host tier with room, or no block on a device.
     */
    boolean demoteOldest() {
        lock.writeLock().lock();
        try {
            Pool last = pools.get(pools.size() - 1);
            if (!last.shard.host() || !last.hasRoom()) {
                return false;
            }
            int oldest = -1;
            for (int id = allocated.nextSetBit(0); id >= 0; id = allocated.nextSetBit(id + 1)) {
                if (!pools.get(poolOf[id]).shard.host() && (oldest < 0 || allocatedAt[id] < allocatedAt[oldest])) {
                    oldest = id;
                }
            }
            if (oldest < 0) {
                return false;
            }
            demote(oldest);
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Why a block could not be placed: what the shards hold. */
    String capacityMessage() {
        StringBuilder out = new StringBuilder("KV capacity exhausted: every shard is full (");
        for (int p = 0; p < pools.size(); p++) {
            Pool pool = pools.get(p);
            out.append(p == 0 ? "" : ", ").append(pool.shard.name()).append(' ').append(pool.used).append(" of ")
                    .append(pool.shard.capacityBlocks() == Long.MAX_VALUE ? "unlimited" : pool.shard.capacityBlocks())
                    .append(" blocks");
        }
        return out.append(String.format(Locale.ROOT, " of %d tokens)", layout.blockTokens())).toString();
    }

    private void place(int id, int pool, int slot) {
        if (id >= references.length) {
            int size = Math.max(id + 1, references.length * 2);
            references = Arrays.copyOf(references, size);
            poolOf = Arrays.copyOf(poolOf, size);
            slotOf = Arrays.copyOf(slotOf, size);
            allocatedAt = Arrays.copyOf(allocatedAt, size);
        }
        poolOf[id] = pool;
        slotOf[id] = slot;
    }

    /** The pool's lowest free slot, creating a slab when its slabs are full (the caller checked hasRoom). */
    private int takeSlot(int p) {
        Pool pool = pools.get(p);
        if (pool.freeSlots.isEmpty()) {
            int first = pool.slabs.size() * pool.slabBlocks;
            int blocks = (int) Math.min(pool.slabBlocks, pool.shard.capacityBlocks() - first);
            pool.slabs.add(newSlab(pool, blocks));
            if (layout.precision().scaled()) {
                pool.scaleSlabs.add(pool.manager.zeros(new Shape(layout.layers(), 2, blocks, layout.kvHeads()),
                        DataType.FLOAT32));
            }
            rebuildSlabList();
            pool.freeSlots.set(first, first + blocks);
        }
        int slot = pool.freeSlots.nextSetBit(0);
        pool.freeSlots.clear(slot);
        pool.used++;
        return slot;
    }

    /** Head-major [layers, 2, kvHeads, rows, headDim] in the layout's storage type (bf16 as twice as many bytes). */
    private NDArray newSlab(Pool pool, int blocks) {
        long rows = (long) blocks * layout.blockTokens();
        KvPrecision precision = layout.precision();
        long width = precision == KvPrecision.BF16 ? 2L * layout.headDim() : layout.headDim();
        Shape shape = new Shape(layout.layers(), 2, layout.kvHeads(), rows, width);
        DataType storage = switch (precision) {
            case F32, F16 -> layout.dataType();
            case BF16 -> DataType.UINT8;
            case INT8, FP8 -> DataType.INT8;
        };
        if (!pool.shard.pinned()) {
            return pool.manager.create(shape, storage);
        }
        // DJL allocates no page-locked memory; the TorchScript op does (pin_memory=True), so copies to the GPU can be
        // asynchronous: the host tier's pieces stream while the previous piece is attended.
        try (IValue size = IValue.listFrom(shape.getShape());
                IValue dtype = IValue.from(switch (storage) {
                    case FLOAT16 -> 5L;    // torch ScalarType numbers
                    case UINT8 -> 0L;
                    case INT8 -> 1L;
                    default -> 6L;
                });
                IValue slab = ops.call("pinned_slab", size, dtype)) {
            return slab.toTensor((PtNDManager) pool.manager);
        }
    }

    private void releaseSlot(int p, int slot) {
        Pool pool = pools.get(p);
        pool.freeSlots.set(slot);
        pool.used--;
        freeTrailingSlabs(pool);
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
                allocated.clear(id);
                releaseSlot(poolOf[id], slotOf[id]);
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

    /** The block's slab: its index in the flat slab list the kernels see. */
    int slabOf(int id) {
        Pool pool = pools.get(poolOf[id]);
        return pool.firstSlab + slotOf[id] / pool.slabBlocks;
    }

    /** The block's first row within its slab. */
    int rowOf(int id) {
        return (slotOf[id] % pools.get(poolOf[id]).slabBlocks) * layout.blockTokens();
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
     * Whether {@link #withHostSlabs} is offered: one shard, on the CPU, keys and values stored as float32.
     */
    public boolean hostAddressable() {
        return pools.size() == 1 && !pools.get(0).shard.parent().getDevice().isGpu()
                && layout.precision() == KvPrecision.F32;
    }

    /**
     * Runs {@code kernel} with the slabs' memory, per slab (flat slab index) and per layer, as direct buffers over
     * libtorch's own memory: that layer's [2 (K, V), kvHeads, rows, headDim] float32 values, little-endian. Under
     * the read lock like {@link #withSlabs}: the buffers address memory freed with its slab, so they must not be
     * kept or used after the call. Only when {@link #hostAddressable()}.
     */
    public <T> T withHostSlabs(Function<List<ByteBuffer[]>, T> kernel) {
        if (!hostAddressable()) {
            throw new IllegalStateException("KV in " + layout.dtypeName() + " over " + pools.size()
                    + " shard(s) on " + pools.get(0).shard.parent().getDevice() + " is not host-addressable float32");
        }
        lock.readLock().lock();
        try {
            return kernel.apply(hostViews);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Per layer of a contiguous float32 CPU slab: a direct buffer over that layer's part of its memory. */
    private List<ByteBuffer[]> layerBuffers(List<NDArray> slabs) {
        List<ByteBuffer[]> buffers = new ArrayList<>();
        for (NDArray slab : slabs) {
            ByteBuffer[] layers = new ByteBuffer[layout.layers()];
            long layerBytes = slab.getShape().size() / layout.layers() * 4;
            for (int l = 0; l < layers.length; l++) {
                // a view of a contiguous tensor's leading index is contiguous: the buffer addresses the slab itself
                try (NDArray layer = slab.get(l)) {
                    layers[l] = JniUtils.getByteBuffer((PtNDArray) layer, true).order(ByteOrder.LITTLE_ENDIAN);
                }
                if (layers[l].capacity() != layerBytes) {
                    throw new IllegalStateException("KV slab layer of " + layers[l].capacity() + " bytes, expected "
                            + layerBytes);
                }
            }
            buffers.add(layers);
        }
        return List.copyOf(buffers);
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
        List<NDArray> slabs = new ArrayList<>();
        List<NDArray> scales = new ArrayList<>();
        for (Pool pool : pools) {
            pool.firstSlab = slabs.size();
            slabs.addAll(pool.slabs);
            scales.addAll(pool.scaleSlabs);
        }
        NDArray[] all = slabs.toArray(NDArray[]::new);
        slabList = switch (layout.precision()) {
            case BF16 -> views.views(all, RawViews.BFLOAT16);
            case FP8 -> views.views(all, RawViews.FLOAT8_E4M3FN);
            default -> IValue.listFrom(Arrays.stream(all).map(PtNDArray.class::cast).toArray(PtNDArray[]::new));
        };
        hostViews = hostAddressable() ? layerBuffers(slabs) : null;
        if (layout.quantised()) {
            scaleList = IValue.listFrom(scales.stream().map(PtNDArray.class::cast).toArray(PtNDArray[]::new));
        }
    }

    /**
     * Rows [from, to) of one slab for one layer, K (kv = 0) or V (kv = 1): [to - from, kvHeads, headDim], a view
     * the caller closes.
     */
    public NDArray rows(int slab, int layer, int kv, long from, long to) {
        requireNative("the blockwise attention");
        for (Pool pool : pools) {
            if (slab < pool.firstSlab + pool.slabs.size()) {
                try (NDArray headMajor = pool.slabs.get(slab - pool.firstSlab)
                        .get(new NDIndex("{},{},:,{}:{}", layer, kv, from, to))) {
                    return headMajor.transpose(1, 0, 2);
                }
            }
        }
        throw new IndexOutOfBoundsException("No KV slab " + slab);
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
        lock.writeLock().lock();
        try {
            copyRowsLocked(poolOf[fromId], slotOf[fromId], poolOf[toId], slotOf[toId], count);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Rows of every layer from one (shard, slot) to another, devices apart or not (copy_ crosses devices). */
    private void copyRowsLocked(int fromPool, int fromSlot, int toPool, int toSlot, int count) {
        Pool from = pools.get(fromPool);
        Pool to = pools.get(toPool);
        try (IValue fromSlab = IValue.from(from.firstSlab + fromSlot / from.slabBlocks);
                IValue fromRow = IValue.from((fromSlot % from.slabBlocks) * layout.blockTokens());
                IValue toSlab = IValue.from(to.firstSlab + toSlot / to.slabBlocks);
                IValue toRow = IValue.from((toSlot % to.slabBlocks) * layout.blockTokens());
                IValue n = IValue.from(count)) {
            withSlabs(slabs -> run("copy_rows", slabs, fromSlab, fromRow, toSlab, toRow, n));
        }
        if (layout.quantised()) {
            // the block's scales go with its rows
            try (IValue fromSlab = IValue.from(from.firstSlab + fromSlot / from.slabBlocks);
                    IValue fromBlock = IValue.from(fromSlot % from.slabBlocks);
                    IValue toSlab = IValue.from(to.firstSlab + toSlot / to.slabBlocks);
                    IValue toBlock = IValue.from(toSlot % to.slabBlocks)) {
                withSlabs(slabs -> run("copy_scales", scaleList, fromSlab, fromBlock, toSlab, toBlock));
            }
        }
    }

    /** Block {@code id}'s first {@code count} tokens as a host array [layers, 2, count, kvHeads, headDim]. */
    NDArray gather(int id, int count, NDManager host) {
        // where the block lives is read under the lock: a slab of another shard coming or going, or a demotion,
        // moves it in the flat list
        boolean asStored = plainDtype();
        try (IValue dtype = IValue.from(layout.exportType() == DataType.FLOAT16 ? RawViews.FLOAT16 : RawViews.FLOAT32)) {
            return withSlabs(slabs -> {
                try (IValue slab = IValue.from(slabOf(id)); IValue row = IValue.from(rowOf(id));
                        IValue n = IValue.from(count);
                        // bf16 widens exactly, quantised blocks are dequantised (bf16 passes no scales: None)
                        IValue result = asStored ? ops.call("gather", slabs, slab, row, n)
                                : layout.quantised() ? ops.call("export_rows", slabs, slab, row, n, dtype, scaleList)
                                : ops.call("export_rows", slabs, slab, row, n, dtype)) {
                    return result.toTensor((PtNDManager) host);
                }
            });
        }
    }

    /** Writes host data [layers, 2, tokens, kvHeads, headDim] (any float dtype) into block {@code id}. */
    void scatter(int id, NDArray data) {
        try (IValue d = IValue.from((PtNDArray) data); IValue fp8 = IValue.from(layout.precision() == KvPrecision.FP8)) {
            withSlabs(slabs -> {
                try (IValue slab = IValue.from(slabOf(id)); IValue row = IValue.from(rowOf(id))) {
                    // copy_ rounds to the slab's dtype; a quantised block gets its scales from its own largest values
                    return layout.quantised() ? run("import_rows", slabs, scaleList, slab, row, d, fp8)
                            : run("scatter", slabs, slab, row, d);
                }
            });
        }
    }

    /** f32 or f16 KV: slabs DJL can hold and read as they are (not bf16 bytes, not quantised codes). */
    private boolean plainDtype() {
        return layout.precision() == KvPrecision.F32 || layout.precision() == KvPrecision.F16;
    }

    private void requireNative(String what) {
        if (!plainDtype()) {
            throw new IllegalStateException(what + " reads f32/f16 KV only, not " + layout.dtypeName()
                    + ": use the fused attention");
        }
    }

    private long run(String method, IValue... arguments) {
        try (IValue done = ops.call(method, arguments)) {
            return done.toLong();
        }
    }

    private void freeTrailingSlabs(Pool pool) {
        while (!pool.slabs.isEmpty()) {
            int last = pool.slabs.size() - 1;
            int first = last * pool.slabBlocks;
            int end = first + (int) pool.slabs.get(last).getShape().get(3) / layout.blockTokens();
            if (pool.freeSlots.nextClearBit(first) < end) {
                return;   // a block of the last slab is still in use
            }
            pool.freeSlots.clear(first, end);
            pool.slabs.remove(last).close();
            if (!pool.scaleSlabs.isEmpty()) {
                pool.scaleSlabs.remove(last).close();
            }
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
        for (Pool pool : pools) {
            pool.manager.close();
        }
        manager.close();
    }
}
