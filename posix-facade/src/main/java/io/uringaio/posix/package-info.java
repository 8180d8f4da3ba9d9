/**
 * A Java mirror of POSIX {@code <aio.h>} ({@code aio_read}, {@code aio_suspend}, {@code lio_listio} ...) on top of
 * the uring-aio engine.
 *
 * <p>The facade itself ({@code Aio}, {@code Aiocb}, {@code SigEvent}, {@code Fcntl}, {@code Unistd}, {@code Errno},
 * {@code Signals}) arrives with issue 4; see {@code spec/posix-facade.md}. Until then this package is empty.
 */
package io.uringaio.posix;
