package io.uringaio.nio;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Hostile inputs to {@link UringFileChannel}, each run on the JDK's {@code FileChannel} and on ours with the same
 * file and the same call: the outcome (the value returned or the exception's type) and everything the call could
 * have changed (the file's bytes, the channel's position and size, whether it is still open, the buffers' positions
 * and limits, the thread's interrupt status, a bystander channel on the same file) must be the JDK's.
 */
class NioHostileTest {
    private static final byte[] HELLO = "hello, uring".getBytes(StandardCharsets.US_ASCII);
    private static final OpenOption[] RW = {READ, WRITE};
    private static final OpenOption[] RO = {READ};
    private static final OpenOption[] WO = {WRITE};
    private static final OpenOption[] AP = {APPEND};

    @TempDir
    Path dir;

    /** A call on an open channel; what it returns (buffers included) is part of the outcome compared. */
    @FunctionalInterface
    interface Scenario {
        Object run(FileChannel channel, Path file, Impl impl) throws Throwable;
    }

    private static Arguments c(String name, OpenOption[] options, Scenario scenario) {
        return Arguments.of(name, options, scenario);
    }

    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static ByteBuffer direct(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocateDirect(b.length).put(b).flip();
    }

    /** A buffer's state and content from 0 to its limit, comparable across heap, direct and sliced buffers. */
    static String show(ByteBuffer b) {
        byte[] content = new byte[b.limit()];
        b.get(0, content);
        return "[pos=" + b.position() + " lim=" + b.limit() + " cap=" + b.capacity() + " "
                + new String(content, StandardCharsets.ISO_8859_1).replace('\0', '.') + "]";
    }

    static String show(ByteBuffer[] bs) {
        StringBuilder s = new StringBuilder();
        for (ByteBuffer b : bs) {
            s.append(b == null ? "null" : show(b));
        }
        return s.toString();
    }

    /** A direct buffer over memory of an arena that is closed already. */
    static ByteBuffer closedArenaBuffer() {
        java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
        ByteBuffer b = arena.allocate(1 << 20).asByteBuffer();
        arena.close();
        return b;
    }

    private static ByteBuffer[] many(int n, int each) {
        ByteBuffer[] bs = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            bs[i] = ByteBuffer.allocate(each);
        }
        return bs;
    }

    /** A summary of many buffers: how many bytes each family holds, so a 2000-buffer case prints short. */
    private static String filled(ByteBuffer[] bs) {
        List<String> runs = new ArrayList<>();
        int start = 0;
        for (int i = 1; i <= bs.length; i++) {
            if (i == bs.length || bs[i].position() != bs[start].position()) {
                runs.add((i - start) + "x" + bs[start].position());
                start = i;
            }
        }
        return String.join(",", runs);
    }

    static Stream<Arguments> channelCases() {
        return Stream.of(
                // ------------------------------------------------ positions: negative, huge, overflowing
                c("positional read at Long.MAX_VALUE", RW, (ch, f, i) -> ch.read(ByteBuffer.allocate(10),
                        Long.MAX_VALUE)),
                c("positional read whose end overflows a long", RW, (ch, f, i) -> {
                    ByteBuffer b = ByteBuffer.allocate(10);
                    return ch.read(b, Long.MAX_VALUE - 5) + show(b);
                }),
                c("positional write whose end overflows a long", RW, (ch, f, i) -> {
                    ByteBuffer b = bytes("0123456789");
                    return ch.write(b, Long.MAX_VALUE - 5) + show(b);
                }),
                c("positional write at 2^62", RW, (ch, f, i) -> ch.write(bytes("x"), 1L << 62)),
                // (Not at Long.MAX_VALUE: the JDK's position(long) seeks, and ext4 refuses a seek past its largest file
                // with EINVAL; ours keeps the position and the read or write there fails: both IOExceptions.)
                c("relative read at position 2^40, far past the end", RW, (ch, f, i) -> {
                    ch.position(1L << 40);
                    ByteBuffer b = ByteBuffer.allocate(10);
                    return ch.read(b) + show(b);
                }),
                c("position(Long.MIN_VALUE)", RW, (ch, f, i) -> ch.position(Long.MIN_VALUE)),
                c("negative positional read on a write-only channel", WO,
                        (ch, f, i) -> ch.read(ByteBuffer.allocate(1), -1)),
                c("negative positional write on a read-only channel", RO,
                        (ch, f, i) -> ch.write(bytes("x"), -1)),
                c("negative positional read into a read-only buffer", RW,
                        (ch, f, i) -> ch.read(ByteBuffer.allocate(1).asReadOnlyBuffer(), -1)),
                // ------------------------------------------------ end of file
                c("positional read exactly at the end", RW, (ch, f, i) -> {
                    ByteBuffer b = ByteBuffer.allocate(4);
                    return ch.read(b, 12) + show(b);
                }),
                c("zero-length positional read past the end", RW, (ch, f, i) -> ch.read(ByteBuffer.allocate(0),
                        100)),
                c("zero-length relative read at the end", RW, (ch, f, i) -> {
                    ch.position(12);
                    return ch.read(ByteBuffer.allocate(0));
                }),
                c("zero-length write past the end does not grow the file", RW, (ch, f, i) -> ch.write(
                        ByteBuffer.allocate(0), 100)),
                c("scatter read at the end with room", RW, (ch, f, i) -> {
                    ch.position(12);
                    ByteBuffer[] bs = many(3, 2);
                    return ch.read(bs) + show(bs);
                }),
                c("scatter read at the end without room", RW, (ch, f, i) -> {
                    ch.position(12);
                    ByteBuffer[] bs = many(3, 0);
                    return ch.read(bs) + show(bs);
                }),
                // ------------------------------------------------ buffers: read-only, sliced, direct
                c("read into a read-only heap buffer", RW, (ch, f, i) -> ch.read(ByteBuffer.allocate(4)
                        .asReadOnlyBuffer())),
                c("read into a read-only direct buffer", RW, (ch, f, i) -> ch.read(ByteBuffer.allocateDirect(4)
                        .asReadOnlyBuffer(), 0)),
                c("read into a read-only buffer on a write-only channel", WO,
                        (ch, f, i) -> ch.read(ByteBuffer.allocate(4).asReadOnlyBuffer())),
                c("positional read into a read-only buffer on a write-only channel", WO,
                        (ch, f, i) -> ch.read(ByteBuffer.allocate(4).asReadOnlyBuffer(), 0)),
                c("write from a read-only buffer", RW, (ch, f, i) -> {
                    ByteBuffer b = bytes("RO").asReadOnlyBuffer();
                    return ch.write(b, 3) + show(b);
                }),
                c("read into a sliced heap buffer", RW, (ch, f, i) -> {
                    ByteBuffer whole = ByteBuffer.allocate(20);
                    ByteBuffer slice = whole.position(3).slice().limit(5);
                    return ch.read(slice, 7) + show(slice) + show(whole.clear());
                }),
                c("read into a sliced direct buffer", RW, (ch, f, i) -> {
                    ByteBuffer whole = ByteBuffer.allocateDirect(20);
                    ByteBuffer slice = whole.position(3).slice().position(1).limit(4);
                    return ch.read(slice, 0) + show(slice) + show(whole.clear());
                }),
                c("write from a sliced heap buffer", RW, (ch, f, i) -> {
                    ByteBuffer whole = bytes("0123456789");
                    ByteBuffer slice = whole.position(2).slice().position(1).limit(4);
                    return ch.write(slice, 1) + show(slice);
                }),
                c("write from a heap buffer of wrap(array, offset, length)", RW, (ch, f, i) -> {
                    ByteBuffer b = ByteBuffer.wrap("abcdefgh".getBytes(StandardCharsets.US_ASCII), 2, 3);
                    return ch.write(b) + show(b);
                }),
                // (1 MiB: memory the allocator maps and unmaps, so a use after the close faults instead of corrupting)
                c("read into a buffer of a closed arena", RW, (ch, f, i) -> ch.read(closedArenaBuffer(), 0)),
                c("relative write from a buffer of a closed arena", RW, (ch, f, i) -> ch.write(closedArenaBuffer())),
                c("scatter into a buffer of a closed arena", RW, (ch, f, i) -> ch.read(new ByteBuffer[] {
                    ByteBuffer.allocate(2), closedArenaBuffer()})),
                c("gather from a buffer of a closed arena", RW, (ch, f, i) -> ch.write(new ByteBuffer[] {
                    bytes("ab"), closedArenaBuffer()})),
                c("read into another thread's confined-arena buffer", RW, (ch, f, i) -> {
                    try (java.lang.foreign.Arena confined = java.lang.foreign.Arena.ofConfined()) {
                        ByteBuffer b = confined.allocate(16).asByteBuffer();
                        java.util.concurrent.CompletableFuture<String> r = new java.util.concurrent.CompletableFuture<>();
                        Thread.ofPlatform().start(() -> r.complete(outcome(() -> ch.read(b, 0))));
                        return r.get(10, java.util.concurrent.TimeUnit.SECONDS) + " then owner " + ch.read(b, 0);
                    }
                }),
                // ------------------------------------------------ the file changed by someone else
                c("reads after another writer shrank, then grew the file", RW, (ch, f, i) -> {
                    ByteBuffer b = ByteBuffer.allocate(4);
                    List<String> all = new ArrayList<>();
                    all.add(ch.read(b, 0) + show(b));
                    try (FileChannel other = FileChannel.open(f, WRITE)) {
                        other.truncate(2);
                        all.add(ch.read(b.clear(), 0) + show(b) + " " + ch.read(b.clear(), 4) + " " + ch.size());
                        other.write(bytes("GROWN"), 20);
                    }
                    ch.position(18);
                    ByteBuffer big = ByteBuffer.allocate(10);
                    all.add(ch.read(big) + show(big) + " " + ch.position() + " " + ch.size());
                    return all;
                }),
                c("an append after another writer grew the file", AP, (ch, f, i) -> {
                    try (FileChannel other = FileChannel.open(f, WRITE)) {
                        other.write(bytes("!!"), 12);
                    }
                    return ch.write(bytes("++")) + " " + ch.position() + " " + ch.size();
                }),
                // ------------------------------------------------ null buffers: checked where the JDK checks them
                c("relative read into null", RW, (ch, f, i) -> ch.read((ByteBuffer) null)),
                c("relative read into null on a write-only channel", WO, (ch, f, i) -> ch.read((ByteBuffer) null)),
                c("relative read into null on a closed channel", RW, (ch, f, i) -> {
                    ch.close();
                    return ch.read((ByteBuffer) null);
                }),
                c("relative write of null on a read-only channel", RO, (ch, f, i) -> ch.write((ByteBuffer) null)),
                c("relative write of null on a closed channel", RW, (ch, f, i) -> {
                    ch.close();
                    return ch.write((ByteBuffer) null);
                }),
                c("append write of null", AP, (ch, f, i) -> ch.write((ByteBuffer) null)),
                c("positional read into null on a closed channel", RW, (ch, f, i) -> {
                    ch.close();
                    return ch.read(null, 0);
                }),
                c("positional write of null at a negative position on a read-only channel", RO,
                        (ch, f, i) -> ch.write(null, -1)),
                // ------------------------------------------------ scatter / gather
                c("scatter with a negative offset", RW, (ch, f, i) -> ch.read(many(2, 2), -1, 1)),
                c("scatter with offset + length past the array", RW, (ch, f, i) -> ch.read(many(2, 2), 1, 2)),
                c("scatter with a negative length", RW, (ch, f, i) -> ch.read(many(2, 2), 0, -1)),
                c("scatter with offset + length overflowing an int", RW,
                        (ch, f, i) -> ch.read(many(2, 2), 1, Integer.MAX_VALUE)),
                c("gather with offset + length past the array", RW, (ch, f, i) -> ch.write(many(2, 2), 2, 1)),
                c("scatter into a null array", RW, (ch, f, i) -> ch.read((ByteBuffer[]) null)),
                c("scatter into a null element", RW, (ch, f, i) -> {
                    ByteBuffer[] bs = {ByteBuffer.allocate(2), null};
                    return ch.read(bs);
                }),
                c("scatter around a null element outside the range", RW, (ch, f, i) -> {
                    ByteBuffer[] bs = {null, ByteBuffer.allocate(2), null};
                    return ch.read(bs, 1, 1) + show(bs);
                }),
                c("gather from a null element", RW, (ch, f, i) -> ch.write(new ByteBuffer[] {bytes("ab"), null})),
                c("scatter into a read-only element", RW, (ch, f, i) -> {
                    ByteBuffer[] bs = {ByteBuffer.allocate(2), ByteBuffer.allocate(2).asReadOnlyBuffer()};
                    return ch.read(bs) + show(bs);
                }),
                c("scatter into an empty read-only element", RW, (ch, f, i) -> {
                    ByteBuffer[] bs = {ByteBuffer.allocate(2), ByteBuffer.allocate(0).asReadOnlyBuffer()};
                    return ch.read(bs) + show(bs);
                }),
                c("scatter into 2000 one-byte buffers", RW, (ch, f, i) -> {
                    ByteBuffer[] bs = many(2000, 1);
                    return ch.read(bs) + " " + filled(bs) + " pos=" + ch.position();
                }),
                c("scatter past IOV_MAX full buffers into room further on", RW, (ch, f, i) -> {
                    ByteBuffer[] bs = many(1100, 0);
                    bs[1090] = ByteBuffer.allocate(4);
                    bs[1099] = ByteBuffer.allocate(4);
                    return ch.read(bs) + show(bs[1090]) + show(bs[1099]);
                }),
                c("gather from 2000 one-byte buffers", RW, (ch, f, i) -> {
                    ByteBuffer[] bs = new ByteBuffer[2000];
                    for (int k = 0; k < bs.length; k++) {
                        bs[k] = bytes(String.valueOf((char) ('a' + k % 26)));
                    }
                    return ch.write(bs) + " " + filled(bs);
                }),
                c("gather 2000 one-byte buffers in a write-until-done loop", RW, (ch, f, i) -> {
                    ByteBuffer[] bs = many(2000, 1);
                    List<Long> counts = new ArrayList<>();
                    for (int k = 0; k < 4 && bs[bs.length - 1].hasRemaining(); k++) {
                        counts.add(ch.write(bs));
                    }
                    return counts + " " + filled(bs);
                }),
                c("gather past IOV_MAX empty buffers", RW, (ch, f, i) -> {
                    ByteBuffer[] bs = many(1100, 0);
                    bs[1099] = bytes("END");
                    return ch.write(bs) + show(bs[1099]);
                }),
                c("gather with zero buffers in range", RW, (ch, f, i) -> ch.write(many(3, 2), 3, 0)),
                // ------------------------------------------------ access modes
                c("write on a read-only channel", RO, (ch, f, i) -> ch.write(bytes("x"))),
                c("gather on a read-only channel", RO, (ch, f, i) -> ch.write(new ByteBuffer[] {bytes("x")})),
                c("read on a write-only channel", WO, (ch, f, i) -> ch.read(ByteBuffer.allocate(1))),
                c("scatter on a write-only channel", WO, (ch, f, i) -> ch.read(many(1, 1))),
                c("read on an append channel", AP, (ch, f, i) -> ch.read(ByteBuffer.allocate(1), 0)),
                c("truncate on a read-only channel", RO, (ch, f, i) -> ch.truncate(0)),
                // ------------------------------------------------ append
                c("append: position after a write", AP, (ch, f, i) -> ch.write(bytes("++")) + " " + ch.position()),
                c("append: position(0) then write", AP, (ch, f, i) -> {
                    ch.position(0);
                    return ch.write(bytes("++")) + " " + ch.position();
                }),
                c("append: positional write", AP, (ch, f, i) -> ch.write(bytes("++"), 0) + " " + ch.position()),
                c("append: gather write", AP, (ch, f, i) -> ch.write(new ByteBuffer[] {bytes("a"), direct("b")})
                        + " " + ch.position()),
                c("append: truncate", AP, (ch, f, i) -> {
                    ch.truncate(5);
                    return ch.write(bytes("!")) + " " + ch.position();
                }),
                // ------------------------------------------------ truncate
                c("truncate beyond the size", RW, (ch, f, i) -> {
                    ch.position(20);
                    ch.truncate(100);
                    return ch.position();
                }),
                c("truncate negative", RW, (ch, f, i) -> ch.truncate(-1)),
                c("truncate to the position", RW, (ch, f, i) -> {
                    ch.position(5);
                    ch.truncate(5);
                    return ch.position();
                }),
                // ------------------------------------------------ transfers
                c("transferTo a stream's channel and from one", RW, (ch, f, i) -> {
                    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                    long to = ch.transferTo(2, 100, java.nio.channels.Channels.newChannel(out));
                    long from = ch.transferFrom(java.nio.channels.Channels.newChannel(new java.io.ByteArrayInputStream(
                            "STREAMED".getBytes(StandardCharsets.US_ASCII))), 4, 6);
                    return to + " " + out + " " + from + " " + ch.position();
                }),
                c("transferTo a pipe and from it", RW, (ch, f, i) -> {
                    java.nio.channels.Pipe pipe = java.nio.channels.Pipe.open();
                    try (var sink = pipe.sink(); var source = pipe.source()) {
                        long to = ch.transferTo(0, 5, pipe.sink());
                        long from = ch.transferFrom(pipe.source(), 7, 5);
                        pipe.source().configureBlocking(false);
                        long more = ch.transferFrom(pipe.source(), 0, 5);
                        return to + " " + from + " " + more;
                    }
                }),
                c("transferTo a closed pipe", RW, (ch, f, i) -> {
                    java.nio.channels.Pipe pipe = java.nio.channels.Pipe.open();
                    pipe.source().close();
                    try (var sink = pipe.sink()) {
                        return ch.transferTo(0, 5, sink);
                    }
                }),
                c("transferTo count 0", RW, (ch, f, i) -> ch.transferTo(0, 0, other(f, i))),
                c("transferTo from past the end", RW, (ch, f, i) -> ch.transferTo(100, 5, other(f, i))),
                c("transferTo negative position", RW, (ch, f, i) -> ch.transferTo(-1, 5, other(f, i))),
                c("transferTo negative count", RW, (ch, f, i) -> ch.transferTo(0, -1, other(f, i))),
                c("transferTo Long.MAX_VALUE bytes", RW, (ch, f, i) -> ch.transferTo(2, Long.MAX_VALUE,
                        other(f, i))),
                c("transferTo itself", RW, (ch, f, i) -> {
                    ch.position(7);
                    return ch.transferTo(0, 5, ch) + " " + ch.position();
                }),
                c("transferTo a closed target", RW, (ch, f, i) -> {
                    FileChannel t = other(f, i);
                    t.close();
                    return ch.transferTo(0, 5, t);
                }),
                c("transferTo a null target", RW, (ch, f, i) -> ch.transferTo(0, 5, null)),
                c("transferFrom itself", RW, (ch, f, i) -> {
                    ch.position(7);
                    return ch.transferFrom(ch, 0, 5) + " " + ch.position();
                }),
                c("transferFrom a closed source", RW, (ch, f, i) -> {
                    FileChannel s = other(f, i);
                    s.close();
                    return ch.transferFrom(s, 0, 5);
                }),
                c("transferFrom to past the end", RW, (ch, f, i) -> ch.transferFrom(other(f, i), 100, 5)),
                c("transferFrom negative position", RW, (ch, f, i) -> ch.transferFrom(other(f, i), -1, 5)),
                c("transferFrom count 0", RW, (ch, f, i) -> ch.transferFrom(other(f, i), 0, 0)),
                c("transferFrom into a read-only channel", RO, (ch, f, i) -> ch.transferFrom(other(f, i), 0, 5)),
                c("transferTo from a write-only channel", WO, (ch, f, i) -> ch.transferTo(0, 5, other(f, i))),
                // ------------------------------------------------ map
                c("map read-only past the end of a read-only channel", RO,
                        (ch, f, i) -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 100).capacity()),
                c("map read-write past the end grows the file", RW,
                        (ch, f, i) -> ch.map(FileChannel.MapMode.READ_WRITE, 0, 20).capacity() + " " + ch.size()),
                c("map at a negative position", RW, (ch, f, i) -> ch.map(FileChannel.MapMode.READ_ONLY, -1, 1)),
                c("map more than 2 GiB", RW, (ch, f, i) -> ch.map(FileChannel.MapMode.READ_ONLY, 0,
                        1L + Integer.MAX_VALUE)),
                c("map private on a write-only channel", WO, (ch, f, i) -> ch.map(FileChannel.MapMode.PRIVATE,
                        0, 1)),
                c("map read-write on a read-only channel", RO, (ch, f, i) -> ch.map(FileChannel.MapMode.READ_WRITE,
                        0, 1)),
                c("map with a null mode", RW, (ch, f, i) -> ch.map(null, 0, 1)),
                // ------------------------------------------------ locks
                c("lock then an overlapping lock", RW, (ch, f, i) -> {
                    FileLock l = ch.lock(0, 10, false);
                    try {
                        return ch.lock(5, 10, true);
                    } finally {
                        l.release();
                    }
                }),
                c("tryLock then an overlapping tryLock", RW, (ch, f, i) -> {
                    FileLock l = ch.tryLock(0, 10, true);
                    try {
                        return ch.tryLock(9, 1, true);
                    } finally {
                        l.release();
                    }
                }),
                c("lock overlapping another channel's lock", RW, (ch, f, i) -> {
                    try (FileChannel o = i.open(f, READ, WRITE)) {
                        FileLock l = o.lock(0, 10, false);
                        return ch.tryLock(0, 1, false);
                    }
                }),
                c("lock overlapping a JDK channel's lock on the file", RW, (ch, f, i) -> {
                    try (FileChannel o = FileChannel.open(f, READ, WRITE)) {
                        FileLock l = o.lock(0, 10, false);
                        String mine = outcome(() -> ch.tryLock(0, 1, false)) + " " + outcome(() -> ch.tryLock(10, 5,
                                false));
                        l.release();
                        return mine + " " + outcome(() -> ch.tryLock(0, 1, false));
                    }
                }),
                c("a JDK channel's lock overlapping this channel's", RW, (ch, f, i) -> {
                    FileLock mine = ch.lock(0, 10, true);
                    try (FileChannel o = FileChannel.open(f, READ, WRITE)) {
                        return outcome(() -> o.tryLock(5, 1, true)) + " " + mine.isValid();
                    }
                }),
                c("release twice", RW, (ch, f, i) -> {
                    FileLock l = ch.lock();
                    l.release();
                    l.release();
                    return l.isValid() + " " + (ch.tryLock() != null);
                }),
                c("release after close", RW, (ch, f, i) -> {
                    FileLock l = ch.lock();
                    ch.close();
                    return l.isValid() + " " + outcome(() -> {
                        l.release();
                        return null;
                    });
                }),
                c("lock after close", RW, (ch, f, i) -> {
                    ch.close();
                    return ch.lock(0, 1, false);
                }),
                c("shared lock on a write-only channel", WO, (ch, f, i) -> ch.lock(0, 1, true)),
                c("exclusive lock on a read-only channel", RO, (ch, f, i) -> ch.tryLock(0, 1, false)),
                c("lock at a negative position", RW, (ch, f, i) -> ch.lock(-1, 1, false)),
                c("lock of a negative size", RW, (ch, f, i) -> ch.tryLock(0, -1, false)),
                c("lock whose end overflows a long", RW, (ch, f, i) -> ch.lock(Long.MAX_VALUE, 2, false)),
                c("lock of size 0 (to the end, however far)", RW, (ch, f, i) -> {
                    FileLock l = ch.lock(5, 0, false);
                    return l.position() + " " + l.size() + " " + outcome(() -> ch.tryLock(1000, 1, false));
                }),
                c("lock on an append channel", AP, (ch, f, i) -> ch.lock().isShared()),
                // ------------------------------------------------ close
                c("close twice then force", RW, (ch, f, i) -> {
                    ch.close();
                    ch.close();
                    return outcome(() -> {
                        ch.force(true);
                        return null;
                    });
                }),
                c("every call after close", RW, (ch, f, i) -> {
                    ch.close();
                    ByteBuffer b = ByteBuffer.allocate(2);
                    List<String> all = new ArrayList<>();
                    all.add(outcome(() -> ch.read(b)));
                    all.add(outcome(() -> ch.read(b, -1)));
                    all.add(outcome(() -> ch.read(b.asReadOnlyBuffer(), 0)));
                    all.add(outcome(() -> ch.read(new ByteBuffer[] {b}, 0, 1)));
                    all.add(outcome(() -> ch.read(new ByteBuffer[] {b}, 2, 1)));
                    all.add(outcome(() -> ch.write(b)));
                    all.add(outcome(() -> ch.write(b, 0)));
                    all.add(outcome(() -> ch.write(b, -1)));
                    all.add(outcome(() -> ch.write(new ByteBuffer[] {b})));
                    all.add(outcome(() -> ch.position()));
                    all.add(outcome(() -> ch.position(-1)));
                    all.add(outcome(() -> ch.size()));
                    all.add(outcome(() -> ch.truncate(0)));
                    all.add(outcome(() -> ch.truncate(-1)));
                    all.add(outcome(() -> ch.transferTo(0, 1, other(f, i))));
                    all.add(outcome(() -> ch.transferFrom(other(f, i), 0, 1)));
                    all.add(outcome(() -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 1)));
                    all.add(outcome(() -> ch.lock(0, 1, true)));
                    all.add(outcome(() -> ch.tryLock(0, -1, true)));
                    return String.join("\n", all) + show(b);
                }),
                // ------------------------------------------------ interrupt pending before the call
                c("interrupted: read", RW, interrupted((ch, f, i) -> ch.read(ByteBuffer.allocate(4)))),
                c("interrupted: positional read", RW, interrupted((ch, f, i) -> ch.read(ByteBuffer.allocate(4), 0))),
                c("interrupted: scatter of nothing", RW, interrupted((ch, f, i) -> ch.read(many(1, 1), 1, 0))),
                c("interrupted: write", RW, interrupted((ch, f, i) -> ch.write(bytes("xx")))),
                c("interrupted: append write", AP, interrupted((ch, f, i) -> ch.write(bytes("xx")))),
                c("interrupted: size", RW, interrupted((ch, f, i) -> ch.size())),
                c("interrupted: force", RW, interrupted((ch, f, i) -> {
                    ch.force(false);
                    return null;
                })),
                c("interrupted: truncate", RW, interrupted((ch, f, i) -> ch.truncate(3))),
                c("interrupted: transferTo", RW, interrupted((ch, f, i) -> ch.transferTo(0, 3, other(f, i)))),
                c("interrupted: transferFrom", RW, interrupted((ch, f, i) -> ch.transferFrom(other(f, i), 0, 3))),
                c("interrupted: lock", RW, interrupted((ch, f, i) -> ch.lock())),
                c("interrupted: tryLock", RW, interrupted((ch, f, i) -> ch.tryLock())),
                c("interrupted: map", RW, interrupted((ch, f, i) -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 1)
                        .capacity()))
        );
    }

    /** The scenario with the calling thread's interrupt status set first (the harness reports and clears it). */
    private static Scenario interrupted(Scenario s) {
        return (ch, f, i) -> {
            Thread.currentThread().interrupt();
            return s.run(ch, f, i);
        };
    }

    /** A second channel of the same implementation on a file next to {@code f}: "other", read and written. */
    private static FileChannel other(Path f, Impl impl) throws IOException {
        Path o = f.resolveSibling(f.getFileName() + ".other");
        if (!Files.exists(o)) {
            Files.write(o, "OTHER".getBytes(StandardCharsets.US_ASCII));
        }
        return impl.open(o, READ, WRITE);
    }

    @FunctionalInterface
    interface Call {
        Object call() throws Throwable;
    }

    /** "= value" or "! ExceptionType": an outcome two implementations can be compared on. */
    static String outcome(Call call) {
        try {
            Object v = call.call();
            if (v instanceof FileLock l) {
                return "= lock(" + l.position() + "," + l.size() + "," + l.isShared() + "," + l.isValid() + ")";
            }
            if (v instanceof FileChannel) {
                return "= the channel";
            }
            return "= " + v;
        } catch (Throwable t) {
            return "! " + jdkType(t);
        }
    }

    /**
     * The exception's type as the JDK's API would name it: the engine's {@code UringIOException} is an
     * {@code IOException} with an errno, so it compares as the first {@code java.*} type it extends.
     */
    private static String jdkType(Throwable t) {
        Class<?> c = t.getClass();
        while (!c.getName().startsWith("java.")) {
            c = c.getSuperclass();
        }
        return c.getName();
    }

    /** Runs a scenario on a fresh file with {@code impl}; its outcome and every side effect, as text. */
    private String observe(Impl impl, OpenOption[] options, Scenario scenario) throws Exception {
        Path sub = Files.createDirectory(dir.resolve(impl.name()));
        Path f = sub.resolve("f");
        Files.write(f, HELLO);
        FileChannel ch = impl.open(f, options);
        try (FileChannel bystander = impl.open(f, READ, WRITE)) {
            String result = outcome(() -> scenario.run(ch, f, impl));
            boolean interrupted = Thread.interrupted();
            StringBuilder s = new StringBuilder(result);
            s.append("\ninterrupted=").append(interrupted).append(" open=").append(ch.isOpen());
            if (ch.isOpen()) {
                s.append(" position=").append(outcome(ch::position)).append(" size=").append(outcome(ch::size));
            }
            s.append("\nfile=").append(describe(Files.readAllBytes(f)));
            Path o = f.resolveSibling("f.other");
            if (Files.exists(o)) {
                s.append("\nother=").append(describe(Files.readAllBytes(o)));
            }
            // a bystander on the same file still reads and locks
            ByteBuffer b = ByteBuffer.allocate(4);
            s.append("\nbystander read=").append(outcome(() -> bystander.read(b, 0))).append(show(b));
            s.append(" lock=").append(outcome(() -> {
                FileLock l = bystander.tryLock(1L << 40, 1, false);
                l.release();
                return "ok";
            }));
            return s.toString();
        } finally {
            Thread.interrupted();
            ch.close();
        }
    }

    private static String describe(byte[] content) {
        if (content.length > 64) {
            return content.length + " bytes, hash " + Arrays.hashCode(content);
        }
        return new String(content, StandardCharsets.ISO_8859_1).replace('\0', '.');
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("channelCases")
    void fileChannelBehavesAsTheJdks(String name, OpenOption[] options, Scenario scenario) throws Exception {
        String jdk = observe(Impl.JDK, options, scenario);
        String uring = observe(Impl.URING, options, scenario);
        assertEquals(jdk, uring, name);
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void aScatterOfMoreThanTheKernelTakesInOneCallReadsWhatThereIs(Impl impl) throws Exception {
        // Three 1 GiB buffers (private mappings of a sparse file: nothing is allocated until written): the kernel
        // takes at most MAX_RW_COUNT bytes per call and reads what the file has; the JDK's scatter does the same.
        Path sparse = dir.resolve("sparse");
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(sparse.toFile(), "rw")) {
            raf.setLength(1L << 30);
        }
        Path f = dir.resolve("f");
        Files.write(f, HELLO);
        try (FileChannel backing = FileChannel.open(sparse, READ, WRITE); FileChannel ch = impl.open(f, READ, WRITE)) {
            ByteBuffer[] huge = new ByteBuffer[3];
            for (int k = 0; k < huge.length; k++) {
                huge[k] = backing.map(FileChannel.MapMode.PRIVATE, 0, 1L << 30);
            }
            assertEquals(12, ch.read(huge), "the file's 12 bytes");
            assertEquals(12, huge[0].position());
            assertEquals(0, huge[1].position());
            assertEquals(12, ch.position());
            huge[0].position(0);
            ch.position(0);
            assertEquals(12, ch.read(huge, 0, 3));
            huge[0].flip();
            ch.position(12);
            assertEquals(12, ch.write(new ByteBuffer[] {huge[0]}, 0, 1));
            assertEquals(24, ch.size());
            assertEquals("hello, uringhello, uring", Files.readString(f));
        }
    }

    /** The open flags (octal in /proc/self/fdinfo) of every descriptor this process has open on {@code file}. */
    static List<Integer> flagsOfEveryDescriptorOn(Path file) throws IOException {
        Path real = file.toRealPath();
        List<Integer> flags = new ArrayList<>();
        try (java.nio.file.DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                Path target;
                try {
                    target = Files.readSymbolicLink(fd);
                } catch (IOException gone) {
                    continue; // closed meanwhile (the stream's own descriptor, another thread's)
                }
                if (!target.equals(real)) {
                    continue;
                }
                for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo", fd.getFileName().toString()))) {
                    if (line.startsWith("flags:")) {
                        flags.add(Integer.parseInt(line.substring("flags:".length()).trim(), 8));
                    }
                }
            }
        }
        return flags;
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void everyWriteOfASyncChannelIsSynchronousAppendsAndTransfersToo(Impl impl) throws Exception {
        int oDsync = 010000;
        int oSync = 04010000;
        for (java.nio.file.StandardOpenOption sync : List.of(java.nio.file.StandardOpenOption.DSYNC,
                java.nio.file.StandardOpenOption.SYNC)) {
            int bits = sync == java.nio.file.StandardOpenOption.SYNC ? oSync : oDsync;
            for (OpenOption[] options : List.of(new OpenOption[] {APPEND, sync}, new OpenOption[] {READ, WRITE, sync})) {
                Path f = dir.resolve(impl + "-" + sync + "-" + options.length);
                Files.write(f, HELLO);
                try (FileChannel ch = impl.open(f, options);
                     FileChannel src = FileChannel.open(Files.writeString(dir.resolve("src"), "SRC"))) {
                    // an append (through the companion on ours), a transfer in, and a truncate: every path that writes
                    assertEquals(2, ch.write(bytes("++")));
                    if (options.length == 3) {
                        assertEquals(3, ch.transferFrom(src, 14, 3));
                        ch.truncate(16);
                    }
                    List<Integer> flags = flagsOfEveryDescriptorOn(f);
                    org.junit.jupiter.api.Assertions.assertFalse(flags.isEmpty(), "no descriptor on " + f);
                    for (int fl : flags) {
                        assertEquals(bits, fl & bits, Arrays.toString(options) + ": a descriptor on the file "
                                + "without " + sync + ", flags " + Integer.toOctalString(fl) + " of " + flags);
                    }
                }
                assertEquals(options.length == 3 ? "++llo, uring\0\0SR" : "hello, uring++", Files.readString(f));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void directIoCreatesAFileThatDoesNotExistYet(Impl impl) throws Exception {
        Path f = dir.resolve("new-direct");
        OpenOption direct = com.sun.nio.file.ExtendedOpenOption.DIRECT;
        FileChannel ch;
        try {
            ch = impl.open(f, READ, WRITE, java.nio.file.StandardOpenOption.CREATE_NEW, direct);
        } catch (IOException e) {
            // the JDK's own channel fails the same way where the file system refuses O_DIRECT
            org.junit.jupiter.api.Assumptions.assumeFalse(impl == Impl.JDK, "O_DIRECT unsupported here: " + e);
            FileChannel.open(dir.resolve("probe"), READ, WRITE, java.nio.file.StandardOpenOption.CREATE_NEW, direct)
                    .close();
            throw e;
        }
        try (ch) {
            int block = (int) Files.getFileStore(f).getBlockSize();
            ByteBuffer b = ByteBuffer.allocateDirect(2 * block).alignedSlice(block);
            b.limit(block);
            assertEquals(block, ch.write(b, 0));
            assertEquals(block, ch.size());
        }
    }

    /** What opening {@code path} with {@code options} gives: the outcome, and the file after a write if it opened. */
    private static String openOutcome(Impl impl, Path path, OpenOption... options) {
        return outcome(() -> {
            try (FileChannel ch = impl == Impl.JDK ? FileChannel.open(path, options)
                    : UringFiles.newFileChannel(path, options)) {
                String kind = ch instanceof UringFileChannel ? "uring " : "jdk ";
                return kind + (ch.isOpen() ? "open" : "closed");
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void foreignRelativeAndOddPathsOpenAsTheJdksDo(Impl impl) throws Exception {
        Path base = Files.createDirectory(dir.resolve(impl.name()));
        Files.write(base.resolve("f"), HELLO);
        Files.createDirectory(base.resolve("sub"));
        Files.createSymbolicLink(base.resolve("link"), base.resolve("f"));
        Files.createSymbolicLink(base.resolve("dangling"), base.resolve("made-through-link"));
        String uring = "uring open";
        // (where this provider is installed as the default, the JDK's FileChannel.open gives ours too)
        String jdkKind = java.nio.file.FileSystems.getDefault().provider() instanceof UringFileSystemProvider
                ? uring : "jdk open";
        String opened = impl == Impl.JDK ? jdkKind : uring;
        // non-normalised: . and .. and doubled separators
        assertEquals("= " + opened, openOutcome(impl, Path.of(base + "/./sub/..//f"), READ));
        assertEquals("! java.nio.file.NoSuchFileException",
                openOutcome(impl, Path.of(base + "/missing/../f"), READ), "the kernel resolves .. after the name");
        // relative to the working directory
        Path relative = Path.of("").toAbsolutePath().relativize(base.resolve("f"));
        assertEquals(false, relative.isAbsolute());
        assertEquals("= " + opened, openOutcome(impl, relative, READ));
        // a directory, a link, a dangling link created through
        assertEquals("= jdk open", openOutcome(impl, base.resolve("sub"), READ), "a directory: the JDK's channel");
        assertEquals("! java.nio.file.FileSystemException", openOutcome(impl, base.resolve("sub"), READ, WRITE));
        assertEquals("= " + opened, openOutcome(impl, base.resolve("link"), READ, WRITE));
        assertEquals("! java.io.IOException",
                openOutcome(impl, base.resolve("link"), READ, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertEquals("= " + opened, openOutcome(impl, base.resolve("dangling"), WRITE,
                java.nio.file.StandardOpenOption.CREATE));
        assertEquals(true, Files.exists(base.resolve("made-through-link")));
        assertEquals("= jdk open", openOutcome(impl, Path.of(""), READ), "the empty path: the working directory");
        assertArrayEquals(HELLO, Files.readAllBytes(base.resolve("f")), "nothing written");
    }

    @org.junit.jupiter.api.Test
    void aForeignProvidersPathIsRefusedAsTheJdkRefusesIt() throws Exception {
        Path zip = dir.resolve("z.zip");
        try (java.nio.file.FileSystem zfs = java.nio.file.FileSystems.newFileSystem(zip,
                java.util.Map.of("create", "true"))) {
            Path inZip = zfs.getPath("/inside");
            java.nio.file.spi.FileSystemProvider jdk = java.nio.file.FileSystems.getDefault().provider();
            UringFileSystemProvider ours = UringFileSystemProvider.instance();
            java.util.Set<OpenOption> rw = java.util.Set.of(READ, WRITE, java.nio.file.StandardOpenOption.CREATE);
            for (java.nio.file.spi.FileSystemProvider p : List.of(jdk, ours)) {
                org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.ProviderMismatchException.class,
                        () -> p.newFileChannel(inZip, rw), p.toString());
                org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.ProviderMismatchException.class,
                        () -> p.newAsynchronousFileChannel(inZip, rw, null), p.toString());
                org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.ProviderMismatchException.class,
                        () -> p.newByteChannel(inZip, rw), p.toString());
                org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.ProviderMismatchException.class,
                        () -> p.delete(inZip), p.toString());
                org.junit.jupiter.api.Assertions.assertThrows(NullPointerException.class,
                        () -> p.newFileChannel(null, rw), p.toString());
            }
            org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.ProviderMismatchException.class,
                    () -> UringFiles.path(inZip));
            org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.ProviderMismatchException.class,
                    () -> UringFiles.path(dir).resolve(inZip));
            assertEquals(false, Files.exists(inZip), "nothing created in the zip");
        }
    }

    @org.junit.jupiter.api.Test
    void theWatchServiceForgetsTheKeysOfDirectoriesThatAreGone() throws Exception {
        Path root = UringFiles.path(dir);
        int n = 20;
        try (java.nio.file.WatchService ws = root.getFileSystem().newWatchService()) {
            for (int k = 0; k < n; k++) {
                Files.createDirectory(root.resolve("d" + k)).register(ws,
                        java.nio.file.StandardWatchEventKinds.ENTRY_CREATE);
            }
            assertEquals(n, ((UringWatchService) ws).keysHeld());
            for (int k = 0; k < n; k++) {
                Files.delete(root.resolve("d" + k));
            }
            int invalid = 0;
            while (invalid < n) {
                java.nio.file.WatchKey key = ws.poll(10, java.util.concurrent.TimeUnit.SECONDS);
                org.junit.jupiter.api.Assertions.assertNotNull(key, "a deleted directory's key is signalled");
                key.pollEvents();
                if (!key.reset()) {
                    invalid++;
                }
            }
            assertEquals(0, ((UringWatchService) ws).keysHeld(), "no wrapper kept for an invalid key");
            Path live = Files.createDirectory(root.resolve("live"));
            java.nio.file.WatchKey kept = live.register(ws, java.nio.file.StandardWatchEventKinds.ENTRY_CREATE);
            Files.createFile(live.resolve("x"));
            assertEquals(kept, ws.poll(10, java.util.concurrent.TimeUnit.SECONDS), "a live key keeps its identity");
            ws.close();
            assertEquals(0, ((UringWatchService) ws).keysHeld(), "none after close");
        }
    }
}
