package io.uringaio.nio;

import java.io.IOException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;

/**
 * A lock taken through a channel's companion JDK channel (a real POSIX record lock, seen by other processes),
 * reported as a lock of the uring channel that asked for it: {@link #acquiredBy()} is that channel, and the lock is
 * valid only while both the companion's lock is and that channel is open.
 */
final class CompanionLock extends FileLock {
    private final FileLock lock;

    CompanionLock(FileChannel channel, FileLock lock) {
        super(channel, lock.position(), lock.size(), lock.isShared());
        this.lock = lock;
    }

    CompanionLock(AsynchronousFileChannel channel, FileLock lock) {
        super(channel, lock.position(), lock.size(), lock.isShared());
        this.lock = lock;
    }

    @Override
    public boolean isValid() {
        return lock.isValid() && acquiredBy().isOpen();
    }

    /** Releases the companion's lock; on a closed channel a {@link ClosedChannelException}, as the JDK's. */
    @Override
    public void release() throws IOException {
        if (!acquiredBy().isOpen()) {
            throw new ClosedChannelException();
        }
        lock.release();
    }
}
