package io.uringaio.nio;

import io.uringaio.engine.UringIOException;
import io.uringaio.engine.UringOpenOption;
import io.uringaio.engine.uapi.ErrnoTable;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A channel's open options, checked the way the JDK checks them ({@code READ + APPEND} and
 * {@code APPEND + TRUNCATE_EXISTING} are refused, {@code APPEND} implies {@code WRITE}, neither read nor write means
 * read), and turned into the engine's options.
 */
record OpenSpec(boolean read, boolean write, boolean append, boolean create, boolean createNew, boolean truncate,
                boolean deleteOnClose, boolean sync, boolean dsync, boolean direct, boolean noFollow) {

    /** The permission bits of a file a channel creates, less the umask: the JDK's ({@code UnixFileModeAttribute}). */
    static final int CREATE_MODE = 0666;

    /**
     * The permission bits a file this open creates gets (less the umask), from the creation attributes as the JDK
     * reads them: {@link #CREATE_MODE} without any, else the last {@code posix:permissions} / {@code unix:permissions}.
     * Passed to the open itself, as the JDK does: no second descriptor is opened (and closed) on the file to apply
     * them, which would drop every POSIX lock the process holds on an existing file.
     *
     * @throws UnsupportedOperationException for any other attribute
     * @throws NullPointerException for a null attribute or permission
     * @throws ClassCastException for a value that is not a set of {@link PosixFilePermission}
     */
    static int creationMode(FileAttribute<?>... attrs) {
        int mode = CREATE_MODE;
        for (FileAttribute<?> attr : attrs) {
            String name = attr.name();
            if (!name.equals("posix:permissions") && !name.equals("unix:permissions")) {
                throw new UnsupportedOperationException("'" + name + "' not supported as initial attribute");
            }
            @SuppressWarnings("unchecked")
            Set<PosixFilePermission> permissions = (Set<PosixFilePermission>) attr.value();
            mode = 0;
            for (PosixFilePermission permission : permissions) {
                mode |= switch (Objects.requireNonNull(permission, "permission")) {
                    case OWNER_READ -> 0400;
                    case OWNER_WRITE -> 0200;
                    case OWNER_EXECUTE -> 0100;
                    case GROUP_READ -> 040;
                    case GROUP_WRITE -> 020;
                    case GROUP_EXECUTE -> 010;
                    case OTHERS_READ -> 04;
                    case OTHERS_WRITE -> 02;
                    case OTHERS_EXECUTE -> 01;
                };
            }
        }
        return mode;
    }

    /** ExtendedOpenOption.DIRECT is in jdk.unsupported; matched by name so that module stays optional. */
    private static final String DIRECT_NAME = "DIRECT";

    static OpenSpec of(Set<? extends OpenOption> options, boolean defaultRead) {
        return of(options, defaultRead, false);
    }

    /**
     * The options of an {@code AsynchronousFileChannel}, checked as the JDK checks them there: {@code APPEND} in any
     * combination is UnsupportedOperationException (not the FileChannel's IllegalArgumentException for
     * {@code READ + APPEND} or {@code APPEND + TRUNCATE_EXISTING}).
     */
    static OpenSpec ofAsynchronous(Set<? extends OpenOption> options) {
        return of(options, true, true);
    }

    private static OpenSpec of(Set<? extends OpenOption> options, boolean defaultRead, boolean asynchronous) {
        boolean read = false;
        boolean write = false;
        boolean append = false;
        boolean create = false;
        boolean createNew = false;
        boolean truncate = false;
        boolean deleteOnClose = false;
        boolean sync = false;
        boolean dsync = false;
        boolean direct = false;
        boolean noFollow = false;
        for (OpenOption o : options) {
            Objects.requireNonNull(o, "open option");
            if (o instanceof StandardOpenOption so) {
                switch (so) {
                    case READ -> read = true;
                    case WRITE -> write = true;
                    case APPEND -> append = true;
                    case CREATE -> create = true;
                    case CREATE_NEW -> createNew = true;
                    case TRUNCATE_EXISTING -> truncate = true;
                    case DELETE_ON_CLOSE -> deleteOnClose = true;
                    case SPARSE -> { }
                    case SYNC -> sync = true;
                    case DSYNC -> dsync = true;
                    default -> throw new UnsupportedOperationException(o + " not supported");
                }
            } else if (o == LinkOption.NOFOLLOW_LINKS) {
                noFollow = true;
            } else if (o == UringOpenOption.DIRECT || isJdkDirect(o)) {
                direct = true;
            } else {
                throw new UnsupportedOperationException(o + " not supported");
            }
        }
        if (asynchronous && append) {
            throw new UnsupportedOperationException("APPEND not allowed");
        }
        if (read && append) {
            throw new IllegalArgumentException("READ + APPEND not allowed");
        }
        if (append && truncate) {
            throw new IllegalArgumentException("APPEND + TRUNCATE_EXISTING not allowed");
        }
        if (append) {
            write = true;
        }
        if (!read && !write && defaultRead) {
            read = true;
        }
        return new OpenSpec(read, write, append, create, createNew, truncate, deleteOnClose, sync, dsync, direct,
                noFollow);
    }

    private static boolean isJdkDirect(OpenOption o) {
        return o instanceof Enum<?> e && DIRECT_NAME.equals(e.name())
                && "com.sun.nio.file.ExtendedOpenOption".equals(e.getDeclaringClass().getName());
    }

    /**
     * The engine's options. {@code APPEND} is left out (the engine's writes are positional; appends go through the
     * channel's JDK companion) and so is {@code DELETE_ON_CLOSE} (the channel unlinks at open, as the JDK does).
     */
    OpenOption[] engineOptions() {
        List<OpenOption> list = new ArrayList<>();
        if (read) {
            list.add(StandardOpenOption.READ);
        }
        if (write) {
            list.add(StandardOpenOption.WRITE);
            if (createNew) {
                list.add(StandardOpenOption.CREATE_NEW);
            } else if (create) {
                list.add(StandardOpenOption.CREATE);
            }
            if (truncate) {
                list.add(StandardOpenOption.TRUNCATE_EXISTING);
            }
        }
        if (sync) {
            list.add(StandardOpenOption.SYNC);
        }
        if (dsync) {
            list.add(StandardOpenOption.DSYNC);
        }
        if (direct) {
            list.add(UringOpenOption.DIRECT);
        }
        // The JDK opens with O_NOFOLLOW for DELETE_ON_CLOSE, so it never unlinks a link's target by surprise.
        if (noFollow || deleteOnClose) {
            list.add(LinkOption.NOFOLLOW_LINKS);
        }
        return list.toArray(OpenOption[]::new);
    }

    /**
     * The options for the JDK companion channel on the same open file: the access mode, APPEND, and SYNC/DSYNC (the
     * companion is a second open file description: its appends and transfers in would not be synchronous without
     * them, though the channel promised every write would be).
     */
    Set<OpenOption> companionOptions() {
        Set<OpenOption> set = new java.util.HashSet<>();
        if (read) {
            set.add(StandardOpenOption.READ);
        }
        if (write) {
            set.add(append ? StandardOpenOption.APPEND : StandardOpenOption.WRITE);
            if (sync) {
                set.add(StandardOpenOption.SYNC);
            }
            if (dsync) {
                set.add(StandardOpenOption.DSYNC);
            }
        }
        return set;
    }

    /**
     * An open failure as the JDK reports it ({@code UnixException.translateToIOException}): NoSuchFileException for
     * ENOENT, FileAlreadyExistsException for EEXIST, AccessDeniedException for EACCES only (EPERM, an immutable file
     * say, is not), else a FileSystemException whose reason is strerror's text ("Text file busy"), not the errno's
     * name.
     */
    static IOException translate(Throwable failure, Path path) {
        if (failure instanceof UringIOException u) {
            String file = path.toString();
            FileSystemException e = switch (u.errno()) {
                case ErrnoTable.ENOENT -> new NoSuchFileException(file);
                case ErrnoTable.EEXIST -> new FileAlreadyExistsException(file);
                case ErrnoTable.EACCES -> new AccessDeniedException(file);
                default -> new FileSystemException(file, null, ErrnoTable.message(u.errno()));
            };
            e.initCause(u);
            return e;
        }
        if (failure instanceof IOException io) {
            return io;
        }
        return new IOException(failure);
    }
}
