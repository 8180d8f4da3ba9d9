package io.uringaio.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * The four library modules used the way a module-path application uses them: a small user module
 * ({@code src/test/modules/io.uringaio.it.modcheck}) that {@code requires} the facade, the storage module and the nio
 * module is compiled against them and run with {@code --module-path} (our modules and Netty's, nothing else) and the
 * flags their {@code module-info} javadoc documents. It opens an engine, writes and reads a file (through io_uring
 * where the machine allows it), reads it with {@code aio_read}, appends to a log and reads through the nio channel.
 * A second module that imports the engine's internal libc binding must not compile.
 *
 * <p>The project's own test suites run on the class path or on Surefire's patched module path; this is the check that
 * the published module descriptors are enough on their own.
 */
class ModulePathTest {
    private static final Path SOURCES = Path.of(System.getProperty("uringaio.it.root", ".."),
            "integration-tests", "src", "test", "modules");
    /** The flags the engine's module javadoc tells module-path users to pass. */
    private static final String NATIVE_ACCESS =
            "--enable-native-access=io.uringaio.engine,io.uringaio.storage,io.netty.common";

    private static String modulePath;
    private static String nettyNativeModule;

    @BeforeAll
    static void findModules() {
        List<String> entries = new ArrayList<>();
        String nativeModule = null;
        for (String entry : testClassPath()) {
            Path p = Path.of(entry);
            if (!Files.exists(p)) {
                continue;
            }
            Optional<String> name = ModuleFinder.of(p).findAll().stream().findFirst()
                    .map(ModuleReference::descriptor).map(d -> d.name());
            if (name.isEmpty() || !(name.get().startsWith("io.uringaio.") || name.get().startsWith("io.netty."))) {
                continue;
            }
            entries.add(entry);
            if (name.get().startsWith("io.netty.transport.io_uring.")) {
                nativeModule = name.get();
            }
        }
        modulePath = String.join(File.pathSeparator, entries);
        nettyNativeModule = nativeModule;
        for (String m : List.of("io.uringaio.engine", "io.uringaio.posix", "io.uringaio.storage", "io.uringaio.nio")) {
            assertTrue(ModuleFinder.of(entries.stream().map(Path::of).toArray(Path[]::new)).find(m).isPresent(),
                    () -> m + " is not a module on the test class path: " + modulePath);
        }
        assertTrue(nettyNativeModule != null, () -> "no Netty io_uring native jar among " + modulePath);
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aUserModuleRunsTheLibrariesFromTheModulePath(@TempDir Path tmp) throws Exception {
        Path classes = tmp.resolve("classes");
        Compilation compiled = compile("io.uringaio.it.modcheck", classes);
        assertEquals(0, compiled.status, () -> "the user module does not compile:\n" + compiled.output);

        Path scratch = Files.createDirectories(tmp.resolve("scratch"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(java.toString(), NATIVE_ACCESS,
                "--add-modules", nettyNativeModule,
                "--module-path", modulePath + File.pathSeparator + classes,
                "-m", "io.uringaio.it.modcheck/io.uringaio.it.modcheck.Main", scratch.toString())
                .redirectErrorStream(false).start();
        process.getOutputStream().close();
        var stderr = new java.util.concurrent.CompletableFuture<String>();
        Thread errReader = Thread.ofPlatform().daemon().start(() -> {
            try {
                stderr.complete(new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                stderr.completeExceptionally(e);
            }
        });
        String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(2, TimeUnit.MINUTES), "the module-path program did not exit");
        errReader.join();
        String err = stderr.join();
        String all = stdout + "\n--- stderr:\n" + err;

        assertEquals(0, process.exitValue(), () -> "the module-path program failed:\n" + all);
        for (String m : List.of("io.uringaio.engine", "io.uringaio.posix", "io.uringaio.storage", "io.uringaio.nio")) {
            assertTrue(stdout.contains("MODULE " + m + " " + m), () -> m + " is not a named module there:\n" + all);
        }
        assertTrue(stdout.contains("INTERNAL-EXPORTED-TO-US false"), () -> "the internal package is exported:\n" + all);
        assertTrue(stdout.contains("ENGINE read back") && stdout.contains("POSIX aio_read")
                && stdout.contains("STORAGE appended") && stdout.contains("NIO "), () -> all);
        assertTrue(stdout.lines().anyMatch(l -> l.startsWith("OK ")), () -> all);
        // The documented flags are all a module-path user needs: no restricted-method warning, no unknown module.
        assertFalse(err.contains("restricted method"),
                () -> "native access missing from the documented flags:\n" + all);
        assertFalse(err.contains("Unknown module"), () -> all);

        assumeTrue(IoUring.isAvailable(), () -> "io_uring unavailable here (" + IoUring.unavailabilityCause()
                + "): the module-path run used the thread pool, so Netty's native library from the module path is"
                + " not checked");
        assertTrue(stdout.contains("BACKEND IO_URING"),
                () -> "io_uring works on the class path but not from the module path:\n" + all);
        assertTrue(stdout.contains("OK io_uring"), () -> all);
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void aModuleCannotReachTheEnginesInternalLibc(@TempDir Path tmp) {
        Compilation compiled = compile("io.uringaio.it.modintruder", tmp.resolve("classes"));
        assertNotEquals(0, compiled.status, "a module compiled against io.uringaio.engine.internal.sys");
        assertTrue(compiled.output.contains("io.uringaio.engine.internal.sys")
                && compiled.output.contains("does not export it"), compiled.output);
    }

    private record Compilation(int status, String output) {
    }

    /** Compiles the module {@code name} from {@link #SOURCES} against {@link #modulePath} into {@code out}. */
    private static Compilation compile(String name, Path out) {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        // An explicit, empty class path: in-process javac would otherwise take this JVM's (the whole test class path)
        // and find the libraries' packages in the unnamed module as well.
        List<String> args = new ArrayList<>(List.of("-d", out.toString(), "--module-path", modulePath,
                "--class-path", out.toString(), "-Xlint:-options"));
        try (Stream<Path> files = Files.walk(SOURCES.resolve(name))) {
            Files.createDirectories(out);
            files.filter(f -> f.toString().endsWith(".java")).forEach(f -> args.add(f.toString()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        PrintStream stream = new PrintStream(output, true, StandardCharsets.UTF_8);
        int status = javac.run(null, stream, stream, args.toArray(String[]::new));
        return new Compilation(status, output.toString(StandardCharsets.UTF_8));
    }

    /** The test class path: Surefire's own record of it, as the JVM's may be a manifest-only jar. */
    private static List<String> testClassPath() {
        String path = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return List.of(path.split(File.pathSeparator));
    }
}
