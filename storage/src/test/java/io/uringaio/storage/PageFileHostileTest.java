package io.uringaio.storage;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.UringIOException;
import io.uringaio.engine.uapi.ErrnoTable;

import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PageFile against a hostile caller: a directory where a page file should be is refused as one (EISDIR), not with the
 * EINVAL that {@code O_DIRECT} gives a directory and that the javadoc, and the tests' skips, read as "no
 * {@code O_DIRECT} on this file system".
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PageFileHostileTest extends WithEngine {
    private static final int PAGE = 4096;

    @Test
    void aDirectoryIsRefusedAsOneAndLeftAsItWas() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("folder"));
        Files.writeString(folder.resolve("inside"), "bystander");
        long submitted = engine.stats().submitted();
        for (OpenOption[] options : List.of(new OpenOption[] {READ}, new OpenOption[] {READ, WRITE},
                new OpenOption[] {READ, WRITE, CREATE})) {
            UringIOException e = assertThrows(UringIOException.class,
                    () -> PageFile.open(engine, folder, PAGE, options));
            assertEquals(ErrnoTable.EISDIR, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains(folder.toString()), e.getMessage());
        }
        assertEquals(submitted, engine.stats().submitted(), "nothing reached the engine");
        try (Stream<Path> entries = Files.list(folder)) {
            assertEquals(List.of(folder.resolve("inside")), entries.toList());
        }
        assertEquals("bystander", Files.readString(folder.resolve("inside")));
    }
}
