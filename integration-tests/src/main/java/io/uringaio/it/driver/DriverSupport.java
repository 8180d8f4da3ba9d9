package io.uringaio.it.driver;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.posix.AioContext;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.CRC32C;

/**
 * What every scenario shares: the report lines on stdout, checks, the deterministic file content, and waiting for the
 * engine's futures.
 */
final class DriverSupport {
    /** How long one engine operation may take before the scenario gives up on it. */
    private static final long JOIN_TIMEOUT_SECONDS = 60;

    private static final PrintStream OUT = new PrintStream(new FileOutputStream(FileDescriptor.out), false,
            StandardCharsets.UTF_8);

    private DriverSupport() {
    }

    // ---------------------------------------------------------------- output

    /** Prints one report line, whole and flushed: completion threads print too, and the host reads as it goes. */
    static synchronized void line(String s) {
        OUT.print(s);
        OUT.print('\n');
        OUT.flush();
    }

    /** Prints {@code CHECK name ok detail} if {@code ok}, else fails the scenario with {@code name: detail}. */
    static void check(boolean ok, String name, String detail) {
        require(ok, name, detail);
        line("CHECK " + name + " ok " + detail);
    }

    /** Like {@link #check} without the line on success: for checks repeated in a loop. */
    static void require(boolean ok, String name, String detail) {
        if (!ok) {
            throw new CheckFailed(name + ": " + detail);
        }
    }

    static void backend(RingEngine engine) {
        line("BACKEND " + engine.backend() + " " + engine.backendReason());
    }

    /** The same line for a facade context, which does not hand its engine out. */
    static void backend(AioContext context) {
        line("BACKEND " + context.backend() + " " + context.backendReason());
    }

    /** An errno as the report lines print it: {@code 0} for none, else its symbolic name ({@code EROFS}). */
    static String errnoName(int errno) {
        return errno == 0 ? "0" : ErrnoTable.name(errno);
    }

    // ---------------------------------------------------------------- data

    /** The deterministic content of byte {@code offset} of a file written in generation {@code gen}. */
    static byte pattern(long seed, long gen, long offset) {
        long x = seed ^ (gen * 0x9E3779B97F4A7C15L) ^ (offset / 8) * 0xC2B2AE3D27D4EB4FL;
        x ^= x >>> 29;
        x *= 0xBF58476D1CE4E5B9L;
        x ^= x >>> 32;
        return (byte) (x >>> ((offset & 7) * 8));
    }

    /** Sets {@code image[offset, offset + length)} to generation {@code gen}'s content of the same file range. */
    static void fill(byte[] image, long seed, long gen, int offset, int length) {
        for (int i = 0; i < length; i++) {
            image[offset + i] = pattern(seed, gen, offset + i);
        }
    }

    /** Generation {@code gen}'s content of the file range {@code [offset, offset + length)}. */
    static byte[] patternBytes(long seed, long gen, long offset, int length) {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++) {
            data[i] = pattern(seed, gen, offset + i);
        }
        return data;
    }

    static ByteBuffer direct(byte[] image, int offset, int length) {
        ByteBuffer b = ByteBuffer.allocateDirect(length);
        b.put(image, offset, length).flip();
        return b;
    }

    static long crc32c(byte[] data, int length) {
        CRC32C crc = new CRC32C();
        crc.update(data, 0, length);
        return crc.getValue();
    }

    /** The first index below {@code length} where the arrays differ, -1 if none. */
    static int firstDifference(byte[] a, byte[] b, int length) {
        for (int i = 0; i < length; i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- engine

    /** The future's value; its failure as the {@link IOException} it carries (or wrapped), or a timeout. */
    static <T> T join(CompletableFuture<T> future) throws IOException {
        try {
            return future.get(JOIN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            throw new IOException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } catch (TimeoutException e) {
            throw new IOException("timed out after " + JOIN_TIMEOUT_SECONDS + " s", e);
        }
    }

    /** Reads {@code length} bytes from {@code position} through the engine, in chunks, all of them. */
    static byte[] readAll(AsyncFile file, long position, int length, int chunk) throws IOException {
        byte[] out = new byte[length];
        List<CompletableFuture<Integer>> reads = new ArrayList<>();
        List<ByteBuffer> buffers = new ArrayList<>();
        for (int off = 0; off < length; off += chunk) {
            ByteBuffer b = ByteBuffer.allocateDirect(Math.min(chunk, length - off));
            buffers.add(b);
            reads.add(file.read(b, position + off));
        }
        int off = 0;
        for (int i = 0; i < reads.size(); i++) {
            int n = join(reads.get(i));
            ByteBuffer b = buffers.get(i);
            if (n != b.capacity()) {
                throw new CheckFailed("short read at " + (position + off) + ": " + n + " of " + b.capacity());
            }
            b.flip().get(out, off, n);
            off += n;
        }
        return out;
    }
}
