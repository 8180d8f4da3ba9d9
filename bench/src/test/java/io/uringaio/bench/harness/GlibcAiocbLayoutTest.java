package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.uringaio.engine.internal.sys.Libc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** glibc's x86-64 {@code struct aiocb}: the layout against known constants, against gcc, and against glibc itself. */
class GlibcAiocbLayoutTest {
    static final Map<String, Long> KNOWN = new LinkedHashMap<>();

    static {
        KNOWN.put("sizeof", GlibcAiocbLayout.SIZEOF);
        KNOWN.put("aio_fildes", GlibcAiocbLayout.AIO_FILDES);
        KNOWN.put("aio_lio_opcode", GlibcAiocbLayout.AIO_LIO_OPCODE);
        KNOWN.put("aio_reqprio", GlibcAiocbLayout.AIO_REQPRIO);
        KNOWN.put("aio_buf", GlibcAiocbLayout.AIO_BUF);
        KNOWN.put("aio_nbytes", GlibcAiocbLayout.AIO_NBYTES);
        KNOWN.put("aio_sigevent", GlibcAiocbLayout.AIO_SIGEVENT);
        KNOWN.put("sigev_value", GlibcAiocbLayout.SIGEV_VALUE);
        KNOWN.put("sigev_signo", GlibcAiocbLayout.SIGEV_SIGNO);
        KNOWN.put("sigev_notify", GlibcAiocbLayout.SIGEV_NOTIFY);
        KNOWN.put("aio_offset", GlibcAiocbLayout.AIO_OFFSET);
        KNOWN.put("sizeof_sigevent", GlibcAiocbLayout.SIGEVENT_SIZEOF);
        KNOWN.put("SIGEV_NONE", (long) GlibcAiocbLayout.SIGEV_NONE);
        KNOWN.put("O_DSYNC", (long) GlibcAiocbLayout.O_DSYNC);
        KNOWN.put("EINPROGRESS", (long) GlibcAiocbLayout.EINPROGRESS);
    }

    @Test
    void constantsAreGlibc236X8664() {
        // Known values for glibc 2.36, x86-64 (aio.h, bits/types/sigevent_t.h). Note aio_offset is at 128, after
        // glibc's private fields, not right after aio_sigevent.
        assertEquals(168, GlibcAiocbLayout.SIZEOF);
        assertEquals(16, GlibcAiocbLayout.AIO_BUF);
        assertEquals(24, GlibcAiocbLayout.AIO_NBYTES);
        assertEquals(44, GlibcAiocbLayout.SIGEV_NOTIFY);
        assertEquals(128, GlibcAiocbLayout.AIO_OFFSET);
        assertEquals(1, GlibcAiocbLayout.SIGEV_NONE);
    }

    @Test
    void memoryLayoutAgreesWithTheConstants() {
        assertEquals(GlibcAiocbLayout.SIZEOF, GlibcAiocbLayout.AIOCB.byteSize());
        assertEquals(GlibcAiocbLayout.SIGEVENT_SIZEOF, GlibcAiocbLayout.SIGEVENT.byteSize());
        assertEquals(8, GlibcAiocbLayout.AIOCB.byteAlignment());
        for (String f : new String[] {"aio_fildes", "aio_lio_opcode", "aio_reqprio", "aio_buf", "aio_nbytes",
                "aio_sigevent", "aio_offset"}) {
            assertEquals(KNOWN.get(f), GlibcAiocbLayout.offsetOf(f), f);
        }
        assertEquals(GlibcAiocbLayout.SIGEV_NOTIFY, GlibcAiocbLayout.AIOCB.byteOffset(
                MemoryLayout.PathElement.groupElement("aio_sigevent"),
                MemoryLayout.PathElement.groupElement("sigev_notify")));
        assertEquals(GlibcAiocbLayout.SIGEV_SIGNO, GlibcAiocbLayout.AIOCB.byteOffset(
                MemoryLayout.PathElement.groupElement("aio_sigevent"),
                MemoryLayout.PathElement.groupElement("sigev_signo")));
    }

    /** Compiles a C probe with gcc (both with and without _FILE_OFFSET_BITS=64) and compares every number. */
    @Test
    void gccAgrees(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("gcc"), "gcc is not installed: the C offsetof probe is skipped");
        StringBuilder c = new StringBuilder("""
                #include <aio.h>
                #include <errno.h>
                #include <fcntl.h>
                #include <signal.h>
                #include <stddef.h>
                #include <stdio.h>
                int main(void) {
                  printf("sizeof %zu\\n", sizeof(struct aiocb));
                  printf("sizeof_sigevent %zu\\n", sizeof(struct sigevent));
                """);
        for (String f : new String[] {"aio_fildes", "aio_lio_opcode", "aio_reqprio", "aio_buf", "aio_nbytes",
                "aio_sigevent", "aio_offset"}) {
            c.append("  printf(\"").append(f).append(" %zu\\n\", offsetof(struct aiocb, ").append(f).append("));\n");
        }
        c.append("""
                  printf("sigev_value %zu\\n", offsetof(struct aiocb, aio_sigevent.sigev_value));
                  printf("sigev_signo %zu\\n", offsetof(struct aiocb, aio_sigevent.sigev_signo));
                  printf("sigev_notify %zu\\n", offsetof(struct aiocb, aio_sigevent.sigev_notify));
                  printf("SIGEV_NONE %d\\n", SIGEV_NONE);
                  printf("O_DSYNC %d\\n", O_DSYNC);
                  printf("EINPROGRESS %d\\n", EINPROGRESS);
                  return 0;
                }
                """);
        Path src = dir.resolve("probe.c");
        Files.writeString(src, c);
        for (String flags : new String[] {"-D_FILE_OFFSET_BITS=64", "-U_FILE_OFFSET_BITS"}) {
            Path exe = dir.resolve("probe" + flags.length());
            String out = run(dir, "gcc", "-O0", flags, "-o", exe.toString(), src.toString());
            assertEquals("", out.strip(), "gcc " + flags + " printed: " + out);
            Map<String, Long> measured = new LinkedHashMap<>();
            for (String line : run(dir, exe.toString()).strip().split("\n")) {
                String[] kv = line.split(" ");
                measured.put(kv[0], Long.parseLong(kv[1]));
            }
            assertEquals(KNOWN, measured, "gcc " + flags);
        }
    }

    /** glibc reads at the offset we wrote into aio_offset, into aio_buf, aio_nbytes long. */
    @Test
    void glibcReadsWhereTheLayoutSays(@TempDir Path dir) throws Exception {
        assumeTrue(GlibcAio.unavailableReason() == null, () -> "glibc AIO: " + GlibcAio.unavailableReason());
        Path file = dir.resolve("f");
        byte[] data = new byte[3 * 4096];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i / 4096 + 1);
        }
        Files.write(file, data);
        int fd = Libc.open(file.toString(), Libc.O_RDONLY, 0);
        try (Arena arena = Arena.ofConfined()) {
            GlibcAio aio = new GlibcAio(arena);
            MemorySegment cb = GlibcAio.newAiocb(arena);
            MemorySegment buf = arena.allocate(100);
            GlibcAio.prepare(cb, fd, buf, 100, 2 * 4096 + 10);
            assertEquals(0, aio.aio_read(cb));
            MemorySegment list = arena.allocate(ValueLayout.ADDRESS, 1);
            list.setAtIndex(ValueLayout.ADDRESS, 0, cb);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (aio.aio_error(cb) == GlibcAiocbLayout.EINPROGRESS && System.nanoTime() < deadline) {
                aio.aio_suspend(list, 1, MemorySegment.NULL);
            }
            assertEquals(0, aio.aio_error(cb));
            assertEquals(100, aio.aio_return(cb));
            byte[] expected = new byte[100];
            java.util.Arrays.fill(expected, (byte) 3);
            assertArrayEquals(expected, buf.toArray(ValueLayout.JAVA_BYTE));
        } finally {
            Libc.close(fd);
        }
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    private static String run(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(true, p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " timed out");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
        return out;
    }
}
