package io.uringaio.nio;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The child of {@link VirtualThreadBlockingTest}, run with one carrier thread and no compensation: readers wait on
 * FIFOs in {@link UringFileChannel} calls; prints "OK" when every reader ran and got its byte, else what went wrong.
 */
public final class PinningProbeMain {
    private PinningProbeMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int readers = 4;
        List<Path> fifos = new ArrayList<>();
        for (int i = 0; i < readers; i++) {
            Path fifo = dir.resolve("fifo" + i);
            Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
            if (mkfifo.waitFor() != 0) {
                throw new IllegalStateException("mkfifo failed");
            }
            fifos.add(fifo);
        }
        // Start the engine first, so the readers block only in reads.
        UringFiles.backend();
        CountDownLatch reading = new CountDownLatch(readers);
        AtomicIntegerArray got = new AtomicIntegerArray(readers);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < readers; i++) {
            int index = i;
            threads.add(Thread.ofVirtual().start(() -> {
                // Straight to UringFileChannel: the provider gives FIFOs the JDK's channel.
                UringFileSystemProvider provider = UringFileSystemProvider.instance();
                try (FileChannel ch = UringFileChannel.open(SharedEngine.get(), provider.jdkProvider(),
                        fifos.get(index), OpenSpec.of(java.util.Set.of(StandardOpenOption.READ), true))) {
                    reading.countDown();
                    ByteBuffer b = ByteBuffer.allocate(1);
                    got.set(index, ch.read(b) == 1 ? b.get(0) : -1);
                } catch (Exception e) {
                    got.set(index, -2);
                }
            }));
        }
        // With one carrier, a reader that pinned it while blocked would keep every later reader from starting.
        if (!reading.await(10, TimeUnit.SECONDS)) {
            System.out.println("STARVED " + reading.getCount() + " of " + readers + " readers never ran");
            System.out.flush();
            Runtime.getRuntime().halt(0);
        }
        for (int i = 0; i < readers; i++) {
            try (FileChannel w = FileChannel.open(fifos.get(i), StandardOpenOption.WRITE)) {
                w.write(ByteBuffer.wrap(new byte[] {(byte) (i + 1)}));
            }
        }
        for (Thread t : threads) {
            if (!t.join(java.time.Duration.ofSeconds(10))) {
                System.out.println("HUNG reader " + t);
                System.out.flush();
                Runtime.getRuntime().halt(0);
            }
        }
        for (int i = 0; i < readers; i++) {
            if (got.get(i) != i + 1) {
                System.out.println("WRONG reader " + i + " got " + got.get(i));
                System.out.flush();
                Runtime.getRuntime().halt(0);
            }
        }
        System.out.println("OK");
    }
}
