package io.uringaio.posix;

/**
 * {@code siginfo_t}, as much of it as AIO uses: the signal, {@code si_code} ({@link Signals#SI_ASYNCIO} for AIO) and
 * the request's {@code sigev_value}.
 */
public record SigInfo(int si_signo, int si_code, Object si_value) {
}
