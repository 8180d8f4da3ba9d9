package io.uringaio.nio.installed;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import io.uringaio.nio.UringFileChannel;
import io.uringaio.nio.UringFileSystemProvider;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.NIOFSDirectory;
import org.apache.lucene.tests.mockfile.FilterPath;
import org.apache.lucene.tests.store.BaseDirectoryTestCase;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;

/**
 * Lucene's own directory test suite on {@link NIOFSDirectory}, with the uring provider installed as the JVM's
 * default: Lucene's mock file systems wrap it, and every {@code FileChannel} NIOFSDirectory opens is a
 * {@code UringFileChannel}.
 */
@ThreadLeakFilters(defaultFilters = true, filters = EngineThreadsFilter.class)
public class TestNIOFSDirectoryOnUring extends BaseDirectoryTestCase {
    @Override
    protected Directory getDirectory(Path path) throws IOException {
        assertTrue("the uring provider must be the default",
                FileSystems.getDefault().provider() instanceof UringFileSystemProvider);
        Path bottom = FilterPath.unwrap(path);
        assertTrue("Lucene's mock file systems must sit on the uring provider: " + bottom.getFileSystem(),
                bottom.getFileSystem().provider() instanceof UringFileSystemProvider);
        if (!java.nio.file.Files.isDirectory(bottom)) {
            return new NIOFSDirectory(path); // testNoDir: the directory must not be created here
        }
        try (FileChannel probe = FileChannel.open(bottom.resolve("uring-probe"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE)) {
            assertTrue("a channel of the engine: " + probe, probe instanceof UringFileChannel);
        }
        return new NIOFSDirectory(path);
    }
}
