package io.ultralong.runtime.kv;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;

/**
 * A sequence's keys and values as a list of {@link KvBlock}s: every block but the last holds exactly blockTokens
 * tokens. Blocks are immutable and reference counted, so {@link #fork()} only retains them, and an append to a
 * shared partial last block builds a new block (copy-on-write) that only the appending cache sees.
 * Not thread-safe: one sequence, one thread at a time (forks may be used on other threads).
 */
public final class BlockKvCache implements KvCache {

    private final KvLayout layout;
    private final NDManager blockParent;
    private final List<KvBlock> blocks;
    private long length;
    private boolean closed;

    /** {@code blockParent}: the manager (and so the device) new blocks' managers hang under. */
    public BlockKvCache(KvLayout layout, NDManager blockParent) {
        this(layout, blockParent, new ArrayList<>(), 0);
    }

    private BlockKvCache(KvLayout layout, NDManager blockParent, List<KvBlock> blocks, long length) {
        this.layout = layout;
        this.blockParent = blockParent;
        this.blocks = blocks;
        this.length = length;
    }

    public KvLayout layout() {
        return layout;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public int blockTokens() {
        return layout.blockTokens();
    }

    @Override
    public int fullBlocks() {
        return (int) (length / layout.blockTokens());
    }

    /** The blocks in token order (the last may be partial); owned by the cache. */
    public List<KvBlock> blocks() {
        ensureOpen();
        return Collections.unmodifiableList(blocks);
    }

    /**
     * Appends n tokens: {@code keys[layer]} and {@code values[layer]} are [n, kvHeads, headDim]. The cache copies
     * what it keeps; the caller still owns (and closes) the arguments.
     */
    public void append(NDArray[] keys, NDArray[] values) {
        ensureOpen();
        if (keys.length != layout.layers() || values.length != layout.layers()) {
            throw new IllegalArgumentException("Expected " + layout.layers() + " layers, got " + keys.length);
        }
        long n = keys[0].getShape().get(0);
        long offset = 0;
        while (offset < n) {
            KvBlock last = blocks.isEmpty() ? null : blocks.get(blocks.size() - 1);
            boolean extendLast = last != null && last.tokens() < layout.blockTokens();
            long room = extendLast ? layout.blockTokens() - last.tokens() : layout.blockTokens();
            long take = Math.min(room, n - offset);
            NDArray[] newKeys = new NDArray[layout.layers()];
            NDArray[] newValues = new NDArray[layout.layers()];
            for (int layer = 0; layer < layout.layers(); layer++) {
                newKeys[layer] = ownedRows(keys[layer], offset, offset + take, extendLast ? last.keys(layer) : null);
                newValues[layer] = ownedRows(values[layer], offset, offset + take, extendLast ? last.values(layer) : null);
            }
            KvBlock block = KvBlock.adopt(blockParent, newKeys, newValues);
            if (extendLast) {
                // never written in place: a fork may share `last`; it keeps seeing its own tokens
                blocks.set(blocks.size() - 1, block);
                last.release();
            } else {
                blocks.add(block);
            }
            offset += take;
        }
        length += n;
    }

    /**
     * Rows [from,to) of source in fresh storage on the blocks' device (host memory when the KV lives off the
     * GPU), after {@code prefix} when one is given.
     */
    private NDArray ownedRows(NDArray source, long from, long to, NDArray prefix) {
        Device blockDevice = blockParent.getDevice();
        try (NDArray rows = source.get(new NDIndex("{}:{}", from, to))) {
            // duplicate, toDevice and concat all allocate: the block never pins the (larger) storage it was sliced from
            if (prefix == null) {
                return rows.getDevice().equals(blockDevice) ? rows.duplicate() : rows.toDevice(blockDevice, true);
            }
            if (rows.getDevice().equals(blockDevice)) {
                return prefix.concat(rows, 0);
            }
            try (NDArray moved = rows.toDevice(blockDevice, true)) {
                return prefix.concat(moved, 0);
            }
        }
    }

    /** Appends one whole block (length must be a multiple of blockTokens): used by import. */
    public void appendFullBlock(KvBlock block) {
        ensureOpen();
        if (length % layout.blockTokens() != 0) {
            throw new IllegalStateException("Cannot append a whole block at length " + length
                    + ": not a multiple of the block size " + layout.blockTokens());
        }
        if (block.tokens() != layout.blockTokens() || block.layers() != layout.layers()) {
            throw new IllegalArgumentException("Block of " + block.tokens() + " tokens x " + block.layers()
                    + " layers does not fit blocks of " + layout.blockTokens() + " tokens x " + layout.layers());
        }
        blocks.add(block);
        length += block.tokens();
    }

    /** A KvBlock adopted from arrays (already in this cache's dtype and device). */
    public KvBlock adoptBlock(NDArray[] keys, NDArray[] values) {
        return KvBlock.adopt(blockParent, keys, values);
    }

    @Override
    public BlockKvCache fork() {
        ensureOpen();
        List<KvBlock> shared = new ArrayList<>(blocks.size());
        for (KvBlock block : blocks) {
            shared.add(block.retain());
        }
        return new BlockKvCache(layout, blockParent, shared, length);
    }

    @Override
    public void truncate(long newLength) {
        ensureOpen();
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("Cannot truncate a cache of " + length + " tokens to " + newLength);
        }
        int keepBlocks = (int) ((newLength + layout.blockTokens() - 1) / layout.blockTokens());
        while (blocks.size() > keepBlocks) {
            blocks.remove(blocks.size() - 1).release();
        }
        int tail = (int) (newLength % layout.blockTokens());
        if (tail != 0 && blocks.get(blocks.size() - 1).tokens() > tail) {
            KvBlock last = blocks.get(blocks.size() - 1);
            NDArray[] keys = new NDArray[layout.layers()];
            NDArray[] values = new NDArray[layout.layers()];
            for (int layer = 0; layer < layout.layers(); layer++) {
                keys[layer] = ownedRows(last.keys(layer), 0, tail, null);
                values[layer] = ownedRows(last.values(layer), 0, tail, null);
            }
            blocks.set(blocks.size() - 1, KvBlock.adopt(blockParent, keys, values));
            last.release();
        }
        length = newLength;
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (KvBlock block : blocks) {
            block.release();
        }
        blocks.clear();
        length = 0;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("KV cache is closed");
        }
    }
}
