package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AppendLog#open} creates a missing log directory, with any missing ancestors: each created directory's entry
 * is made durable ({@code fsync} of its parent), from the top down. Only the log directory's own parent was synced,
 * so after a power loss the entry of a created ancestor could be gone, and with it the directory holding the
 * acknowledged records.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogDirectoryCreationTest {
    @TempDir
    Path root;

    @Test
    void everyCreatedDirectorysEntryIsSyncedTopDown() throws Exception {
        Path log = root.resolve("a").resolve("b").resolve("wal");
        List<Path> synced = new ArrayList<>();
        LogSegment.createDirectories(log, synced::add);
        assertTrue(Files.isDirectory(log));
        assertEquals(List.of(root, root.resolve("a"), root.resolve("a").resolve("b")), synced);
    }

    @Test
    void anExistingDirectoryIsNotSyncedAgainAndAPartlyExistingPathOnlyForWhatWasCreated() throws Exception {
        List<Path> synced = new ArrayList<>();
        LogSegment.createDirectories(root, synced::add);
        assertEquals(List.of(), synced);
        Files.createDirectories(root.resolve("x"));
        LogSegment.createDirectories(root.resolve("x").resolve("y"), synced::add);
        assertEquals(List.of(root.resolve("x")), synced);
    }
}
