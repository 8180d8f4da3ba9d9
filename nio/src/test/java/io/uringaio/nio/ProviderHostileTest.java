package io.uringaio.nio;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessMode;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.DELETE_ON_CLOSE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Hostile calls on the provider's surface ({@code Files.*}, paths, directory streams, the watch service), each run on a
 * directory of the JDK's default file system and on the same directory seen through the uring provider: the outcome
 * (value or exception type, with the directory's name masked) and the directory's state afterwards (every entry, its
 * kind and content) must be the JDK's.
 */
class ProviderHostileTest {
    private static final String HELLO = "hello, uring";

    @TempDir
    Path dir;

    /** A call on a prepared root: f (HELLO), d/x, empty/, link -> f, dangling -> nowhere. */
    @FunctionalInterface
    interface Scenario {
        Object run(Path root) throws Throwable;
    }

    private static Arguments c(String name, Scenario scenario) {
        return Arguments.of(name, scenario);
    }

    /** A file attribute the JDK's provider does not take at creation. */
    private static FileAttribute<Boolean> hidden() {
        return new FileAttribute<>() {
            @Override
            public String name() {
                return "dos:hidden";
            }

            @Override
            public Boolean value() {
                return true;
            }
        };
    }

    private static final OpenOption UNKNOWN = new OpenOption() {
        @Override
        public String toString() {
            return "UNKNOWN";
        }
    };

    private static Set<OpenOption> opts(OpenOption... options) {
        return new HashSet<>(Arrays.asList(options));
    }

    private static String open(Path p, Set<OpenOption> options, FileAttribute<?>... attrs) throws IOException {
        try (SeekableByteChannel ch = Files.newByteChannel(p, options, attrs)) {
            return "open size=" + ch.size();
        }
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                // ------------------------------------------------ open options
                c("READ + APPEND", r -> open(r.resolve("f"), opts(READ, APPEND))),
                c("APPEND + TRUNCATE_EXISTING", r -> open(r.resolve("f"), opts(APPEND, TRUNCATE_EXISTING))),
                c("CREATE_NEW on an existing file", r -> open(r.resolve("f"), opts(WRITE, CREATE_NEW))),
                c("CREATE_NEW on a dangling link", r -> open(r.resolve("dangling"), opts(WRITE, CREATE_NEW))),
                c("CREATE_NEW on dir/.", r -> open(r.resolve("empty/."), opts(WRITE, CREATE_NEW))),
                c("an immutable file for writing (EPERM): the exception's type and reason", r -> {
                    Path imm = Files.writeString(r.resolve("imm"), "immutable");
                    if (new ProcessBuilder("chattr", "+i", imm.toString()).start().waitFor() != 0) {
                        return "chattr unsupported here"; // the same for both
                    }
                    try {
                        return List.of(failure(() -> open(imm, opts(WRITE))), failure(() -> open(imm, opts(READ,
                                WRITE, DELETE_ON_CLOSE))), failure(() -> AsynchronousFileChannel.open(imm, WRITE)),
                                failure(() -> open(imm, opts(READ))));
                    } finally {
                        new ProcessBuilder("chattr", "-i", imm.toString()).start().waitFor();
                    }
                }),
                c("the running java executable for writing (ETXTBSY): the exception's type and reason", r -> {
                    Path java = Path.of(ProcessHandle.current().info().command().orElseThrow()).toRealPath();
                    Path p = r.getFileSystem().getPath(java.toString());
                    // WRITE alone (no TRUNCATE_EXISTING): the open fails, and would change nothing if it did not
                    return failure(() -> open(p, opts(WRITE))).replace(java.toString(), "JAVA");
                }),
                c("CREATE_NEW on missing/.", r -> open(r.resolve("missing/."), opts(WRITE, CREATE_NEW))),
                c("CREATE_NEW on f/.", r -> open(r.resolve("f/."), opts(WRITE, CREATE_NEW))),
                c("CREATE_NEW on .", r -> open(r.getFileSystem().getPath("."), opts(WRITE, CREATE_NEW))),
                c("an asynchronous channel: CREATE_NEW on f/.", r -> AsynchronousFileChannel.open(r.resolve("f/."),
                        WRITE, CREATE_NEW)),
                c("CREATE on missing/.", r -> open(r.resolve("missing/."), opts(WRITE, CREATE))),
                c("CREATE on a name ending in a slash", r -> open(r.getFileSystem().getPath(r + "/new/"),
                        opts(WRITE, CREATE))),
                c("READ of f/.", r -> open(r.resolve("f/."), opts(READ))),
                c("READ of f/..", r -> open(r.resolve("f/.."), opts(READ))),
                c("CREATE without WRITE on a missing file", r -> open(r.resolve("new"), opts(CREATE))),
                c("TRUNCATE_EXISTING without WRITE", r -> open(r.resolve("f"), opts(READ, TRUNCATE_EXISTING))),
                c("an unknown option", r -> open(r.resolve("f"), opts(READ, UNKNOWN))),
                c("a null option", r -> open(r.resolve("f"), opts(READ, null))),
                c("a null option set", r -> Files.newByteChannel(r.resolve("f"), (Set<OpenOption>) null)),
                c("DELETE_ON_CLOSE", r -> open(r.resolve("f"), opts(READ, DELETE_ON_CLOSE))),
                c("DELETE_ON_CLOSE through a link", r -> open(r.resolve("link"), opts(READ, DELETE_ON_CLOSE))),
                c("DELETE_ON_CLOSE + CREATE through a dangling link", r -> open(r.resolve("dangling"),
                        opts(WRITE, CREATE, DELETE_ON_CLOSE))),
                c("DELETE_ON_CLOSE: append, lock, truncate, transfer, map and size of a file already unlinked",
                        r -> {
                            Path t = r.resolve("tmp");
                            List<String> all = new ArrayList<>();
                            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(t, WRITE,
                                    APPEND, CREATE, DELETE_ON_CLOSE);
                                 java.nio.channels.FileChannel rw = java.nio.channels.FileChannel.open(r.resolve("f"),
                                         READ, WRITE, DELETE_ON_CLOSE)) {
                                all.add(Files.exists(t) + " " + Files.exists(r.resolve("f")));
                                all.add(ch.write(ByteBuffer.wrap("abcdef".getBytes(StandardCharsets.US_ASCII))) + " "
                                        + ch.size());
                                java.nio.channels.FileLock l = ch.lock(0, 3, false);
                                all.add(l.isValid() + " " + l.isShared());
                                ch.truncate(4);
                                all.add(ch.size() + " " + ch.position());
                                all.add(rw.transferTo(0, 5, ch) + " " + ch.size());
                                all.add(rw.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, 5).get(4) + " "
                                        + rw.transferFrom(rw, 12, 3) + " " + rw.size());
                            }
                            return all;
                        }),
                c("NOFOLLOW_LINKS on a link", r -> open(r.resolve("link"), opts(READ, LinkOption.NOFOLLOW_LINKS))),
                c("SPARSE + CREATE_NEW", r -> open(r.resolve("sparse"), opts(WRITE, CREATE_NEW,
                        StandardOpenOption.SPARSE))),
                c("SYNC + DSYNC write", r -> {
                    try (SeekableByteChannel ch = Files.newByteChannel(r.resolve("f"), opts(WRITE,
                            StandardOpenOption.SYNC, StandardOpenOption.DSYNC))) {
                        return ch.write(ByteBuffer.wrap("J".getBytes(StandardCharsets.US_ASCII)));
                    }
                }),
                c("a directory for writing", r -> open(r.resolve("d"), opts(WRITE))),
                c("a directory for reading", r -> open(r.resolve("d"), opts(READ))),
                c("a missing parent", r -> open(r.resolve("nope/f"), opts(WRITE, CREATE))),
                c("a file as a parent", r -> open(r.resolve("f/g"), opts(WRITE, CREATE))),
                c("creation attributes the JDK refuses, on an existing file", r -> open(r.resolve("f"),
                        opts(READ), hidden())),
                c("creation attributes the JDK refuses, creating", r -> open(r.resolve("new"),
                        opts(WRITE, CREATE), hidden())),
                c("READ + APPEND under a file", r -> open(r.resolve("f/g"), opts(READ, APPEND))),
                c("an unknown option under a file", r -> open(r.resolve("f/g"), opts(READ, UNKNOWN))),
                c("an unknown option on a missing file", r -> open(r.resolve("missing"), opts(WRITE, CREATE,
                        UNKNOWN))),
                c("an asynchronous channel: READ + APPEND", r -> AsynchronousFileChannel.open(r.resolve("f"),
                        READ, APPEND)),
                c("an asynchronous channel: APPEND + TRUNCATE_EXISTING", r -> AsynchronousFileChannel.open(
                        r.resolve("f"), WRITE, APPEND, TRUNCATE_EXISTING)),
                c("an asynchronous channel: APPEND alone", r -> AsynchronousFileChannel.open(r.resolve("f"),
                        APPEND)),
                c("an asynchronous channel: APPEND + CREATE creates nothing", r -> AsynchronousFileChannel.open(
                        r.resolve("new"), WRITE, APPEND, CREATE)),
                c("an asynchronous channel: READ + APPEND under a file", r -> AsynchronousFileChannel.open(
                        r.resolve("f/g"), READ, APPEND)),
                c("an asynchronous channel: DELETE_ON_CLOSE through a link", r -> AsynchronousFileChannel.open(
                        r.resolve("link"), READ, DELETE_ON_CLOSE)),
                c("an asynchronous channel: CREATE_NEW on an existing file", r -> AsynchronousFileChannel.open(
                        r.resolve("f"), WRITE, CREATE_NEW)),
                c("an asynchronous channel on a directory", r -> AsynchronousFileChannel.open(r.resolve("d"), READ)),
                c("an asynchronous channel: a null option", r -> AsynchronousFileChannel.open(r.resolve("f"),
                        opts(READ, null), null)),
                c("an asynchronous channel: creation attributes the JDK refuses, on an existing file",
                        r -> AsynchronousFileChannel.open(r.resolve("f"), opts(READ), null, hidden())),
                c("an asynchronous channel: a null permission", r -> AsynchronousFileChannel.open(r.resolve("new"),
                        opts(WRITE, CREATE), null, PosixFilePermissions.asFileAttribute(new HashSet<>(Arrays.asList(
                                PosixFilePermission.OWNER_READ, null))))),
                c("a creation attribute whose value is not permissions", r -> open(r.resolve("new"),
                        opts(WRITE, CREATE), new FileAttribute<Object>() {
                            @Override
                            public String name() {
                                return "posix:permissions";
                            }

                            @Override
                            public Object value() {
                                return Set.of("rwx");
                            }
                        })),
                c("a null creation attribute", r -> open(r.resolve("f"), opts(READ), (FileAttribute<?>) null)),
                c("creation permissions on an existing file", r -> open(r.resolve("f"), opts(WRITE, CREATE),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("r--------")))),
                c("every kind of call with the interrupt status set", r -> {
                    List<NioHostileTest.Call> calls = List.of(
                            () -> open(r.resolve("f"), opts(READ)),
                            () -> open(r.resolve("new"), opts(WRITE, CREATE_NEW)),
                            () -> Files.readString(r.resolve("f")),
                            () -> Files.write(r.resolve("g"), HELLO.getBytes(StandardCharsets.US_ASCII)),
                            () -> Files.size(r.resolve("f")),
                            () -> Files.copy(r.resolve("f"), r.resolve("copy")),
                            () -> {
                                try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(r.resolve("f"))) {
                                    return ch.size();
                                }
                            },
                            () -> {
                                try (SeekableByteChannel ch = Files.newByteChannel(r.resolve("f"), opts(READ, WRITE))) {
                                    return ch.position(3).size();
                                }
                            },
                            () -> {
                                try (InputStream in = Files.newInputStream(r.resolve("f"))) {
                                    return in.skip(2);
                                }
                            },
                            () -> {
                                try (InputStream in = Files.newInputStream(r.resolve("f"))) {
                                    return in.read() + " " + in.available() + " " + new String(in.readNBytes(3),
                                            StandardCharsets.US_ASCII);
                                }
                            },
                            () -> {
                                try (OutputStream out = Files.newOutputStream(r.resolve("f"), APPEND)) {
                                    out.write('!');
                                }
                                try (OutputStream out = Files.newOutputStream(r.resolve("h"))) {
                                    out.write('h');
                                }
                                return Files.readString(r.resolve("f")) + Files.readString(r.resolve("h"));
                            },
                            () -> {
                                try (InputStream in = Files.newInputStream(r.resolve("f"));
                                     OutputStream out = Files.newOutputStream(r.resolve("t"))) {
                                    return in.transferTo(out);
                                }
                            },
                            () -> new String(Files.readAllBytes(r.resolve("f")), StandardCharsets.US_ASCII)
                                    + Files.readAllLines(r.resolve("f")),
                            () -> {
                                try (SeekableByteChannel ch = Files.newByteChannel(r.resolve("f"))) {
                                    return ch.size(); // not a stream: interruptible, as the JDK's
                                }
                            });
                    List<String> all = new ArrayList<>();
                    for (NioHostileTest.Call call : calls) {
                        Thread.currentThread().interrupt();
                        String outcome = outcome(call);
                        all.add(outcome + " interrupted=" + Thread.interrupted());
                    }
                    return all;
                }),
                // ------------------------------------------------ streams
                c("newInputStream with WRITE", r -> Files.newInputStream(r.resolve("f"), WRITE)),
                c("newInputStream with APPEND", r -> Files.newInputStream(r.resolve("f"), APPEND)),
                c("newOutputStream with READ", r -> Files.newOutputStream(r.resolve("f"), READ)),
                c("newOutputStream APPEND", r -> {
                    try (OutputStream out = Files.newOutputStream(r.resolve("f"), APPEND)) {
                        out.write('!');
                    }
                    return "ok";
                }),
                c("newOutputStream APPEND + TRUNCATE_EXISTING", r -> Files.newOutputStream(r.resolve("f"), APPEND,
                        TRUNCATE_EXISTING)),
                c("newInputStream skip, available, read past the end", r -> {
                    try (InputStream in = Files.newInputStream(r.resolve("f"))) {
                        return in.skip(5) + " " + in.available() + " " + in.skip(-3) + " " + in.available() + " "
                                + new String(in.readAllBytes(), StandardCharsets.US_ASCII) + " " + in.read() + " "
                                + in.skip(100) + " " + in.available();
                    }
                }),
                c("newInputStream read after close", r -> {
                    InputStream in = Files.newInputStream(r.resolve("f"));
                    in.close();
                    return in.read();
                }),
                c("newInputStream on a directory", r -> {
                    try (InputStream in = Files.newInputStream(r.resolve("d"))) {
                        return in.read();
                    }
                }),
                c("newInputStream transferTo", r -> {
                    try (InputStream in = Files.newInputStream(r.resolve("f"));
                         OutputStream out = Files.newOutputStream(r.resolve("copy"))) {
                        in.skip(2);
                        return in.transferTo(out);
                    }
                }),
                c("readAllBytes, readString, lines", r -> new String(Files.readAllBytes(r.resolve("f")),
                        StandardCharsets.US_ASCII) + Files.readString(r.resolve("f")) + Files.readAllLines(
                        r.resolve("f"))),
                c("write then mismatch", r -> {
                    Files.write(r.resolve("g"), HELLO.getBytes(StandardCharsets.US_ASCII));
                    return Files.mismatch(r.resolve("f"), r.resolve("g")) + " "
                            + Files.mismatch(r.resolve("f"), r.resolve("d/x"));
                }),
                c("a zip file system in a file of the provider", r -> {
                    Path z = r.resolve("z.zip");
                    try (FileSystem zip = FileSystems.newFileSystem(z, Map.of("create", "true"))) {
                        Files.writeString(zip.getPath("/inside"), "zipped");
                        Files.copy(r.resolve("f"), zip.getPath("/f"));
                    }
                    try (FileSystem zip = FileSystems.newFileSystem(z)) {
                        return Files.readString(zip.getPath("/inside")) + " " + Files.readString(zip.getPath("/f"))
                                + " " + (Files.size(z) > 0);
                    } finally {
                        Files.delete(z);
                    }
                }),
                c("lines, in parallel over a mapped file, and buffered readers and writers", r -> {
                    Path many = r.resolve("many");
                    try (java.io.BufferedWriter w = Files.newBufferedWriter(many)) {
                        for (int k = 0; k < 5000; k++) {
                            w.write("line " + k);
                            w.newLine();
                        }
                    }
                    long sum;
                    try (Stream<String> lines = Files.lines(many).parallel()) {
                        sum = lines.mapToLong(l -> Long.parseLong(l.substring(5))).sum();
                    }
                    String first;
                    try (java.io.BufferedReader in = Files.newBufferedReader(many)) {
                        first = in.readLine();
                    }
                    long size = Files.size(many);
                    Files.delete(many);
                    return sum + " " + first + " " + size;
                }),
                c("a file whose name is not UTF-8, found by listing its directory", r -> {
                    // made by another program (Java cannot spell the name): "caf" and the Latin-1 byte of e-acute
                    Process sh = new ProcessBuilder("sh", "-c", "printf 'latin1' > \"$0/caf$(printf '\\351')\"",
                            r.toString()).inheritIO().start();
                    if (sh.waitFor() != 0) {
                        throw new AssertionError("sh failed");
                    }
                    List<String> all = new ArrayList<>();
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(r, "caf*")) {
                        for (Path p : s) {
                            all.add(p.getFileName().toString());
                            all.add(Files.readString(p) + " " + Files.size(p));
                            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p, READ,
                                    WRITE)) {
                                ch.write(ByteBuffer.wrap("L".getBytes(StandardCharsets.US_ASCII)), 0);
                            }
                            try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(p, READ)) {
                                ByteBuffer b = ByteBuffer.allocate(16);
                                all.add(ch.read(b, 0).get(10, TimeUnit.SECONDS) + " "
                                        + new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII));
                            }
                            try (OutputStream out = Files.newOutputStream(p, APPEND)) {
                                out.write('!');
                            }
                            all.add(Files.readString(p));
                            Files.delete(p);
                        }
                    }
                    return all;
                }),
                c("files of /proc and /sys, whose size says 0 or 4096 whatever they hold", r -> {
                    FileSystem fs = r.getFileSystem();
                    List<String> all = new ArrayList<>();
                    // the same answer from both: lines that do not change between two reads of one process
                    String status = Files.readString(fs.getPath("/proc/self/status"));
                    all.add(String.valueOf(status.lines().filter(l -> l.startsWith("Name:") || l.startsWith("Tgid:"))
                            .toList().equals(Files.readAllLines(Path.of("/proc/self/status")).stream()
                                    .filter(l -> l.startsWith("Name:") || l.startsWith("Tgid:")).toList())));
                    all.add(String.valueOf(Files.readAllBytes(fs.getPath("/proc/self/cmdline")).length > 0));
                    all.add(String.valueOf(Files.size(fs.getPath("/proc/self/cmdline"))));
                    try (SeekableByteChannel ch = Files.newByteChannel(fs.getPath("/proc/self/cmdline"))) {
                        ByteBuffer b = ByteBuffer.allocate(4);
                        all.add(ch.read(b) + " " + ch.position() + " " + ch.size());
                    }
                    try (InputStream in = Files.newInputStream(fs.getPath("/proc/self/cmdline"))) {
                        all.add(String.valueOf(in.available() >= 0) + (in.readAllBytes().length > 0));
                    }
                    Path kernel = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
                    if (Files.isReadable(kernel)) {
                        all.add(Files.readString(fs.getPath(kernel.toString())).equals(Files.readString(kernel)) + "");
                    }
                    all.add(String.valueOf(Files.readString(fs.getPath("/proc/self/mounts")).length() > 0));
                    return all;
                }),
                // ------------------------------------------------ copy, move, delete
                c("copy onto an existing file", r -> Files.copy(r.resolve("f"), r.resolve("d/x"))),
                c("copy REPLACE_EXISTING", r -> Files.copy(r.resolve("f"), r.resolve("d/x"),
                        StandardCopyOption.REPLACE_EXISTING)),
                c("copy ATOMIC_MOVE", r -> Files.copy(r.resolve("f"), r.resolve("g"),
                        StandardCopyOption.ATOMIC_MOVE)),
                c("copy COPY_ATTRIBUTES", r -> Files.copy(r.resolve("f"), r.resolve("g"),
                        StandardCopyOption.COPY_ATTRIBUTES)),
                c("copy onto itself", r -> Files.copy(r.resolve("f"), r.resolve("f"))),
                c("copy a missing file", r -> Files.copy(r.resolve("missing"), r.resolve("g"))),
                c("copy a non-empty directory onto an empty one, replacing", r -> Files.copy(r.resolve("d"),
                        r.resolve("empty"), StandardCopyOption.REPLACE_EXISTING)),
                c("copy an empty directory onto a non-empty one, replacing", r -> Files.copy(r.resolve("empty"),
                        r.resolve("d"), StandardCopyOption.REPLACE_EXISTING)),
                c("copy with a null option", r -> Files.copy(r.resolve("f"), r.resolve("g"),
                        (StandardCopyOption) null)),
                c("copy with an open option", r -> Files.copy(r.resolve("f"), r.resolve("g"),
                        LinkOption.NOFOLLOW_LINKS)),
                c("move ATOMIC_MOVE onto a file", r -> Files.move(r.resolve("f"), r.resolve("d/x"),
                        StandardCopyOption.ATOMIC_MOVE)),
                c("move a directory into itself", r -> Files.move(r.resolve("d"), r.resolve("d/sub"))),
                c("move onto itself", r -> Files.move(r.resolve("f"), r.resolve("f"))),
                c("move the link", r -> Files.move(r.resolve("link"), r.resolve("moved"))),
                c("copy into a stream and from a stream", r -> {
                    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                    long n = Files.copy(r.resolve("f"), out);
                    return n + " " + Files.copy(new java.io.ByteArrayInputStream(out.toByteArray()), r.resolve("g"))
                            + " " + outcome(() -> Files.copy(new java.io.ByteArrayInputStream(new byte[1]),
                            r.resolve("g")));
                }),
                c("delete a non-empty directory", r -> {
                    Files.delete(r.resolve("d"));
                    return "deleted";
                }),
                c("delete a missing file", r -> {
                    Files.delete(r.resolve("missing"));
                    return "deleted";
                }),
                c("deleteIfExists a missing file and a link", r -> Files.deleteIfExists(r.resolve("missing")) + " "
                        + Files.deleteIfExists(r.resolve("link"))),
                // ------------------------------------------------ attributes, access
                c("readAttributes with an empty string", r -> Files.readAttributes(r.resolve("f"), "")),
                c("readAttributes of an unknown view", r -> Files.readAttributes(r.resolve("f"), "nope:*")),
                c("readAttributes of an unknown attribute", r -> Files.readAttributes(r.resolve("f"), "basic:nope")),
                c("readAttributes size,isDirectory", r -> new TreeMap<>(Files.readAttributes(r.resolve("f"),
                        "size,isDirectory,isSymbolicLink"))),
                c("readAttributes of a link, not followed", r -> new TreeMap<>(Files.readAttributes(r.resolve("link"),
                        "isSymbolicLink,isRegularFile", LinkOption.NOFOLLOW_LINKS))),
                c("readAttributes posix of a missing file", r -> Files.readAttributes(r.resolve("missing"),
                        "posix:*")),
                c("setAttribute basic:size", r -> {
                    Files.setAttribute(r.resolve("f"), "basic:size", 1L);
                    return "set";
                }),
                c("setAttribute with the wrong type", r -> {
                    Files.setAttribute(r.resolve("f"), "posix:permissions", "rwx");
                    return "set";
                }),
                c("checkAccess of a missing file", r -> {
                    r.getFileSystem().provider().checkAccess(r.resolve("missing"), AccessMode.READ);
                    return "ok";
                }),
                c("checkAccess with a null mode", r -> {
                    r.getFileSystem().provider().checkAccess(r.resolve("f"), (AccessMode) null);
                    return "ok";
                }),
                c("isReadable, isWritable, isExecutable, exists, notExists", r -> Files.isReadable(r.resolve("f"))
                        + " " + Files.isWritable(r.resolve("missing")) + " " + Files.isExecutable(r.resolve("d"))
                        + " " + Files.exists(r.resolve("dangling")) + " "
                        + Files.exists(r.resolve("dangling"), LinkOption.NOFOLLOW_LINKS) + " "
                        + Files.notExists(r.resolve("missing")) + " " + Files.isHidden(r.resolve("f"))),
                c("isSameFile through a link and a path to nowhere", r -> Files.isSameFile(r.resolve("f"),
                        r.resolve("link")) + " " + Files.isSameFile(r.resolve("missing"), r.resolve("missing"))
                        + " " + outcome(() -> Files.isSameFile(r.resolve("missing"), r.resolve("f")))),
                c("isSameFile with a path of another provider", r -> {
                    try (FileSystem zip = zip(r)) {
                        return Files.isSameFile(r.resolve("f"), zip.getPath("/f"));
                    }
                }),
                c("isSameFile with a null path", r -> Files.isSameFile(r.resolve("f"), null)),
                c("getFileStore of a missing file", r -> Files.getFileStore(r.resolve("missing"))),
                c("getFileAttributeView of DOS and of an unknown view", r -> Files.getFileAttributeView(
                        r.resolve("f"), java.nio.file.attribute.DosFileAttributeView.class).name() + " "
                        + Files.getFileAttributeView(r.resolve("f"), java.nio.file.attribute.FileAttributeView.class)),
                c("symbolic link: create over an existing, read a non-link", r -> outcome(() ->
                        Files.createSymbolicLink(r.resolve("f"), r.resolve("d"))) + " "
                        + outcome(() -> Files.readSymbolicLink(r.resolve("f"))) + " "
                        + Files.readSymbolicLink(Files.createSymbolicLink(r.resolve("rel"), r.getFileSystem()
                        .getPath("d/x")))),
                c("hard link to a directory", r -> Files.createLink(r.resolve("hd"), r.resolve("d"))),
                c("createDirectory over a file, createDirectories through a file", r -> outcome(() ->
                        Files.createDirectory(r.resolve("f"))) + " " + outcome(() ->
                        Files.createDirectories(r.resolve("f/a/b"))) + " " + outcome(() ->
                        Files.createDirectories(r.resolve("link")))),
                // ------------------------------------------------ directory streams
                c("a directory stream on a file", r -> Files.newDirectoryStream(r.resolve("f"))),
                c("a directory stream on a missing directory", r -> Files.newDirectoryStream(r.resolve("nope"))),
                c("a directory stream with a null filter", r -> r.getFileSystem().provider().newDirectoryStream(
                        r.resolve("d"), null)),
                c("a directory stream whose filter throws IOException", r -> {
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(r.resolve("d"), p -> {
                        throw new IOException("filter");
                    })) {
                        return outcome(() -> s.iterator().hasNext());
                    }
                }),
                c("a directory stream whose filter throws a RuntimeException", r -> {
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(r.resolve("d"), p -> {
                        throw new IllegalStateException("filter");
                    })) {
                        return outcome(() -> s.iterator().hasNext());
                    }
                }),
                c("a directory stream: iterator twice, after close, remove", r -> {
                    DirectoryStream<Path> s = Files.newDirectoryStream(r.resolve("d"));
                    var it = s.iterator();
                    String second = outcome(s::iterator);
                    String remove = outcome(() -> {
                        it.next();
                        it.remove();
                        return null;
                    });
                    s.close();
                    return second + " " + remove + " " + it.hasNext() + " " + outcome(it::next) + " "
                            + outcome(s::iterator);
                }),
                c("a directory stream: next past the end", r -> {
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(r.resolve("empty"))) {
                        return outcome(() -> s.iterator().next());
                    }
                }),
                c("a directory stream of a glob and of a bad glob", r -> {
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(r, "[fd]")) {
                        List<String> names = new ArrayList<>();
                        s.forEach(p -> names.add(p.getFileName().toString()));
                        names.sort(null);
                        return names + " " + outcome(() -> Files.newDirectoryStream(r, "[f"));
                    }
                }),
                c("list, walk, find, walkFileTree", r -> {
                    List<String> all = new ArrayList<>();
                    try (Stream<Path> s = Files.list(r)) {
                        all.add(s.map(p -> r.relativize(p).toString()).sorted().toList().toString());
                    }
                    try (Stream<Path> s = Files.walk(r)) {
                        all.add(s.map(p -> r.relativize(p).toString()).sorted().toList().toString());
                    }
                    try (Stream<Path> s = Files.find(r, 5, (p, a) -> a.isRegularFile())) {
                        all.add(s.map(p -> r.relativize(p).toString()).sorted().toList().toString());
                    }
                    all.add(outcome(() -> {
                        try (Stream<Path> s = Files.list(r.resolve("f"))) {
                            return s.count();
                        }
                    }));
                    return all;
                }),
                c("a directory stream's entries resolve against the directory", r -> {
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(r.resolve("d"))) {
                        Path x = s.iterator().next();
                        return x.equals(r.resolve("d/x")) + " " + x.getParent().equals(r.resolve("d")) + " "
                                + (x.getFileSystem() == r.getFileSystem()) + " " + x.startsWith(r) + " "
                                + (x.compareTo(r.resolve("d/x")) == 0) + " " + (x.hashCode() == r.resolve("d/x")
                                .hashCode());
                    }
                }),
                c("a secure directory stream: a recursive delete relative to the open directory", r -> {
                    Files.createDirectories(r.resolve("d/sub/deeper"));
                    Files.writeString(r.resolve("d/sub/y"), "y");
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(r)) {
                        if (!(s instanceof SecureDirectoryStream<Path> secure)) {
                            return "not secure";
                        }
                        deleteRecursively(secure, r.getFileSystem().getPath("d"));
                        return "deleted " + Files.exists(r.resolve("d"));
                    }
                }),
                c("a secure directory stream: every call, then after close", r -> {
                    DirectoryStream<Path> s = Files.newDirectoryStream(r);
                    if (!(s instanceof SecureDirectoryStream<Path> secure)) {
                        s.close();
                        return "not secure";
                    }
                    FileSystem fs = r.getFileSystem();
                    List<String> all = new ArrayList<>();
                    try (SecureDirectoryStream<Path> d = secure.newDirectoryStream(fs.getPath("d"));
                         SecureDirectoryStream<Path> empty = secure.newDirectoryStream(fs.getPath("empty"))) {
                        List<String> names = new ArrayList<>();
                        d.forEach(p -> names.add(p + " " + (p.getFileSystem() == fs)));
                        all.add(names.toString());
                        try (SeekableByteChannel ch = d.newByteChannel(fs.getPath("x"), Set.of(READ))) {
                            all.add("x size " + ch.size());
                        }
                        all.add(outcome(() -> secure.newByteChannel(fs.getPath("f"), Set.of(READ), hidden())));
                        d.move(fs.getPath("x"), empty, fs.getPath("moved"));
                        all.add(outcome(() -> {
                            secure.move(fs.getPath("f"), null, fs.getPath("g"));
                            return "moved";
                        }));
                        all.add(String.valueOf(empty.getFileAttributeView(fs.getPath("moved"),
                                BasicFileAttributeView.class).readAttributes().size()));
                        all.add(String.valueOf(d.getFileAttributeView(BasicFileAttributeView.class).readAttributes()
                                .isDirectory()));
                        all.add(outcome(() -> {
                            secure.deleteDirectory(fs.getPath("empty"));
                            return "deleted";
                        }));
                        all.add(outcome(() -> {
                            secure.deleteFile(fs.getPath("d"));
                            return "deleted";
                        }));
                        all.add(outcome(() -> secure.newDirectoryStream(fs.getPath("f"))));
                        all.add(outcome(() -> secure.newDirectoryStream(fs.getPath("link"), LinkOption.NOFOLLOW_LINKS)));
                        all.add(outcome(() -> secure.newDirectoryStream(null)));
                        try (FileSystem zip = zip(r)) {
                            all.add(outcome(() -> {
                                secure.deleteFile(zip.getPath("f"));
                                return "deleted";
                            }));
                        }
                        d.deleteDirectory(fs.getPath(""));
                    } catch (IOException e) {
                        all.add("! " + e.getClass().getName());
                    }
                    secure.close();
                    all.add(outcome(() -> secure.newByteChannel(fs.getPath("f"), Set.of(READ))));
                    all.add(outcome(() -> {
                        secure.deleteFile(fs.getPath("f"));
                        return "deleted";
                    }));
                    return all;
                }),
                // ------------------------------------------------ paths
                c("path algebra", r -> {
                    FileSystem fs = r.getFileSystem();
                    Path rel = fs.getPath("a/../b/./c");
                    List<String> all = new ArrayList<>();
                    all.add(rel.normalize().toString());
                    all.add(String.valueOf(rel.isAbsolute()));
                    all.add(String.valueOf(rel.getRoot()));
                    all.add(String.valueOf(fs.getPath("").getFileName()));
                    all.add(String.valueOf(fs.getPath("").getNameCount()));
                    all.add(String.valueOf(fs.getPath("/").getFileName()));
                    all.add(String.valueOf(fs.getPath("/").getParent()));
                    all.add(outcome(() -> rel.getName(5)));
                    all.add(outcome(() -> rel.subpath(2, 1)));
                    all.add(outcome(() -> r.relativize(rel)));
                    all.add(outcome(() -> rel.relativize(fs.getPath("a/x"))));
                    all.add(outcome(() -> fs.getPath("a").relativize(fs.getPath(""))));
                    all.add(outcome(() -> fs.getPath("").relativize(fs.getPath("a"))));
                    all.add(String.valueOf(rel.startsWith("a/..")) + rel.startsWith("") + rel.endsWith("c")
                            + rel.endsWith("/c") + rel.startsWith(fs.getPath("a")));
                    all.add(outcome(() -> fs.getPath("a\0b")));
                    all.add(String.valueOf(rel.resolve("/abs")));
                    all.add(String.valueOf(rel.resolve("")));
                    all.add(String.valueOf(fs.getPath("").resolve("x")));
                    all.add(String.valueOf(rel.resolveSibling("z")));
                    all.add(String.valueOf(fs.getPath("a").resolveSibling("z")));
                    all.add(String.valueOf(fs.getPath("a//b/", "c", "", "/d")));
                    List<String> names = new ArrayList<>();
                    rel.forEach(p -> names.add(p.toString() + "@" + p.getFileSystem().getClass().getSimpleName()
                            .replace("Uring", "").replace("Linux", "")));
                    all.add(names.toString());
                    all.add(String.valueOf(fs.getPath("b").compareTo(fs.getPath("a"))));
                    all.add(String.valueOf(rel.equals(rel.toString())));
                    all.add(String.valueOf(fs.getPath("x").equals(fs.getPath("x/"))));
                    all.add(String.valueOf(fs.getPath("x").hashCode() == fs.getPath("x/").hashCode()));
                    all.add(outcome(() -> fs.getPath(null)));
                    all.add(outcome(() -> rel.resolve((Path) null)));
                    all.add(outcome(() -> rel.startsWith((Path) null)));
                    all.add(outcome(() -> rel.compareTo(null)));
                    all.add(String.valueOf(fs.getPath("a/b").resolve(fs.getPath("c"), fs.getPath("d"))));
                    return all;
                }),
                c("paths against another provider's", r -> {
                    try (FileSystem zip = zip(r)) {
                        Path z = zip.getPath("/f");
                        Path p = r.resolve("f");
                        return List.of(outcome(() -> p.resolve(z)), outcome(() -> p.relativize(z)),
                                outcome(() -> p.startsWith(z)), outcome(() -> p.endsWith(z)),
                                outcome(() -> p.equals(z)), outcome(() -> p.compareTo(z)),
                                outcome(() -> p.resolveSibling(z)), outcome(() -> Files.copy(z, p)),
                                outcome(() -> Files.isSameFile(z, p)), outcome(() -> Files.move(p, z,
                                        StandardCopyOption.ATOMIC_MOVE)),
                                outcome(() -> Files.createSymbolicLink(r.resolve("zl"), z)));
                    }
                }),
                c("toUri, toRealPath, toAbsolutePath, toFile and back", r -> {
                    FileSystem fs = r.getFileSystem();
                    List<String> all = new ArrayList<>();
                    all.add(r.resolve("d").toUri().toString());
                    all.add(r.resolve("f").toUri().toString());
                    all.add(r.resolve("missing dir/").toUri().toString());
                    all.add(String.valueOf(fs.provider().getPath(r.resolve("d").toUri()).equals(r.resolve("d"))));
                    all.add(outcome(() -> fs.provider().getPath(URI.create("file:///a?q"))));
                    all.add(outcome(() -> fs.provider().getPath(URI.create("file:/a#frag"))));
                    all.add(outcome(() -> fs.provider().getPath(URI.create("http://host/a"))));
                    all.add(outcome(() -> fs.provider().getPath(URI.create("file://host/a"))));
                    all.add(outcome(() -> fs.provider().getPath(URI.create("a/relative"))));
                    all.add(outcome(() -> fs.provider().getFileSystem(URI.create("file:///d"))));
                    all.add(outcome(() -> fs.provider().getFileSystem(URI.create("file:///")) == fs));
                    all.add(outcome(() -> fs.provider().newFileSystem(URI.create("file:///"), Map.of())));
                    all.add(outcome(() -> fs.provider().newFileSystem(r.resolve("f"), Map.of())));
                    all.add(outcome(() -> r.resolve("link").toRealPath().equals(r.resolve("f").toRealPath())));
                    all.add(outcome(() -> r.resolve("link").toRealPath(LinkOption.NOFOLLOW_LINKS)
                            .equals(r.resolve("link"))));
                    all.add(outcome(() -> r.resolve("missing").toRealPath()));
                    all.add(outcome(() -> r.resolve("d/../f").toRealPath().equals(r.resolve("f"))));
                    all.add(String.valueOf(r.resolve("f").toFile().equals(r.resolve("f").toFile().toPath().toFile())));
                    all.add(String.valueOf(fs.getPath("rel").toAbsolutePath().isAbsolute()));
                    all.add(String.valueOf(fs.getPath("rel").toUri().toString().endsWith("/rel")));
                    return all;
                }),
                c("the file system's own calls", r -> {
                    FileSystem fs = r.getFileSystem();
                    List<String> all = new ArrayList<>();
                    all.add(outcome(() -> {
                        fs.close();
                        return "closed";
                    }));
                    all.add(fs.isOpen() + " " + fs.isReadOnly() + " " + fs.getSeparator() + " "
                            + fs.supportedFileAttributeViews().stream().sorted().toList());
                    List<String> roots = new ArrayList<>();
                    fs.getRootDirectories().forEach(p -> roots.add(p + " " + (p.getFileSystem() == fs)));
                    all.add(roots.toString());
                    all.add(outcome(() -> fs.getPathMatcher("glob:**/f").matches(r.resolve("f"))));
                    all.add(outcome(() -> fs.getPathMatcher("regex:.*/d/x").matches(r.resolve("d/x"))));
                    all.add(outcome(() -> fs.getPathMatcher("nope:x")));
                    all.add(outcome(() -> fs.getPathMatcher("noColon")));
                    all.add(outcome(() -> fs.getPathMatcher("glob:{a")));
                    all.add(outcome(() -> fs.getUserPrincipalLookupService().lookupPrincipalByName("root")
                            .getName()));
                    all.add(outcome(() -> fs.getUserPrincipalLookupService()
                            .lookupPrincipalByName("no-such-user-here")));
                    all.add(outcome(() -> fs.getFileStores().iterator().hasNext()));
                    all.add(outcome(() -> fs.provider().getScheme()));
                    return all;
                }),
                // ------------------------------------------------ watch service
                c("watch: register a file, nothing, null, twice, then cancel", r -> {
                    try (WatchService ws = r.getFileSystem().newWatchService()) {
                        List<String> all = new ArrayList<>();
                        all.add(outcome(() -> r.resolve("f").register(ws, StandardWatchEventKinds.ENTRY_CREATE)));
                        all.add(outcome(() -> r.resolve("missing").register(ws,
                                StandardWatchEventKinds.ENTRY_CREATE)));
                        all.add(outcome(() -> r.resolve("d").register(ws)));
                        all.add(outcome(() -> r.resolve("d").register(ws, (WatchEvent.Kind<?>) null)));
                        all.add(outcome(() -> r.resolve("d").register(null, StandardWatchEventKinds.ENTRY_CREATE)));
                        all.add(outcome(() -> r.resolve("d").register(ws, StandardWatchEventKinds.OVERFLOW)));
                        WatchKey a = r.resolve("d").register(ws, StandardWatchEventKinds.ENTRY_CREATE);
                        WatchKey b = r.resolve("d").register(ws, StandardWatchEventKinds.ENTRY_DELETE);
                        all.add((a == b) + " " + a.equals(b) + " " + a.watchable().equals(r.resolve("d")) + " "
                                + a.isValid());
                        a.cancel();
                        a.cancel();
                        all.add(a.isValid() + " " + b.isValid() + " " + a.reset() + " " + ws.poll());
                        WatchKey c2 = r.resolve("d").register(ws, StandardWatchEventKinds.ENTRY_CREATE);
                        all.add((c2 == a) + " " + c2.isValid());
                        all.add(outcome(() -> ws.poll(-1, TimeUnit.SECONDS)));
                        all.add(outcome(() -> ws.poll(0, null)));
                        all.add(outcome(() -> ws.poll(Long.MIN_VALUE, TimeUnit.NANOSECONDS)));
                        return all;
                    }
                }),
                c("watch: events name paths of the same file system", r -> {
                    try (WatchService ws = r.getFileSystem().newWatchService()) {
                        WatchKey k = r.resolve("empty").register(ws, StandardWatchEventKinds.ENTRY_CREATE);
                        Files.createFile(r.resolve("empty/n"));
                        WatchKey got = ws.poll(10, TimeUnit.SECONDS);
                        List<String> all = new ArrayList<>();
                        all.add(String.valueOf(got == k));
                        for (WatchEvent<?> e : got.pollEvents()) {
                            Path ctx = (Path) e.context();
                            all.add(e.kind() + " " + e.count() + " " + ctx + " " + ctx.isAbsolute() + " "
                                    + (ctx.getFileSystem() == r.getFileSystem()) + " "
                                    + Files.exists(((Path) got.watchable()).resolve(ctx)));
                        }
                        all.add(got.pollEvents().toString());
                        all.add(String.valueOf(got.reset()) + got.reset());
                        return all;
                    }
                }),
                c("watch: a key signalled, then cancelled, is still the registered key when polled", r -> {
                    try (WatchService ws = r.getFileSystem().newWatchService()) {
                        WatchKey k = r.resolve("empty").register(ws, StandardWatchEventKinds.ENTRY_CREATE);
                        Map<WatchKey, String> names = new java.util.HashMap<>();
                        names.put(k, "empty");
                        Files.createFile(r.resolve("empty/n"));
                        // a key with events is signalled, and queued until polled and reset
                        List<WatchEvent<?>> events = List.of();
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                        while (events.isEmpty() && System.nanoTime() < deadline) {
                            events = k.pollEvents();
                            Thread.onSpinWait();
                        }
                        k.cancel();
                        WatchKey got = ws.poll(10, TimeUnit.SECONDS);
                        return events.size() + " " + (got == k) + " " + k.equals(got) + " " + names.get(got) + " "
                                + (got == null ? "-" : got.isValid() + " " + got.reset());
                    }
                }),
                c("watch: every call after close", r -> {
                    WatchService ws = r.getFileSystem().newWatchService();
                    WatchKey k = r.resolve("d").register(ws, StandardWatchEventKinds.ENTRY_CREATE);
                    ws.close();
                    ws.close();
                    return List.of(String.valueOf(k.isValid()), String.valueOf(k.reset()),
                            outcome(ws::poll), outcome(() -> ws.poll(1, TimeUnit.SECONDS)), outcome(ws::take),
                            outcome(() -> r.resolve("d").register(ws, StandardWatchEventKinds.ENTRY_CREATE)),
                            outcome(k::pollEvents));
                }),
                c("watch: close while a thread waits in take", r -> {
                    WatchService ws = r.getFileSystem().newWatchService();
                    r.resolve("d").register(ws, StandardWatchEventKinds.ENTRY_CREATE);
                    CompletableFuture<String> taken = new CompletableFuture<>();
                    Thread t = Thread.ofPlatform().start(() -> taken.complete(outcome(ws::take)));
                    while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING
                            && !taken.isDone()) {
                        Thread.onSpinWait();
                    }
                    ws.close();
                    return taken.get(10, TimeUnit.SECONDS);
                }),
                c("watch: an interrupted take", r -> {
                    try (WatchService ws = r.getFileSystem().newWatchService()) {
                        Thread.currentThread().interrupt();
                        return outcome(ws::take) + " " + Thread.interrupted();
                    }
                })
        );
    }

    /** A recursive delete as a careful library does it: every call relative to an open directory. */
    private static void deleteRecursively(SecureDirectoryStream<Path> parent, Path name) throws IOException {
        BasicFileAttributes a = parent.getFileAttributeView(name, BasicFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS).readAttributes();
        if (a.isDirectory()) {
            try (SecureDirectoryStream<Path> child = parent.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
                for (Path entry : child) {
                    deleteRecursively(child, entry.getFileName());
                }
            }
            parent.deleteDirectory(name);
        } else {
            parent.deleteFile(name);
        }
    }

    /** A failed call as its exception's type, reason and file (a FileSystemException's), or its value. */
    private static String failure(NioHostileTest.Call call) {
        try {
            return "= " + call.call();
        } catch (java.nio.file.FileSystemException e) {
            return "! " + e.getClass().getName() + " reason=" + e.getReason() + " file=" + e.getFile();
        } catch (Throwable t) {
            return "! " + t;
        }
    }

    /** A zip file system next to the root (another provider's paths). */
    private static FileSystem zip(Path root) throws IOException {
        Path z = Path.of(root.toString() + ".zip");
        Files.deleteIfExists(z);
        FileSystem fs = FileSystems.newFileSystem(z, Map.of("create", "true"));
        Files.writeString(fs.getPath("/f"), "in the zip");
        return fs;
    }

    /** "= value" or "! ExceptionType" (NioHostileTest's), values of other types than strings shown by kind. */
    static String outcome(NioHostileTest.Call call) {
        return NioHostileTest.outcome(() -> {
            Object v = call.call();
            if (v instanceof AutoCloseable c && !(v instanceof FileSystem && v == FileSystems.getDefault())) {
                String kind = "a " + kindOf(v);
                if (!(v instanceof FileSystem)) {
                    c.close();
                }
                return kind;
            }
            if (v instanceof WatchKey k) {
                return "a key valid=" + k.isValid();
            }
            if (v instanceof FileSystem fs) {
                return "a file system of " + fs.provider().getScheme();
            }
            if (v instanceof java.nio.file.FileStore s) {
                return "a store " + s.type();
            }
            return v;
        });
    }

    private static String kindOf(Object v) {
        for (Class<?> c : List.of(SeekableByteChannel.class, AsynchronousFileChannel.class, InputStream.class,
                OutputStream.class, SecureDirectoryStream.class, DirectoryStream.class, WatchService.class)) {
            if (c.isInstance(v)) {
                return c.getSimpleName();
            }
        }
        return "closeable";
    }

    /** Every entry under {@code root}: its name, kind and (for a file) content. */
    private static String state(Path root) throws IOException {
        List<String> entries = new ArrayList<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted().toList()) {
                String name = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    entries.add(name + " -> " + root.relativize(root.resolve(Files.readSymbolicLink(p))));
                } else if (Files.isDirectory(p)) {
                    entries.add(name + "/");
                } else {
                    entries.add(name + " = " + Files.readString(p, StandardCharsets.ISO_8859_1) + " "
                            + PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
                }
            }
        }
        return String.join("\n", entries);
    }

    private String observe(String impl, Scenario scenario) throws Exception {
        Path jdkRoot = Files.createDirectory(dir.resolve(impl));
        Files.writeString(jdkRoot.resolve("f"), HELLO);
        Files.createDirectory(jdkRoot.resolve("d"));
        Files.writeString(jdkRoot.resolve("d/x"), "x");
        Files.createDirectory(jdkRoot.resolve("empty"));
        Files.createSymbolicLink(jdkRoot.resolve("link"), jdkRoot.resolve("f"));
        Files.createSymbolicLink(jdkRoot.resolve("dangling"), jdkRoot.resolve("nowhere"));
        Path root = impl.equals("JDK") ? jdkRoot : UringFiles.path(jdkRoot);
        String result = outcome(() -> scenario.run(root));
        boolean interrupted = Thread.interrupted();
        String masked = result.replace(jdkRoot.toString(), "ROOT");
        return masked + "\ninterrupted=" + interrupted + "\n" + state(jdkRoot).replace(jdkRoot.toString(), "ROOT");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void filesCallsBehaveAsTheJdks(String name, Scenario scenario) throws Exception {
        String jdk = observe("JDK", scenario);
        String uring = observe("URING", scenario);
        assertEquals(jdk, uring, name);
    }
}
