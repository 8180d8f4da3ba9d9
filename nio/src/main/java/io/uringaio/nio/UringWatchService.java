package io.uringaio.nio;

import java.io.IOException;
import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.Watchable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
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
    /**
     * The wrappers of keys no longer valid (cancelled, or found invalid by reset) that the JDK's service may still hand
     * out: a key signalled before its cancel stays queued, and the JDK's poll returns that same key. Weak both ways:
     * an entry goes when the JDK drops the key, and a wrapper nobody holds needs no identity (a fresh one is
     * indistinguishable), so cancelling keys by the thousand keeps nothing.
     */
    private final Map<WatchKey, WeakReference<Key>> retired = Collections.synchronizedMap(new WeakHashMap<>());

    UringWatchService(WatchService delegate, UringFileSystem fs) {
        this.delegate = delegate;
        this.fs = fs;
    }

    WatchService delegate() {
        return delegate;
    }

    /**
     * The wrapper of {@code key}: the one made on its first sight, also once it is retired while someone holds it;
     * null stays null. A key first seen invalid gets a wrapper that is not kept.
     */
    WatchKey wrap(WatchKey key) {
        if (key == null) {
            return null;
        }
        Key known = keys.get(key);
        if (known != null) {
            return known;
        }
        WeakReference<Key> ref = retired.get(key);
        Key old = ref == null ? null : ref.get();
        if (old != null) {
            return old;
        }
        return key.isValid() ? keys.computeIfAbsent(key, k -> new Key(k, this)) : new Key(key, this);
    }

    /** {@code key} is invalid: no longer kept for sure, but found again while someone holds it (retired first). */
    private void retire(Key key) {
        retired.put(key.delegate, new WeakReference<>(key));
        keys.remove(key.delegate);
    }

    @Override
    public void close() throws IOException {
        delegate.close();
        keys.clear(); // every key is invalid now
        retired.clear();
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
                service.retire(this);
            }
            return valid;
        }

        @Override
        public void cancel() {
            delegate.cancel();
            service.retire(this);
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
