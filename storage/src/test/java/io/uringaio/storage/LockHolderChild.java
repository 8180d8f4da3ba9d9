package io.uringaio.storage;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The process {@link AppendLogLockTest} runs: opens the log in {@code args[0]}, appends one record, prints
 * {@code locked <pid>}, and holds the log open until its stdin ends (the test closes it), then closes the log and
 * prints {@code closed}.
 */
public final class LockHolderChild {
    private LockHolderChild() {
    }

    public static void main(String[] args) throws Exception {
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(1).ringSize(256));
             AppendLog log = AppendLog.open(engine, Path.of(args[0]))) {
            log.append(ByteBuffer.wrap(new byte[] {1, 2, 3})).join();
            System.out.println("locked " + ProcessHandle.current().pid());
            System.out.flush();
            while (System.in.read() >= 0) {
                // hold the log until the parent closes our stdin
            }
        }
        System.out.println("closed");
        System.out.flush();
    }
}
