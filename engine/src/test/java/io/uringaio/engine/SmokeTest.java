package io.uringaio.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SmokeTest {
    @TempDir
    Path dir;

    @Test
    void writeReadBack() throws Exception {
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(2))) {
            AsyncFile f = engine.open(dir.resolve("a"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.READ).get(5, TimeUnit.SECONDS);
            ByteBuffer src = ByteBuffer.allocateDirect(8192);
            for (int i = 0; i < 8192; i++) src.put((byte) i);
            src.flip();
            assertEquals(8192, f.write(src, 4096).get(5, TimeUnit.SECONDS));
            f.fdatasync().get(5, TimeUnit.SECONDS);
            assertEquals(12288L, f.size().get(5, TimeUnit.SECONDS));
            ByteBuffer dst = ByteBuffer.allocate(8192);
            assertEquals(8192, f.read(dst, 4096).get(5, TimeUnit.SECONDS));
            dst.flip();
            for (int i = 0; i < 8192; i++) assertEquals((byte) i, dst.get(i));
            System.out.println(engine.stats());
            f.close();
        }
    }
}
