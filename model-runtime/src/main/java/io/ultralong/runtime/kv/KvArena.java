package io.ultralong.runtime.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import io.ultralong.runtime.djl.TorchScriptModule;

/**
 * The KV memory of every sequence of a runtime: preallocated slabs, each {@code [layers, 2 (K, V), slabTokens,
 * kvHeads, headDim]} on one device, cut into blocks of {@code blockTokens} rows that caches hold by id (their block
 * table). Tokens are written in place; nothing is ever concatenated. Blocks are reference counted so forks share
 * them; a block whose count reaches zero returns to a free list (lowest id first, so a sequence's blocks tend to be
 * consecutive and attention reads them as few long segments), and trailing slabs with no block in use are freed.
 *
 * <p>A slab rather than one tensor per block: a sequence's blocks are views of a few large tensors (one fused
 * attention call per run of consecutive blocks), and growing the arena never copies what it holds. Not
 * thread-safe: the runtime's callers serialise forward passes; reference counts are only touched under the same
 * discipline.
 */
public final class KvArena implements AutoCloseable {

    /** Tokens per slab: 16384 tokens of an 8B model's fp16 KV are 2 GiB. */
    static final int SLAB_TOKENS = 16_384;

    private final KvLayout layout;
    private final NDManager manager;
    private final TorchScriptModule ops;
    private final int slabBlocks;
    private final List<NDArray> slabs = new ArrayList<>();
    /** Free block ids; the lowest is taken first. */
    private final BitSet free = new BitSet();
    private int[] references = new int[0];
    private int inUse;
    /** The slabs as a TorchScript list, rebuilt only when a slab comes or goes. */
    private IValue slabList;

    /** {@code parent}: the manager, and so the device, the slabs live on. */
    public KvArena(KvLayout layout, NDManager parent) {
        this.layout = layout;
        this.manager = parent.newSubManager();
        this.manager.setName("kv-arena");
        this.ops = TorchScriptModule.load(KvArena.class, "kv_arena.torchscript", "KvArenaOps", manager);
        this.slabBlocks = Math.max(1, SLAB_TOKENS / layout.blockTokens());
    }

    public KvLayout layout() {
        return layout;
    }

    /** Blocks held by at least one cache. */
    public int blocksInUse() {
        return inUse;
    }

    public int slabCount() {
        return slabs.size();
    }

    /** A free block with a reference count of 1 (a new slab when none is free). */
    int allocate() {
        if (free.isEmpty()) {
            int first = slabs.size() * slabBlocks;
            NDArray slab = manager.create(new Shape(layout.layers(), 2, (long) slabBlocks * layout.blockTokens(),
                    layout.kvHeads(), layout.headDim()), layout.dataType());
            slabs.add(slab);
            invalidateSlabList();
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
        if (references[id] <= 0) {
            throw new IllegalStateException("KV block " + id + " is not allocated");
        }
        references[id]++;
    }

    void release(int id) {
        if (references[id] <= 0) {
            throw new IllegalStateException("KV block " + id + " released more often than retained");
        }
        if (--references[id] == 0) {
            inUse--;
            free.set(id);
            freeTrailingSlabs();
        }
    }

    /** How many caches hold block {@code id} (for tests of sharing). */
    public int referenceCount(int id) {
        return id < references.length ? references[id] : 0;
    }

    int slabOf(int id) {
        return id / slabBlocks;
    }

    /** The block's first row within its slab. */
    int rowOf(int id) {
        return (id % slabBlocks) * layout.blockTokens();
    }

    /** The slabs as a TorchScript list (owned by the arena: do not close); valid until the next allocate or release. */
    public IValue slabList() {
        if (slabList == null) {
            slabList = IValue.listFrom(slabs.stream().map(PtNDArray.class::cast).toArray(PtNDArray[]::new));
        }
        return slabList;
    }

    /**
     * Rows [from, to) of one slab for one layer, K (kv = 0) or V (kv = 1): [to - from, kvHeads, headDim], a view
     * the caller closes.
     */
    public NDArray rows(int slab, int layer, int kv, long from, long to) {
        return slabs.get(slab).get(new NDIndex("{},{},{}:{}", layer, kv, from, to));
    }

    /** Writes a chunk's keys and values ([n, kvHeads, headDim]) of one layer where {@link BlockKvCache#reserve} said. */
    public void write(int layer, NDArray keys, NDArray values, long[] writes) {
        try (IValue l = IValue.from(layer); IValue k = IValue.from((PtNDArray) keys);
                IValue v = IValue.from((PtNDArray) values); IValue w = IValue.listFrom(writes);
                IValue done = ops.call("write", slabList(), l, k, v, w)) {
            done.toLong();
        }
    }

    void copyRows(int fromId, int toId, int count) {
        try (IValue fromSlab = IValue.from(slabOf(fromId)); IValue fromRow = IValue.from(rowOf(fromId));
                IValue toSlab = IValue.from(slabOf(toId)); IValue toRow = IValue.from(rowOf(toId));
                IValue n = IValue.from(count);
                IValue done = ops.call("copy_rows", slabList(), fromSlab, fromRow, toSlab, toRow, n)) {
            done.toLong();
        }
    }

    /** Block {@code id}'s first {@code count} tokens as a host array [layers, 2, count, kvHeads, headDim]. */
    NDArray gather(int id, int count, NDManager host) {
        try (IValue slab = IValue.from(slabOf(id)); IValue row = IValue.from(rowOf(id)); IValue n = IValue.from(count);
                IValue result = ops.call("gather", slabList(), slab, row, n)) {
            return result.toTensor((PtNDManager) host);
        }
    }

    /** Writes host data [layers, 2, tokens, kvHeads, headDim] (any float dtype) into block {@code id}. */
    void scatter(int id, NDArray data) {
        try (IValue slab = IValue.from(slabOf(id)); IValue row = IValue.from(rowOf(id));
                IValue d = IValue.from((PtNDArray) data); IValue done = ops.call("scatter", slabList(), slab, row, d)) {
            done.toLong();
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
            references = Arrays.copyOf(references, last * slabBlocks);
            invalidateSlabList();
        }
    }

    private void invalidateSlabList() {
        if (slabList != null) {
            slabList.close();
            slabList = null;
        }
    }

    @Override
    public void close() {
        invalidateSlabList();
        ops.close();
        manager.close();
    }
}
