package io.uringaio.nio;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.Watchable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The JDK's watch service seen through the uring file system: its keys watch wrapped directories and its events name
 * wrapped paths, so {@code dir.resolve((Path) event.context())} works as on the JDK's file system (an unwrapped name
 * there would be a foreign path: ProviderMismatchException). A key is the same object from register, poll and take.
 */
final class UringWatchService implements WatchService {
    private final WatchService delegate;
    private final UringFileSystem fs;
    /** One wrapper per delegate key, so identity holds between register and poll/take. */
    private final Map<WatchKey, Key> keys = new ConcurrentHashMap<>();

    UringWatchService(WatchService delegate, UringFileSystem fs) {
        this.delegate = delegate;
        this.fs = fs;
    }

    WatchService delegate() {
        return delegate;
    }

    /** The wrapper of {@code key}, made on first sight; null stays null. */
    WatchKey wrap(WatchKey key) {
        return key == null ? null : keys.computeIfAbsent(key, k -> new Key(k, this));
    }

    @Override
    public void close() throws IOException {
        delegate.close();
        keys.clear(); // every key is invalid now
    }

    /** How many key wrappers this service keeps (each valid key has one). */
    int keysHeld() {
        return keys.size();
    }

    @Override
    public WatchKey poll() {
        return wrap(delegate.poll());
    }

    @Override
    public WatchKey poll(long timeout, TimeUnit unit) throws InterruptedException {
        return wrap(delegate.poll(timeout, unit));
    }

    @Override
    public WatchKey take() throws InterruptedException {
        return wrap(delegate.take());
    }

    private static final class Key implements WatchKey {
        private final WatchKey delegate;
        private final UringWatchService service;

        Key(WatchKey delegate, UringWatchService service) {
            this.delegate = delegate;
            this.service = service;
        }

        @Override
        public boolean isValid() {
            return delegate.isValid();
        }

        @Override
        public List<WatchEvent<?>> pollEvents() {
            List<WatchEvent<?>> events = new ArrayList<>();
            for (WatchEvent<?> e : delegate.pollEvents()) {
                events.add(e.context() instanceof Path p ? new Event<>(e, service.fs.wrap(p)) : e);
            }
            return events;
        }

        /**
         * Resets the key; one that is invalid (its directory gone, or cancelled) is forgotten here, else a service
         * watching directories that come and go would keep a wrapper of each one forever.
         */
        @Override
        public boolean reset() {
            boolean valid = delegate.reset();
            if (!valid) {
                service.keys.remove(delegate);
            }
            return valid;
        }

        @Override
        public void cancel() {
            delegate.cancel();
            service.keys.remove(delegate);
        }

        @Override
        public Watchable watchable() {
            return delegate.watchable() instanceof Path p ? service.fs.wrap(p) : delegate.watchable();
        }
    }

    /** An event whose context is the wrapped path. */
    private static final class Event<T> implements WatchEvent<T> {
        private final WatchEvent<?> delegate;
        private final Object context;

        Event(WatchEvent<?> delegate, Object context) {
            this.delegate = delegate;
            this.context = context;
        }

        @Override
        @SuppressWarnings("unchecked")
        public Kind<T> kind() {
            return (Kind<T>) delegate.kind();
        }

        @Override
        public int count() {
            return delegate.count();
        }

        @Override
        @SuppressWarnings("unchecked")
        public T context() {
            return (T) context;
        }
    }
}
