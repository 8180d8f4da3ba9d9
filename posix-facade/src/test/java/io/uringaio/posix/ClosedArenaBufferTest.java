package io.uringaio.posix;

import static io.uringaio.posix.Errno.EFAULT;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * A direct buffer whose arena has closed names freed memory: handed to the kernel, a read would write into whatever
 * the allocator put there since. Refused at the call with EFAULT (as a null {@code aio_buf} is), the block's status
 * EFAULT, nothing read or written; the same block with a live buffer, and other blocks, go on as usual.
 */
class ClosedArenaBufferTest extends PosixTestSupport {
    @Test
    void aioReadWriteAndUnistdIntoAClosedArenasBuffer_areEFAULT_andNothingMoves() {
        try (AioContext ctx = new AioContext()) {
            int fd = tempFileWith("f", "12345678");
            Arena arena = Arena.ofShared();
            ByteBuffer dead = arena.allocate(8).asByteBuffer();
            arena.close();

            Aiocb read = aiocb(fd, 0, dead, 8);
            assertEquals(-1, ctx.aio_read(read));
            assertEquals(EFAULT, ctx.errno());
            assertEquals(EFAULT, ctx.aio_error(read));
            assertEquals(-1, ctx.aio_return(read));
            assertEquals(-1, ctx.aio_read(read), "again, with the same block (its cached address): refused again");
            assertEquals(EFAULT, ctx.errno());
            ctx.aio_return(read);

            Aiocb write = aiocb(fd, 0, dead, 8);
            assertEquals(-1, ctx.aio_write(write));
            assertEquals(EFAULT, ctx.errno());
            assertEquals(-1, ctx.aio_return(write));

            assertEquals(-1, Unistd.pread(fd, dead, 8, 0));
            assertEquals(EFAULT, Aio.errno());
            assertEquals(-1, Unistd.pwrite(fd, dead, 8, 0));
            assertEquals(EFAULT, Aio.errno());

            read.aio_buf = ByteBuffer.allocateDirect(8); // the same block with a live buffer works
            assertEquals(0, ctx.aio_read(read));
            awaitDone(ctx, read);
            assertEquals(8, ctx.aio_return(read));
            assertEquals("12345678", text(read.aio_buf, 8), "the file is as it was: nothing was written");
        }
    }
}
