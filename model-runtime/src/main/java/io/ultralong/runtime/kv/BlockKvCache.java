package io.ultralong.runtime.kv;

import java.util.Arrays;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A sequence's keys and values: a block table (ids of {@link KvArena} blocks, in token order) and a length. Every
 * block but the last is full. A forward pass first {@link #reserve reserves} room for its chunk (allocating blocks,
 * and giving the cache its own copy of a partial last block it shares with a fork: copy-on-write), writes the
 * chunk's keys and values in place, then {@link #commit commits} the length. {@link #fork()} copies the table and
 * retains each block; {@link #truncate} releases whole blocks and leaves the rest in place.
 * Not thread-safe: one sequence, one thread at a time (forks may be used on other threads only if the arena's
 * callers serialise, as the runtime does).
 */
public final class BlockKvCache implements KvCache {

    private final KvArena arena;
    private int[] table;
    private int blockCount;
    private long length;
    private boolean closed;

    public BlockKvCache(KvArena arena) {
        this(arena, new int[8], 0, 0);
    }

    private BlockKvCache(KvArena arena, int[] table, int blockCount, long length) {
        this.arena = arena;
        this.table = table;
        this.blockCount = blockCount;
        this.length = length;
    }

    public KvLayout layout() {
        return arena.layout();
    }

    public KvArena arena() {
        return arena;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public int blockTokens() {
        return arena.layout().blockTokens();
    }

    @Override
    public int fullBlocks() {
        return (int) (length / blockTokens());
    }

    /** The arena ids of the blocks holding tokens, in token order (for tests of sharing). */
    public int[] blockIds() {
        ensureOpen();
        return Arrays.copyOf(table, blocksFor(length));
    }

    /**
     * Makes room for {@code n} tokens at positions length().. and returns where they go: quadruples (slab, first
     * row, first token of the chunk, count), for {@link KvArena#write}. The length is unchanged until
     * {@link #commit}.
     */
    public long[] reserve(int n) {
        ensureOpen();
        releaseFrom(blocksFor(length));   // blocks a failed pass reserved
        int bt = blockTokens();
        int tail = (int) (length % bt);
        if (tail != 0 && arena.referenceCount(table[blockCount - 1]) > 1) {
            // a fork shares the partial last block: never write into it, copy its tokens into a block of our own
            int shared = table[blockCount - 1];
            int own = allocateOnDevice();
            arena.copyRows(shared, own, tail);
            table[blockCount - 1] = own;
            arena.release(shared);
        }
        long end = length + n;
        while (blockCount < blocksFor(end)) {
            if (blockCount == table.length) {
                table = Arrays.copyOf(table, table.length * 2);
            }
            int id = allocateOnDevice();
            table[blockCount++] = id;
        }
        return writes(n);
    }

    /**
     * Where tokens length()..length()+n-1 go (reserved): quadruples (slab, first row, first token of the chunk,
     * count). Slab indices move when another shard's slabs come or go: read them under {@link KvArena#withSlabs}.
     */
    public long[] writes(int n) {
        int bt = blockTokens();
        long end = length + n;
        long[] writes = new long[4 * (blocksFor(end) - (int) (length / bt))];
        int w = 0;
        long position = length;
        while (position < end) {
            int block = (int) (position / bt);
            int offset = (int) (position % bt);
            long count = Math.min(bt - offset, end - position);
            int id = table[block];
            writes[w++] = arena.slabOf(id);
            writes[w++] = arena.rowOf(id) + offset;
            writes[w++] = position - length;
            writes[w++] = count;
            position += count;
        }
        return Arrays.copyOf(writes, w);
    }

    /**
     * A new block on a device shard. When every device shard is full and the arena has a host tier, the oldest block
     * on the devices (the first allocated of those still there: this sequence's oldest, or an idle sequence's) moves
     * to the host first, so the most recent blocks, which decoding appends to, stay on the devices.
     */
    private int allocateOnDevice() {
        int id = arena.allocate();
        if (id < 0 && arena.demoteOldest()) {
            id = arena.allocate();
        }
        if (id < 0) {
            throw new IllegalStateException(arena.capacityMessage());
        }
        return id;
    }

    /** The {@code n} reserved tokens now hold keys and values. */
    public void commit(int n) {
        length += n;
    }

    /**
     * The cached tokens as triples (slab, first row, end row): runs of consecutive blocks of one slab merged, so
     * attention reads them as a few long views.
     */
    public long[] segments() {
        ensureOpen();
        int bt = blockTokens();
        int blocks = blocksFor(length);
        long[] segments = new long[3 * blocks];
        int s = 0;
        for (int b = 0; b < blocks; b++) {
            int id = table[b];
            int slab = arena.slabOf(id);
            long from = arena.rowOf(id);
            long to = from + (b == blocks - 1 ? length - (long) b * bt : bt);
            if (s > 0 && segments[s - 3] == slab && segments[s - 1] == from) {
                segments[s - 1] = to;
            } else {
                segments[s++] = slab;
                segments[s++] = from;
                segments[s++] = to;
            }
        }
        return Arrays.copyOf(segments, s);
    }

    /**
     * The cached tokens grouped by shard for {@code attend_sharded}: {@link #segments()}' triples ordered by shard
     * (token order within one), and per shard with tokens a triple (first segment, end segment, 1 for the host tier
     * else 0). Read under {@link KvArena#withSlabs}.
     */
    public ShardedSegments shardedSegments() {
        long[] all = segments();
        int count = all.length / 3;
        int[] shardOfSegment = new int[count];
        // every segment lies in one slab, so in one shard: find it through the first block of each segment
        int s = 0;
        int blocks = blocksFor(length);
        for (int b = 0; b < blocks && s < count; b++) {
            int id = table[b];
            if (arena.slabOf(id) == all[3 * s] && arena.rowOf(id) == all[3 * s + 1]) {
                shardOfSegment[s++] = arena.shardOf(id);
            }
        }
        int shardCount = arena.shards().size();
        long[] ordered = new long[all.length];
        long[] shards = new long[3 * shardCount];
        int o = 0;
        int t = 0;
        for (int shard = 0; shard < shardCount; shard++) {
            int first = o / 3;
            for (int i = 0; i < count; i++) {
                if (shardOfSegment[i] == shard) {
                    System.arraycopy(all, 3 * i, ordered, o, 3);
                    o += 3;
                }
            }
            if (o / 3 > first) {
                shards[t++] = first;
                shards[t++] = o / 3;
                shards[t++] = arena.shards().get(shard).host() ? 1 : 0;
            }
        }
        return new ShardedSegments(ordered, Arrays.copyOf(shards, t));
    }

    /** See {@link #shardedSegments()}. */
    public record ShardedSegments(long[] segments, long[] shards) {
    }

    /** Tokens of this cache per arena shard, in shard order. */
    public long[] tokensPerShard() {
        ensureOpen();
        long[] tokens = new long[arena.shards().size()];
        int bt = blockTokens();
        int blocks = blocksFor(length);
        for (int b = 0; b < blocks; b++) {
            tokens[arena.shardOf(table[b])] += b == blocks - 1 ? length - (long) b * bt : bt;
        }
        return tokens;
    }

    /** Full block {@code index} as a host array [layers, 2, blockTokens, kvHeads, headDim] (the export order). */
    public NDArray gatherBlock(int index, NDManager host) {
        ensureOpen();
        if (index < 0 || index >= fullBlocks()) {
            throw new IndexOutOfBoundsException("Block " + index + " is not a full block of a cache with "
                    + fullBlocks() + " full blocks");
        }
        return arena.gather(table[index], blockTokens(), host);
    }

    /**
     * The tokens of the unfinished last block as host data [layers, 2, tokens, kvHeads, headDim], or null when the
     * cache ends on a block boundary.
     */
    public NDArray gatherPartialBlock(NDManager host) {
        ensureOpen();
        int tokens = (int) (length % blockTokens());
        return tokens == 0 ? null : arena.gather(table[fullBlocks()], tokens, host);
    }

    /**
     * Appends one block from host data [layers, 2, tokens, kvHeads, headDim] at a block boundary: a whole block, or
     * (last) the first {@code tokens < blockTokens} rows of one. Used by import.
     */
    public void appendBlock(NDArray data) {
        ensureOpen();
        if (length % blockTokens() != 0) {
            throw new IllegalStateException("Cannot append a block at length " + length
                    + ": not a multiple of the block size " + blockTokens());
        }
        int tokens = Math.toIntExact(data.getShape().get(2));
        if (tokens < 1 || tokens > blockTokens()) {
            throw new IllegalArgumentException("A block holds 1.." + blockTokens() + " tokens, not " + tokens);
        }
        long[] writes = reserve(tokens);
        if (writes.length != 4) {
            throw new IllegalStateException("A block spans " + writes.length / 4 + " blocks");
        }
        arena.scatter(table[blockCount - 1], data);
        commit(tokens);
    }

    @Override
    public BlockKvCache fork() {
        ensureOpen();
        int blocks = blocksFor(length);
        for (int b = 0; b < blocks; b++) {
            arena.retain(table[b]);
        }
        return new BlockKvCache(arena, Arrays.copyOf(table, Math.max(8, blocks)), blocks, length);
    }

    @Override
    public void truncate(long newLength) {
        ensureOpen();
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("Cannot truncate a cache of " + length + " tokens to " + newLength);
        }
        releaseFrom(blocksFor(newLength));
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
        releaseFrom(0);
        length = 0;
    }

    /** Releases table[keep..] (also blocks reserved by a forward pass that failed before its commit). */
    private void releaseFrom(int keep) {
        while (blockCount > keep) {
            arena.release(table[--blockCount]);
        }
    }

    private int blocksFor(long tokens) {
        return (int) ((tokens + blockTokens() - 1) / blockTokens());
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("KV cache is closed");
        }
    }
}
