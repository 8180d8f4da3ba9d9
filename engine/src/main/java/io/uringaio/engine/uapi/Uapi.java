package io.uringaio.engine.uapi;

/**
 * Constants from the Linux io_uring UAPI header ({@code <linux/io_uring.h>}) and the few {@code <fcntl.h>} /
 * {@code <linux/stat.h>} values the engine needs, with their kernel names kept verbatim.
 *
 * <p>Netty keeps its own table package-private, so the engine keeps this one. Values are those of Linux on x86-64;
 * they are ABI and never change.
 */
public final class Uapi {
    private Uapi() {
    }

    // enum io_uring_op
    /** No operation: completes with 0. */
    public static final byte IORING_OP_NOP = 0;
    /** {@code preadv}: read into an {@code iovec} array. */
    public static final byte IORING_OP_READV = 1;
    /** {@code pwritev}: write from an {@code iovec} array. */
    public static final byte IORING_OP_WRITEV = 2;
    /** {@code fsync}, or {@code fdatasync} with {@link #IORING_FSYNC_DATASYNC}. */
    public static final byte IORING_OP_FSYNC = 3;
    /** Waits for a descriptor's readiness; {@link #IORING_POLL_ADD_MULTI} in {@code len} makes it multishot. */
    public static final byte IORING_OP_POLL_ADD = 6;
    /** {@code len} flag of {@link #IORING_OP_POLL_ADD}: a completion per event until canceled. */
    public static final int IORING_POLL_ADD_MULTI = 1;
    /** Removes a poll request of the ring (acts on other requests: the engine refuses it raw). */
    public static final byte IORING_OP_POLL_REMOVE = 7;
    /** Removes a timeout of the ring (acts on other requests: the engine refuses it raw). */
    public static final byte IORING_OP_TIMEOUT_REMOVE = 12;
    /** {@code recvmsg}; {@link #IORING_RECV_MULTISHOT} in {@code ioprio} makes it multishot. */
    public static final byte IORING_OP_RECVMSG = 10;
    /** A timeout; {@link #IORING_TIMEOUT_MULTISHOT} in {@code timeout_flags} makes it fire repeatedly. */
    public static final byte IORING_OP_TIMEOUT = 11;
    /** {@code timeout_flags} bit of {@link #IORING_OP_TIMEOUT}. */
    public static final int IORING_TIMEOUT_MULTISHOT = 1 << 6;
    /** {@code accept}; {@link #IORING_ACCEPT_MULTISHOT} in {@code ioprio} makes it multishot. */
    public static final byte IORING_OP_ACCEPT = 13;
    /** {@code ioprio} bit of {@link #IORING_OP_ACCEPT}. */
    public static final int IORING_ACCEPT_MULTISHOT = 1;
    /** {@code recv}; {@link #IORING_RECV_MULTISHOT} in {@code ioprio} makes it multishot. */
    public static final byte IORING_OP_RECV = 27;
    /** {@code ioprio} bit of {@link #IORING_OP_RECV} and {@link #IORING_OP_RECVMSG}. */
    public static final int IORING_RECV_MULTISHOT = 2;
    /** Zero-copy {@code send}: a result, then a notification completion once the kernel let go of the buffer. */
    public static final byte IORING_OP_SEND_ZC = 47;
    /** Zero-copy {@code sendmsg}, two completions as {@link #IORING_OP_SEND_ZC}. */
    public static final byte IORING_OP_SENDMSG_ZC = 48;
    /** Multishot read (always several completions). */
    public static final byte IORING_OP_READ_MULTISHOT = 49;
    /** Cancels a request of the ring, found by its {@code user_data}. */
    public static final byte IORING_OP_ASYNC_CANCEL = 14;
    /** A timeout on the request it is linked behind: the timed request ends {@code -ECANCELED} when it expires. */
    public static final byte IORING_OP_LINK_TIMEOUT = 15;
    /** {@code fallocate}. */
    public static final byte IORING_OP_FALLOCATE = 17;
    /**
     * Posts a completion with any {@code user_data} into a ring named by its descriptor (acts on other requests: it
     * forges their completions; the engine refuses it raw).
     */
    public static final byte IORING_OP_MSG_RING = 40;
    /**
     * Updates the ring's registered-file table (ring-wide state, not one request's: the engine refuses it raw).
     */
    public static final byte IORING_OP_FILES_UPDATE = 20;
    /**
     * Gives the ring a group of buffers for buffer-selecting reads and receives of any of its users (ring-wide state,
     * kept past the request: the engine refuses it raw).
     */
    public static final byte IORING_OP_PROVIDE_BUFFERS = 31;
    /** Takes buffers out of one of the ring's buffer groups (ring-wide state: the engine refuses it raw). */
    public static final byte IORING_OP_REMOVE_BUFFERS = 32;
    /** {@code openat}. */
    public static final byte IORING_OP_OPENAT = 18;
    /** {@code close}. */
    public static final byte IORING_OP_CLOSE = 19;
    /** {@code statx}. */
    public static final byte IORING_OP_STATX = 21;
    /** {@code pread} into one buffer. */
    public static final byte IORING_OP_READ = 22;
    /** {@code pwrite} from one buffer. */
    public static final byte IORING_OP_WRITE = 23;

    // sqe->flags
    /** The SQE's fd is an index into the ring's registered files. */
    public static final byte IOSQE_FIXED_FILE = 1;
    /** Start only after every earlier SQE completed. */
    public static final byte IOSQE_IO_DRAIN = 1 << 1;
    /** The next SQE starts after this one succeeds; a failure cancels it. */
    public static final byte IOSQE_IO_LINK = 1 << 2;
    /** The next SQE starts after this one, whatever its result. */
    public static final byte IOSQE_IO_HARDLINK = 1 << 3;
    /** Always go to io-wq, without a first non-blocking attempt. */
    public static final byte IOSQE_ASYNC = 1 << 4;

    // sqe->fsync_flags
    /** {@link #IORING_OP_FSYNC} as {@code fdatasync}. */
    public static final int IORING_FSYNC_DATASYNC = 1;

    // io_uring_setup
    /** {@code sizeof(struct io_uring_params)}: what {@code io_uring_setup} reads and fills. */
    public static final int IO_URING_PARAMS_SIZE = 120;

    // dirfd and statx
    /** The dirfd meaning the current directory. */
    public static final int AT_FDCWD = -100;
    /** {@code statx} of the dirfd itself when the path is empty. */
    public static final int AT_EMPTY_PATH = 0x1000;
    /** The {@code statx} mask bit asking for {@code stx_size}. */
    public static final int STATX_SIZE = 0x200;
    /** {@code sizeof(struct statx)}. */
    public static final int STATX_STRUCT_SIZE = 256;
    /** {@code offsetof(struct statx, stx_size)}. */
    public static final int STATX_SIZE_OFFSET = 40;
    /** {@code statx} mask bits: {@code stx_mode}'s file type, {@code stx_nlink}, {@code stx_ino}, the basic set. */
    public static final int STATX_TYPE = 0x1;
    public static final int STATX_NLINK = 0x4;
    public static final int STATX_INO = 0x100;
    public static final int STATX_BASIC_STATS = 0x7ff;
    /** The {@code statx} mask bit asking for the O_DIRECT alignments (Linux 6.1+). */
    public static final int STATX_DIOALIGN = 0x2000;
    /**
     * Offsets in {@code struct statx}: {@code stx_mask} (u32), {@code stx_nlink} (u32), {@code stx_mode} (u16),
     * {@code stx_ino} (u64), {@code stx_dev_major} and {@code stx_dev_minor} (u32 each), {@code stx_dio_mem_align}
     * and {@code stx_dio_offset_align} (u32 each).
     */
    public static final int STATX_MASK_OFFSET = 0;
    public static final int STATX_NLINK_OFFSET = 16;
    public static final int STATX_MODE_OFFSET = 28;
    public static final int STATX_INO_OFFSET = 32;
    public static final int STATX_DEV_MAJOR_OFFSET = 136;
    public static final int STATX_DEV_MINOR_OFFSET = 140;
    public static final int STATX_DIO_MEM_ALIGN_OFFSET = 152;
    public static final int STATX_DIO_OFFSET_ALIGN_OFFSET = 156;

    /** {@code sizeof(struct iovec)} on 64-bit Linux. */
    public static final int IOVEC_SIZE = 16;

    /** The kernel's cap on one read or write ({@code MAX_RW_COUNT}). */
    public static final int MAX_RW_COUNT = 0x7ffff000;

    /** {@code io_uring_setup(2)}'s system call number on x86-64. */
    public static final long SYS_IO_URING_SETUP = 425;
    /** {@code io_uring_enter(2)}'s system call number on x86-64. */
    public static final long SYS_IO_URING_ENTER = 426;
    /** {@code io_uring_register(2)}'s system call number on x86-64. */
    public static final long SYS_IO_URING_REGISTER = 427;
    /**
     * {@code futex(2)}'s number on this machine's architecture (x86-64: 202, arm64: 98); -1 where unknown (callers
     * then wait without it).
     */
    public static final long SYS_FUTEX = switch (System.getProperty("os.arch", "")) {
        case "amd64", "x86_64" -> 202;
        case "aarch64", "arm64" -> 98;
        default -> -1;
    };
    /** {@code io_uring_enter} flag: wait for {@code min_complete} completions. */
    public static final int IORING_ENTER_GETEVENTS = 1;
    /** {@code io_uring_enter} flag: {@code arg} is a {@code struct io_uring_getevents_arg} (with a timeout). */
    public static final int IORING_ENTER_EXT_ARG = 1 << 3;
    /** {@code io_uring_register} opcode: signal an eventfd on every posted CQE. */
    public static final int IORING_REGISTER_EVENTFD = 4;
    /** {@code io_uring_register} opcode: stop signalling the registered eventfd. */
    public static final int IORING_UNREGISTER_EVENTFD = 5;
    /** mmap offset of the SQ ring (and, with {@link #IORING_FEAT_SINGLE_MMAP}, the CQ ring). */
    public static final long IORING_OFF_SQ_RING = 0L;
    /** mmap offset of the SQE array. */
    public static final long IORING_OFF_SQES = 0x10000000L;
    /** {@code io_uring_params.features}: SQ and CQ rings share one mapping. */
    public static final int IORING_FEAT_SINGLE_MMAP = 1;
    /** {@code io_uring_params.features}: the kernel never drops a CQE on overflow. */
    public static final int IORING_FEAT_NODROP = 1 << 1;
    /** {@code io_uring_params.features}: {@link #IORING_ENTER_EXT_ARG} is understood. */
    public static final int IORING_FEAT_EXT_ARG = 1 << 8;
    /** CQ ring flag: the registered eventfd is not signalled while set. */
    public static final int IORING_CQ_EVENTFD_DISABLED = 1;

    /** The name of an opcode, for messages ({@code "IORING_OP_READ"}). */
    public static String opName(byte opcode) {
        return switch (opcode) {
            case IORING_OP_NOP -> "IORING_OP_NOP";
            case IORING_OP_READV -> "IORING_OP_READV";
            case IORING_OP_WRITEV -> "IORING_OP_WRITEV";
            case IORING_OP_FSYNC -> "IORING_OP_FSYNC";
            case IORING_OP_POLL_REMOVE -> "IORING_OP_POLL_REMOVE";
            case IORING_OP_TIMEOUT_REMOVE -> "IORING_OP_TIMEOUT_REMOVE";
            case IORING_OP_ASYNC_CANCEL -> "IORING_OP_ASYNC_CANCEL";
            case IORING_OP_LINK_TIMEOUT -> "IORING_OP_LINK_TIMEOUT";
            case IORING_OP_FALLOCATE -> "IORING_OP_FALLOCATE";
            case IORING_OP_MSG_RING -> "IORING_OP_MSG_RING";
            case IORING_OP_FILES_UPDATE -> "IORING_OP_FILES_UPDATE";
            case IORING_OP_PROVIDE_BUFFERS -> "IORING_OP_PROVIDE_BUFFERS";
            case IORING_OP_REMOVE_BUFFERS -> "IORING_OP_REMOVE_BUFFERS";
            case IORING_OP_POLL_ADD -> "IORING_OP_POLL_ADD";
            case IORING_OP_TIMEOUT -> "IORING_OP_TIMEOUT";
            case IORING_OP_OPENAT -> "IORING_OP_OPENAT";
            case IORING_OP_CLOSE -> "IORING_OP_CLOSE";
            case IORING_OP_STATX -> "IORING_OP_STATX";
            case IORING_OP_READ -> "IORING_OP_READ";
            case IORING_OP_WRITE -> "IORING_OP_WRITE";
            default -> "IORING_OP_" + (opcode & 0xFF);
        };
    }
}
