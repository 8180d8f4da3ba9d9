package io.uringaio.engine.uapi;

/**
 * The errno numbers of Linux on x86-64, with their symbolic names ({@code EBADF}) and glibc's {@code strerror}
 * messages ({@code Bad file descriptor}).
 *
 * <p>Inside the engine a result is an {@code int}: a count of bytes, or {@code -errno}. This table turns the
 * number into words at the edge, where an exception or a log line is made. It covers errno 1 to 133; numbers
 * that Linux does not use (41, 58) and numbers outside that range are described as unknown, the way glibc does.
 * The table is built from the C library of a Linux machine; it is not looked up at run time, so it needs no
 * native access and gives the same text on every machine.
 *
 * <p>Where Linux has two names for one number, the table names it by the canonical one: 11 is {@code EAGAIN}
 * (also {@code EWOULDBLOCK}), 35 {@code EDEADLK} ({@code EDEADLOCK}), 95 {@code EOPNOTSUPP} ({@code ENOTSUP}).
 *
 * <h2>Which errors are retried, which are the caller's, which are ours</h2>
 *
 * <p>The engine retries almost nothing: a {@code -errno} from the kernel is the request's result, handed to the caller
 * as it came ({@link io.uringaio.engine.UringIOException UringIOException} in
 * {@link io.uringaio.engine.AsyncFile AsyncFile}, the {@code aio_error} value in the POSIX facade). What the code does
 * today, per operation:
 * <ul>
 *   <li><b>Retried, never seen by the caller.</b>
 *     <ul>
 *       <li>{@link #EAGAIN} (and {@link #EOPNOTSUPP}) from {@code preadv2(RWF_NOWAIT)}: the page-cache fast path
 *           ({@code PageCacheFastPath}) gives the read to a lane on any result but the full count; the thread-pool
 *           lane's read then waits (cancelably) for readiness and reads again without {@code RWF_NOWAIT}. A short
 *           {@code RWF_NOWAIT} read of a regular file is read again in full, allowed to block.</li>
 *       <li>{@link #EAGAIN} from {@code pwritev2(RWF_NOWAIT)} on a pipe or socket (thread-pool lane): wait for room,
 *           write again. {@link #ESPIPE} from a positioned read or write there: the call is repeated without an
 *           offset, as io_uring does for streams.</li>
 *       <li>{@link #EINTR} from the thread-pool lane's {@code poll}: polled again.</li>
 *       <li>{@link #ECANCELED} on the fsync linked behind a short durable write ({@code FileOp}): the bytes written
 *           are synced again before the count is reported.</li>
 *     </ul>
 *     On the io_uring backend the kernel itself retries {@code EAGAIN} of regular files (io-wq); {@code Ring} passes
 *     every CQE result through unchanged. {@link #EINTR} anywhere else is not retried: {@code Libc} returns it (its
 *     javadoc), and the facade's {@code aio_suspend} and {@code lio_listio(LIO_WAIT)} return -1/EINTR on
 *     {@code Thread.interrupt()}, as in C.</li>
 *   <li><b>The caller's: reported, the caller decides.</b> Reads and writes: {@link #EBADF} (descriptor not open, or
 *       not open for that direction; the facade reports a negative {@code aio_fildes} as EBADF without the kernel),
 *       {@link #EIO}, {@link #ENOSPC}, {@link #EFBIG}, {@link #EROFS}, {@link #EISDIR}, {@link #EOVERFLOW},
 *       {@link #EAGAIN} from a pipe or socket the caller made non-blocking, and {@link #EINVAL} for an {@code O_DIRECT}
 *       transfer whose offset, length or buffer is not aligned
 *       ({@link io.uringaio.engine.UringOpenOption UringOpenOption}) or, in the facade, a negative
 *       {@code aio_offset} on a seekable file. fsync and fdatasync:
 *       {@link #EIO}, {@link #ENOSPC}, {@link #EROFS}, {@link #EBADF}; the storage log treats any write or sync failure
 *       as final and poisons itself ({@code LogPoisonedException}), it never retries a failed fsync. Open:
 *       {@link #ENOENT}, {@link #EACCES}, {@link #EEXIST}, {@link #EISDIR}, {@link #EROFS}, {@link #EMFILE},
 *       {@link #ENFILE}, {@link #EINVAL} ({@code O_DIRECT} where the file system has none). fallocate:
 *       {@link #EOPNOTSUPP}, {@link #ENOSPC}, {@link #EFBIG}. The directory lock: {@link #EAGAIN} from
 *       {@code flock(LOCK_NB)} means another process holds it ({@code LogLockedException}).</li>
 *   <li><b>Ours: the engine's own doing, not the caller's.</b> {@link #ECANCELED} means a cancel or
 *       {@link io.uringaio.engine.RingEngine#close() RingEngine.close()} ended the request (an
 *       {@code EngineClosedException} when it was close);
 *       {@link #ENOENT} / {@link #EALREADY} answer the engine's own {@code IORING_OP_ASYNC_CANCEL} and become a
 *       {@link io.uringaio.engine.CancelOutcome CancelOutcome}, never a request's result.</li>
 *   <li><b>Can only be our bug.</b> {@link #EFAULT} from the kernel: every address the engine puts in an SQE or an
 *       {@code iovec} points into memory it owns (bounce buffers, its {@code iovec}s) or into a direct buffer the
 *       caller handed it; the facade answers a missing buffer with EFAULT itself, synchronously, before any system
 *       call. {@link #EINVAL} from an SQE the engine built with a valid descriptor and aligned or buffered I/O (a bad
 *       opcode, flag or field: the thread-pool lane answers an opcode it does not know with EINVAL too).
 *       (An opcode the running kernel lacks also answers EINVAL.) {@link #ENOSYS} from {@code io_uring_setup} is the
 *       backend choice's business ({@code IoUringAvailability}: the engine falls back to threads), not a
 *       request's.</li>
 * </ul>
 *
 * <p>Thread safety: immutable; every method may be called from any thread.
 */
public final class ErrnoTable {

    /** Operation not permitted. */
    public static final int EPERM = 1;

    /** No such file or directory. */
    public static final int ENOENT = 2;

    /** No such process. */
    public static final int ESRCH = 3;

    /** Interrupted system call. */
    public static final int EINTR = 4;

    /** Input/output error. */
    public static final int EIO = 5;

    /** No such device or address. */
    public static final int ENXIO = 6;

    /** Argument list too long. */
    public static final int E2BIG = 7;

    /** Bad file descriptor. */
    public static final int EBADF = 9;

    /** Resource temporarily unavailable. */
    public static final int EAGAIN = 11;

    /** Cannot allocate memory. */
    public static final int ENOMEM = 12;

    /** Permission denied. */
    public static final int EACCES = 13;

    /** Bad address. */
    public static final int EFAULT = 14;

    /** Device or resource busy. */
    public static final int EBUSY = 16;

    /** File exists. */
    public static final int EEXIST = 17;

    /** No such device. */
    public static final int ENODEV = 19;

    /** Not a directory. */
    public static final int ENOTDIR = 20;

    /** Is a directory. */
    public static final int EISDIR = 21;

    /** Invalid argument. */
    public static final int EINVAL = 22;

    /** Too many open files in system. */
    public static final int ENFILE = 23;

    /** Too many open files. */
    public static final int EMFILE = 24;

    /** File too large. */
    public static final int EFBIG = 27;

    /** No space left on device. */
    public static final int ENOSPC = 28;

    /** Illegal seek. */
    public static final int ESPIPE = 29;

    /** Read-only file system. */
    public static final int EROFS = 30;

    /** Broken pipe. */
    public static final int EPIPE = 32;

    /** Numerical result out of range. */
    public static final int ERANGE = 34;

    /** Function not implemented. */
    public static final int ENOSYS = 38;

    /** Timer expired. */
    public static final int ETIME = 62;

    /** Value too large for defined data type. */
    public static final int EOVERFLOW = 75;

    /** Operation not supported. */
    public static final int EOPNOTSUPP = 95;

    /** Connection timed out. */
    public static final int ETIMEDOUT = 110;

    /** Operation already in progress. */
    public static final int EALREADY = 114;

    /** Operation now in progress. */
    public static final int EINPROGRESS = 115;

    /** Operation canceled. */
    public static final int ECANCELED = 125;

    /** The largest errno this table names. */
    public static final int MAX_ERRNO = 133;

    /** Symbolic names by errno; {@code null} where Linux uses no number. Index 0 is unused. */
    private static final String[] NAMES = {
        null,
        "EPERM", // 1
        "ENOENT", // 2
        "ESRCH", // 3
        "EINTR", // 4
        "EIO", // 5
        "ENXIO", // 6
        "E2BIG", // 7
        "ENOEXEC", // 8
        "EBADF", // 9
        "ECHILD", // 10
        "EAGAIN", // 11
        "ENOMEM", // 12
        "EACCES", // 13
        "EFAULT", // 14
        "ENOTBLK", // 15
        "EBUSY", // 16
        "EEXIST", // 17
        "EXDEV", // 18
        "ENODEV", // 19
        "ENOTDIR", // 20
        "EISDIR", // 21
        "EINVAL", // 22
        "ENFILE", // 23
        "EMFILE", // 24
        "ENOTTY", // 25
        "ETXTBSY", // 26
        "EFBIG", // 27
        "ENOSPC", // 28
        "ESPIPE", // 29
        "EROFS", // 30
        "EMLINK", // 31
        "EPIPE", // 32
        "EDOM", // 33
        "ERANGE", // 34
        "EDEADLK", // 35
        "ENAMETOOLONG", // 36
        "ENOLCK", // 37
        "ENOSYS", // 38
        "ENOTEMPTY", // 39
        "ELOOP", // 40
        null, // 41
        "ENOMSG", // 42
        "EIDRM", // 43
        "ECHRNG", // 44
        "EL2NSYNC", // 45
        "EL3HLT", // 46
        "EL3RST", // 47
        "ELNRNG", // 48
        "EUNATCH", // 49
        "ENOCSI", // 50
        "EL2HLT", // 51
        "EBADE", // 52
        "EBADR", // 53
        "EXFULL", // 54
        "ENOANO", // 55
        "EBADRQC", // 56
        "EBADSLT", // 57
        null, // 58
        "EBFONT", // 59
        "ENOSTR", // 60
        "ENODATA", // 61
        "ETIME", // 62
        "ENOSR", // 63
        "ENONET", // 64
        "ENOPKG", // 65
        "EREMOTE", // 66
        "ENOLINK", // 67
        "EADV", // 68
        "ESRMNT", // 69
        "ECOMM", // 70
        "EPROTO", // 71
        "EMULTIHOP", // 72
        "EDOTDOT", // 73
        "EBADMSG", // 74
        "EOVERFLOW", // 75
        "ENOTUNIQ", // 76
        "EBADFD", // 77
        "EREMCHG", // 78
        "ELIBACC", // 79
        "ELIBBAD", // 80
        "ELIBSCN", // 81
        "ELIBMAX", // 82
        "ELIBEXEC", // 83
        "EILSEQ", // 84
        "ERESTART", // 85
        "ESTRPIPE", // 86
        "EUSERS", // 87
        "ENOTSOCK", // 88
        "EDESTADDRREQ", // 89
        "EMSGSIZE", // 90
        "EPROTOTYPE", // 91
        "ENOPROTOOPT", // 92
        "EPROTONOSUPPORT", // 93
        "ESOCKTNOSUPPORT", // 94
        "EOPNOTSUPP", // 95
        "EPFNOSUPPORT", // 96
        "EAFNOSUPPORT", // 97
        "EADDRINUSE", // 98
        "EADDRNOTAVAIL", // 99
        "ENETDOWN", // 100
        "ENETUNREACH", // 101
        "ENETRESET", // 102
        "ECONNABORTED", // 103
        "ECONNRESET", // 104
        "ENOBUFS", // 105
        "EISCONN", // 106
        "ENOTCONN", // 107
        "ESHUTDOWN", // 108
        "ETOOMANYREFS", // 109
        "ETIMEDOUT", // 110
        "ECONNREFUSED", // 111
        "EHOSTDOWN", // 112
        "EHOSTUNREACH", // 113
        "EALREADY", // 114
        "EINPROGRESS", // 115
        "ESTALE", // 116
        "EUCLEAN", // 117
        "ENOTNAM", // 118
        "ENAVAIL", // 119
        "EISNAM", // 120
        "EREMOTEIO", // 121
        "EDQUOT", // 122
        "ENOMEDIUM", // 123
        "EMEDIUMTYPE", // 124
        "ECANCELED", // 125
        "ENOKEY", // 126
        "EKEYEXPIRED", // 127
        "EKEYREVOKED", // 128
        "EKEYREJECTED", // 129
        "EOWNERDEAD", // 130
        "ENOTRECOVERABLE", // 131
        "ERFKILL", // 132
        "EHWPOISON", // 133
    };

    /** glibc's {@code strerror} text by errno; {@code null} where Linux uses no number. Index 0 is unused. */
    private static final String[] MESSAGES = {
        null,
        "Operation not permitted", // 1
        "No such file or directory", // 2
        "No such process", // 3
        "Interrupted system call", // 4
        "Input/output error", // 5
        "No such device or address", // 6
        "Argument list too long", // 7
        "Exec format error", // 8
        "Bad file descriptor", // 9
        "No child processes", // 10
        "Resource temporarily unavailable", // 11
        "Cannot allocate memory", // 12
        "Permission denied", // 13
        "Bad address", // 14
        "Block device required", // 15
        "Device or resource busy", // 16
        "File exists", // 17
        "Invalid cross-device link", // 18
        "No such device", // 19
        "Not a directory", // 20
        "Is a directory", // 21
        "Invalid argument", // 22
        "Too many open files in system", // 23
        "Too many open files", // 24
        "Inappropriate ioctl for device", // 25
        "Text file busy", // 26
        "File too large", // 27
        "No space left on device", // 28
        "Illegal seek", // 29
        "Read-only file system", // 30
        "Too many links", // 31
        "Broken pipe", // 32
        "Numerical argument out of domain", // 33
        "Numerical result out of range", // 34
        "Resource deadlock avoided", // 35
        "File name too long", // 36
        "No locks available", // 37
        "Function not implemented", // 38
        "Directory not empty", // 39
        "Too many levels of symbolic links", // 40
        null, // 41
        "No message of desired type", // 42
        "Identifier removed", // 43
        "Channel number out of range", // 44
        "Level 2 not synchronized", // 45
        "Level 3 halted", // 46
        "Level 3 reset", // 47
        "Link number out of range", // 48
        "Protocol driver not attached", // 49
        "No CSI structure available", // 50
        "Level 2 halted", // 51
        "Invalid exchange", // 52
        "Invalid request descriptor", // 53
        "Exchange full", // 54
        "No anode", // 55
        "Invalid request code", // 56
        "Invalid slot", // 57
        null, // 58
        "Bad font file format", // 59
        "Device not a stream", // 60
        "No data available", // 61
        "Timer expired", // 62
        "Out of streams resources", // 63
        "Machine is not on the network", // 64
        "Package not installed", // 65
        "Object is remote", // 66
        "Link has been severed", // 67
        "Advertise error", // 68
        "Srmount error", // 69
        "Communication error on send", // 70
        "Protocol error", // 71
        "Multihop attempted", // 72
        "RFS specific error", // 73
        "Bad message", // 74
        "Value too large for defined data type", // 75
        "Name not unique on network", // 76
        "File descriptor in bad state", // 77
        "Remote address changed", // 78
        "Can not access a needed shared library", // 79
        "Accessing a corrupted shared library", // 80
        ".lib section in a.out corrupted", // 81
        "Attempting to link in too many shared libraries", // 82
        "Cannot exec a shared library directly", // 83
        "Invalid or incomplete multibyte or wide character", // 84
        "Interrupted system call should be restarted", // 85
        "Streams pipe error", // 86
        "Too many users", // 87
        "Socket operation on non-socket", // 88
        "Destination address required", // 89
        "Message too long", // 90
        "Protocol wrong type for socket", // 91
        "Protocol not available", // 92
        "Protocol not supported", // 93
        "Socket type not supported", // 94
        "Operation not supported", // 95
        "Protocol family not supported", // 96
        "Address family not supported by protocol", // 97
        "Address already in use", // 98
        "Cannot assign requested address", // 99
        "Network is down", // 100
        "Network is unreachable", // 101
        "Network dropped connection on reset", // 102
        "Software caused connection abort", // 103
        "Connection reset by peer", // 104
        "No buffer space available", // 105
        "Transport endpoint is already connected", // 106
        "Transport endpoint is not connected", // 107
        "Cannot send after transport endpoint shutdown", // 108
        "Too many references: cannot splice", // 109
        "Connection timed out", // 110
        "Connection refused", // 111
        "Host is down", // 112
        "No route to host", // 113
        "Operation already in progress", // 114
        "Operation now in progress", // 115
        "Stale file handle", // 116
        "Structure needs cleaning", // 117
        "Not a XENIX named type file", // 118
        "No XENIX semaphores available", // 119
        "Is a named type file", // 120
        "Remote I/O error", // 121
        "Disk quota exceeded", // 122
        "No medium found", // 123
        "Wrong medium type", // 124
        "Operation canceled", // 125
        "Required key not available", // 126
        "Key has expired", // 127
        "Key has been revoked", // 128
        "Key was rejected by service", // 129
        "Owner died", // 130
        "State not recoverable", // 131
        "Operation not possible due to RF-kill", // 132
        "Memory page has hardware error", // 133
    };

    static {
        assert NAMES.length == MAX_ERRNO + 1 && MESSAGES.length == MAX_ERRNO + 1;
    }

    private ErrnoTable() {
    }

    /**
     * The symbolic name of an errno.
     *
     * @param errno a positive errno number (not the negated result)
     * @return the name, such as {@code "EBADF"} for 9, or {@code "errno 999"} for a number Linux does not define
     */
    public static String name(int errno) {
        String name = known(errno) ? NAMES[errno] : null;
        return name != null ? name : "errno " + errno;
    }

    /**
     * The message glibc's {@code strerror} gives for an errno.
     *
     * @param errno a positive errno number (not the negated result)
     * @return the message, such as {@code "Bad file descriptor"} for 9, or {@code "Unknown error 999"} for a number
     *     Linux does not define
     */
    public static String message(int errno) {
        if (errno == 0) {
            return "Success";
        }
        String message = known(errno) ? MESSAGES[errno] : null;
        return message != null ? message : "Unknown error " + errno;
    }

    /**
     * Name and message together, for exceptions and logs.
     *
     * @param errno a positive errno number (not the negated result)
     * @return for example {@code "EBADF (Bad file descriptor)"}, or {@code "errno 999 (Unknown error 999)"}
     */
    public static String describe(int errno) {
        return name(errno) + " (" + message(errno) + ")";
    }

    private static boolean known(int errno) {
        return errno > 0 && errno <= MAX_ERRNO;
    }
}
