package io.ultralong.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

class DirectBufferPoolTest {

    @Test
    void aBufferGivenBackIsReusedForItsSizeOnlyAndIdleMemoryStaysUnderTheCap() {
        DirectBufferPool pool = new DirectBufferPool(3 * 1024);
        ByteBuffer first = pool.take(1024);
        assertThat(first.isDirect()).isTrue();
        assertThat(first.capacity()).isEqualTo(1024);
        first.position(100);
        pool.giveBack(first);
        assertThat(pool.idleBytes()).isEqualTo(1024);

        assertThat(pool.take(2048)).isNotSameAs(first);
        ByteBuffer again = pool.take(1024);
        assertThat(again).isSameAs(first);
        assertThat(again.position()).isZero();
        assertThat(again.limit()).isEqualTo(1024);
        assertThat(pool.idleBytes()).isZero();

        pool.giveBack(pool.take(2048));
        pool.giveBack(again);
        pool.giveBack(pool.take(1024));   // a fourth KiB would pass the cap: left to the garbage collector
        assertThat(pool.idleBytes()).isEqualTo(3 * 1024);
    }

    @Test
    void aLentBlockGivesItsBufferBackOnceHoweverOftenItIsClosed() throws Exception {
        DirectBufferPool pool = new DirectBufferPool(1 << 20);
        ByteBuffer buffer = pool.take(64);
        KvBlockBuffer block = new KvBlockBuffer(buffer, () -> pool.giveBack(buffer));
        assertThat(block.payload().isReadOnly()).isTrue();
        block.close();
        block.close();
        assertThat(pool.idleBytes()).isEqualTo(64);
    }
}
