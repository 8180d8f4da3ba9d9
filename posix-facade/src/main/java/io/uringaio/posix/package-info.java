/**
 * A Java mirror of POSIX {@code <aio.h>} on the uring-aio engine: {@link io.uringaio.posix.Aio} ({@code aio_read},
 * {@code aio_write}, {@code aio_fsync}, {@code aio_error}, {@code aio_return}, {@code aio_suspend},
 * {@code aio_cancel}, {@code lio_listio}), its structs ({@link io.uringaio.posix.Aiocb},
 * {@link io.uringaio.posix.SigEvent} ...) and the libc calls a ported C program needs ({@link io.uringaio.posix.Fcntl},
 * {@link io.uringaio.posix.Unistd}, {@link io.uringaio.posix.Errno}, {@link io.uringaio.posix.Signals}).
 *
 * <p>One class per C header, every member {@code public static}, names as in C, so that
 * {@code import static io.uringaio.posix.Aio.*;} (plus {@code Fcntl.*}, {@code Unistd.*}, {@code Errno.*},
 * {@code Signals.*}) lets a C body compile almost unchanged. Functions return -1 and set the calling thread's
 * {@link io.uringaio.posix.Aio#errno()} on failure. The contract is {@code spec/posix-facade.md}.
 */
package io.uringaio.posix;
