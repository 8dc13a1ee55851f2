#ifndef MOONWATCH_WIRE_H
#define MOONWATCH_WIRE_H
/*
 * Kernel <-> user wire format, shared verbatim by bpf/moonwatch.bpf.c and the Swift decoder
 * (MoonwatchProbes). Everything here is little-endian x86_64, naturally aligned, with explicit
 * padding so BPF, clang and Swift agree on every offset (checked by _Static_assert below and by
 * WireLayoutTests on the Swift side).
 *
 * A ring-buffer record is one event:
 *
 *   struct mw_event_hdr                      fixed, MW_HDR_SIZE bytes
 *   struct mw_block + payload, padded to 8   zero or more, hdr.nblocks of them
 *
 * Scalar arguments (registers) are always in hdr.args[]; blocks carry what was read from user
 * or kernel memory: one block per (argument, phase) plus an optional executable-path block.
 * The decoder in user space treats every length and offset here as untrusted.
 */

#ifndef __bpf__
/* vmlinux.h provides the __u8.. types for BPF; user space takes the same ones as libbpf. */
#include <linux/types.h>
#endif
#include "moonwatch_user_abi.h"

#define MW_WIRE_VERSION 4

/* ---- limits of what one record carries (the decoder does not depend on them) ---- */
#define MW_MAX_ARGS 6
#define MW_MAX_STR 512         /* bytes of one string argument, NUL included */
#define MW_MAX_ARGV 32         /* argv/envp entries */
#define MW_MAX_ARGV_BYTES 1536 /* bytes of one argv/envp block */
#define MW_MAX_NAME 128        /* sockaddr bytes (sizeof struct sockaddr_storage) */
#define MW_MAX_IOV 16          /* iovec entries copied per msghdr */
#define MW_MAX_CTL 512         /* control bytes copied per msghdr */
#define MW_MAX_FILES 64        /* SCM_RIGHTS descriptors resolved per msghdr (record space permitting;
                                  past it they are counted, see mw_msg.rights) */
#define MW_MAX_PATH 256        /* bytes of one encoded path */
#define MW_MAX_DEPTH 16        /* path components walked */
#define MW_MAX_MMSG 8          /* mmsghdr entries decoded per vector (the rest are scanned) */
#define MW_MAX_MMSG_SCAN 1024  /* mmsghdr entries scanned for control messages (UIO_MAXIOV) */
#define MW_DIGEST_STR 4096     /* bytes of one string digested (PATH_MAX) */
#define MW_DIGEST_ARGV 32768   /* bytes of one argv/envp block digested */
#define MW_MAX_CMSG 8          /* control messages parsed for SCM_RIGHTS per msghdr */

/* Per-task record buffer (BPF task storage); user space never sees this size. */
#define MW_REC_BUF 7936

/* ---- syscall table (user space fills it from the catalogue) ---- */
#define MW_NR_SLOTS 512        /* syscall numbers per ABI table */
#define MW_SOCKETCALL_SLOTS 32 /* ia32 socketcall sub-calls (1..20) */
#define MW_IA32_SOCKETCALL 102

/* Argument types, one per catalogue ArgType. */
enum mw_type {
    MW_T_NONE = 0,
    MW_T_INT = 1,
    MW_T_UINT = 2,
    MW_T_LONG = 3,
    MW_T_ULONG = 4,
    MW_T_POINTER = 5,
    MW_T_STRING = 6,
    MW_T_ARGV = 7,
    MW_T_SOCKADDR = 8,
    MW_T_MSGHDR = 9,
    MW_T_MMSGHDRS = 10,
    MW_T_TIMESPEC = 11,
    MW_T_TIMESPEC32 = 12,
    MW_T_FDPAIR = 13,
    MW_T_INTREF = 14,
    MW_T_EXE = 15,      /* block only: the executable of the process (struct mw_exe) */
    MW_T_PROGRAM = 16,  /* exec: the file the kernel executed (struct mw_exe), from the new image */
    MW_T_STDIO = 17,    /* exec: what descriptors 0, 1 and 2 of the new image refer to */
    MW_T_SOCKINFO = 18, /* the call's own socket (struct mw_sockinfo) */
};

/* When an argument is read (bit set), as the catalogue's ReadPhase. */
#define MW_P_ENTRY 1
#define MW_P_EXIT 2

/* mw_syscall_cfg.flags */
#define MW_CFG_EXEC 1 /* a successful call replaces the memory image: no exit reads when ret == 0 */
#define MW_CFG_SOCKETCALL 2 /* ia32 socketcall: demultiplex through the socketcall table */

#define MW_NO_AUX 0xff
#define MW_AUX_PTR 0x40 /* aux names an int * (value-result length), not a value */

struct mw_syscall_cfg {
    __u16 kind;            /* catalogue index */
    __u8 valid;            /* a catalogue syscall lives at this slot (whether it is captured is mw_live's) */
    __u8 nargs;
    __u8 flags;            /* MW_CFG_* */
    __u8 type[MW_MAX_ARGS];  /* enum mw_type */
    __u8 phase[MW_MAX_ARGS]; /* MW_P_* bits */
    __u8 aux[MW_MAX_ARGS];   /* index of the length/count argument, MW_NO_AUX if none */
    __u8 read_entry;         /* bit i: argument i is read from memory at entry (skips the loop when 0) */
    __u8 read_exit;          /* bit i: argument i is read from memory at exit */
    __u8 msg_arg;            /* the message header argument (msghdr or mmsghdr vector), MW_NO_AUX if none */
    __u8 prog_arg;           /* exec: the catalogue argument "program" (MW_T_PROGRAM), MW_NO_AUX if none */
    __u8 stdio_arg;          /* exec: the catalogue argument "stdio" (MW_T_STDIO) */
    __u8 sock_arg;           /* the catalogue argument "socket" (MW_T_SOCKINFO): the socket of argument 0 */
    __u8 pad[2];
};

/* config.filter */
#define MW_FILTER_PID 1  /* tgid (or an ancestor's, followed through forks) in the scope map */
#define MW_FILTER_COMM 2 /* comm equals one of config.comms */
#define MW_FILTER_UID 4  /* uid equals one of config.uids */

#define MW_MAX_SCOPE 8

/* Read-only configuration, frozen at load (section .rodata.mwcfg): what never changes while the
 * probes run. What signatures select changes on reload and lives in struct mw_live. */
struct mw_config {
    __u32 version;         /* MW_WIRE_VERSION; the program refuses to emit otherwise */
    __u32 self_tgid;       /* never traced */
    __u32 filter;          /* MW_FILTER_* (the --pid/--comm/--uid scope) */
    __u32 wake_bytes;      /* force a reader wake-up once this much data is pending */
    __u16 kind_fork;       /* catalogue index of process_fork, 0xffff when the catalogue has none */
    __u16 kind_exit;       /* process_exit, likewise */
    __u32 n_uids;
    __u32 uids[MW_MAX_SCOPE];
    __u32 n_comms;
    __u32 pad0;
    char comms[MW_MAX_SCOPE][16];
    struct mw_syscall_cfg x64[MW_NR_SLOTS];
    struct mw_syscall_cfg ia32[MW_NR_SLOTS];
    struct mw_syscall_cfg socketcall[MW_SOCKETCALL_SLOTS];
};


/* ---- what the loaded signatures can accept, per event kind (reloadable) ----
 *
 * Every signature's `filter` is one clause: a conjunction of conditions. A kind's interest is the
 * disjunction of the clauses of the signatures that select it; a kind that some signature selects
 * without a filter is captured whole (MW_K_ALL). User space writes the inactive half of struct
 * mw_live and then flips `gen`; a program reads `gen` once, so it always sees one consistent
 * table. The kernel may accept more than the signatures do (user space checks every filter
 * again), never less: whatever cannot be represented here is dropped from the clause, which
 * only widens it.
 */
#define MW_MAX_KINDS 128          /* catalogue kinds the tables can hold */
#define MW_MAX_CLAUSES 128        /* clause pool of one generation */
#define MW_KIND_CLAUSES 8         /* clauses of one kind (more are merged in user space) */
#define MW_CLAUSE_ARGS 2          /* integer argument conditions of one clause */
#define MW_ARG_VALUES 8           /* accepted values of one argument condition */
#define MW_FILTER_COMMS 64        /* distinct comm names in all clauses */
#define MW_FILTER_UIDS 64         /* distinct uids in all clauses */

/* mw_kind_cfg.mode */
#define MW_K_OFF 0     /* not captured */
#define MW_K_ALL 1     /* every call (no filter, or `moonwatch capture`) */
#define MW_K_FILTER 2  /* only calls some clause accepts */

/* mw_clause.need: the conditions a clause has */
#define MW_C_COMPAT 0x001    /* compat == want & MW_W_COMPAT */
#define MW_C_BITS 0x002      /* process bits == clause.bits */
#define MW_C_COMM 0x004      /* comm is one of comm_in */
#define MW_C_NOT_COMM 0x008  /* comm is none of comm_out */
#define MW_C_UID 0x010       /* uid is one of uid_in */
#define MW_C_NOT_UID 0x020   /* uid is none of uid_out */
#define MW_C_ARGS 0x040      /* every argument condition holds */
#define MW_C_SUCCESS 0x080   /* (ret >= 0) == want & MW_W_SUCCESS; known at exit */
#define MW_C_CONTROL 0x100   /* a message header carries a control message of a type in ctl */
#define MW_C_CHANGED 0x200   /* (some TOCTOU argument read differently) == want & MW_W_CHANGED */
#define MW_C_ENTRY (MW_C_COMPAT | MW_C_BITS | MW_C_COMM | MW_C_NOT_COMM | MW_C_UID | MW_C_NOT_UID | MW_C_ARGS)

/* mw_clause.want */
#define MW_W_COMPAT 0x1
#define MW_W_SUCCESS 0x2
#define MW_W_CHANGED 0x4

/* Control message types (mw_clause.ctl, mw_msg.ctl_types) */
#define MW_CTL_RIGHTS 0x1       /* SOL_SOCKET / SCM_RIGHTS */
#define MW_CTL_CREDENTIALS 0x2  /* SOL_SOCKET / SCM_CREDENTIALS */
#define MW_CTL_OTHER 0x4        /* anything else */

#define MW_ARG_EQUAL 0
#define MW_ARG_ANY_BITS 1

struct mw_argcond {
    __u8 arg;      /* argument index */
    __u8 type;     /* enum mw_type of the argument: how its register is read (sign, width, ABI) */
    __u8 nvals;    /* 0: no value can match */
    __u8 mode;     /* MW_ARG_EQUAL: equals one of vals; MW_ARG_ANY_BITS: has a bit of vals[0] set */
    __u8 pad[4];
    __s64 vals[MW_ARG_VALUES];
};

struct mw_clause {
    __u32 need;      /* MW_C_* */
    __u8 want;       /* MW_W_* */
    __u8 bits;       /* 32 or 64, with MW_C_BITS */
    __u8 ctl;        /* MW_CTL_* accepted, with MW_C_CONTROL */
    __u8 nargc;      /* argument conditions in argc[] */
    __u64 comm_in;   /* bit i: mw_filter.comms[i] */
    __u64 comm_out;
    __u64 uid_in;    /* bit i: mw_filter.uids[i] */
    __u64 uid_out;
    struct mw_argcond argc[MW_CLAUSE_ARGS];
};

/*
 * One kind's interest. The conditions that are plain flags (compat, ABI, success, changed,
 * control) are precompiled into masks over the kind's clauses (bit i = clause i), so that the
 * probes evaluate them with a few logical operations; only comm, uid and argument conditions
 * ("slow" clauses) are evaluated clause by clause (struct mw_clause).
 */
struct mw_kind_cfg {
    __u8 mode;           /* MW_K_* */
    __u8 nclauses;
    __u16 first;         /* index of the kind's first clause in mw_filter.clauses */
    __u8 all;            /* the kind's clauses: (1 << nclauses) - 1 */
    __u8 slow;           /* clauses with comm, uid or argument conditions */
    __u8 compat_fail[2]; /* clauses that fail for a native (0) / compat (1) call */
    __u8 bits_fail[3];   /* clauses that fail for a process of unknown (0) / 32 / 64 bits */
    __u8 ctl_entry;      /* need a control message in the message read at entry (sends) */
    __u8 ctl_exit;       /* need one in the message read at exit (receives) */
    __u8 ctl_rights;     /* accept SCM_RIGHTS */
    __u8 ctl_creds;      /* accept SCM_CREDENTIALS */
    __u8 ctl_other;      /* accept any other control message */
    __u8 succ_need;      /* need a success condition ... */
    __u8 succ_ok;        /* ... that is ret >= 0 */
    __u8 chg_need;       /* need a changed condition ... */
    __u8 chg_yes;        /* ... that is "some TOCTOU argument changed" */
    __u8 exit_need;      /* need anything only exit knows (success, changed, ctl_exit) */
    __u8 pad[3];
};

struct mw_filter {
    __u32 ncomms;
    __u32 nuids;
    char comms[MW_FILTER_COMMS][16];   /* zero-padded, as task->comm */
    __u32 uids[MW_FILTER_UIDS];
    struct mw_kind_cfg kinds[MW_MAX_KINDS];
    struct mw_clause clauses[MW_MAX_CLAUSES];
};

/* Mutable configuration (section .data.mwlive, memory-mapped by user space). */
struct mw_live {
    __u32 gen;       /* the half in use: f[gen & 1] */
    __u32 pad;
    struct mw_filter f[2];
};

/* ---- records ---- */

/* mw_event_hdr.flags */
#define MW_EV_COMPAT 0x1      /* 32-bit compat syscall (TS_COMPAT) */
#define MW_EV_SOCKETCALL 0x2  /* reached through ia32 socketcall */
#define MW_EV_EXIT 0x4        /* the exit half is present: ret is valid */
#define MW_EV_TRUNC 0x8       /* some block was cut for lack of space */
#define MW_EV_PROCESS 0x10    /* a scheduler event, not a syscall */
#define MW_EV_EXIT_TIME 0x20  /* selected only when the call returned: ts_enter holds that time */
#define MW_EV_URING 0x40      /* an io_uring request, not a syscall: nr is the x86_64 number of the call it does */

struct mw_event_hdr {
    __u16 version;   /* MW_WIRE_VERSION */
    __u16 kind;      /* catalogue index */
    __u16 flags;     /* MW_EV_* */
    __u16 nblocks;   /* blocks following the header */
    __u32 size;      /* header + blocks, bytes */
    __s32 nr;        /* raw syscall number (ia32 number when compat; socketcall sub-call number) */
    __u64 ts_enter;  /* CLOCK_MONOTONIC ns at entry (at exit with MW_EV_EXIT_TIME) */
    __u64 reserved;  /* 0 (a second clock read per call costs more than it is worth) */
    __s64 ret;
    __u32 pid;       /* tgid, initial pid namespace */
    __u32 tid;
    __u32 ppid;
    __u32 uid;
    __u32 gid;
    __u16 cpu;
    __u8 bits;       /* the process's own word size from its code segment: 64, 32, 0 unknown */
    __u8 clauses;    /* the kind's interest clauses that still held when accepted (bit i); 0xff: captured whole */
    __u64 cgroup;    /* cgroup v2 id */
    __u32 mntns;     /* mount namespace inode number */
    __u32 pidns;     /* pid namespace inode number */
    __u64 args[MW_MAX_ARGS]; /* raw argument registers (zero-extended for compat) */
    char comm[16];
};
#define MW_HDR_SIZE 144

/* mw_block.status bits */
#define MW_S_NULL 0x1   /* the pointer was NULL: nothing read */
#define MW_S_FAULT 0x2  /* reading user or kernel memory failed */
#define MW_S_TRUNC 0x4  /* cut to the probe's limits */

#define MW_ARG_EXE 0xf0 /* mw_block.arg of the executable block */

/* mw_block.status: MW_S_LATE on an exit block of an argument read at entry: the entry read failed
 * (the memory was not resident) and this is the read at exit. */
#define MW_S_LATE 0x8

/* mw_block.status: MW_S_DIGEST on a block that was cut to the probe's limits (MW_S_TRUNC): its
 * payload ends with a struct mw_digest of the whole value, so that two reads of a long argument
 * compare by length and hash as well as by their prefix, and a change past the cut is seen. */
#define MW_S_DIGEST 0x10

/* mw_block.status: MW_S_INTERP on an exec's exit read of argv when an interpreter runs the file
 * (a script, binfmt_misc): the kernel replaced argv[0] with the interpreter's own arguments
 * (interpreter, its optional argument, the file's path). */
#define MW_S_INTERP 0x20

struct mw_digest {
    __u64 fnv;    /* FNV-1a 64 over the value's bytes: a string without its NUL, a vector as its
                   * strings each with its NUL */
    __u32 len;    /* bytes hashed */
    __u32 flags;  /* MW_D_* */
};
#define MW_D_PARTIAL 0x1 /* longer than the digest limit, or a read failed: hash of a prefix */

struct mw_block {
    __u8 arg;     /* catalogue argument index, or MW_ARG_EXE */
    __u8 phase;   /* MW_P_ENTRY or MW_P_EXIT */
    __u8 type;    /* enum mw_type */
    __u8 status;  /* MW_S_* */
    __u32 len;    /* payload bytes; the next block starts at the next multiple of 8 */
};

/*
 * Payloads by type:
 *   STRING       bytes, NUL-terminated when complete
 *   ARGV         strings, each NUL-terminated, concatenated
 *   SOCKADDR     raw struct sockaddr bytes
 *   TIMESPEC     16 bytes (struct __kernel_timespec); TIMESPEC32 8 bytes (old_timespec32)
 *   FDPAIR       8 bytes (int[2]); INTREF 4 bytes
 *   MSGHDR       struct mw_msg
 *   MMSGHDRS     struct mw_mmsg, then per entry struct mw_mmsg_entry + struct mw_msg
 *   EXE          an encoded path (see mw_file)
 */

/* mw_msg.status bits */
#define MW_M_HDR_FAULT 0x1
#define MW_M_NAME_FAULT 0x2
#define MW_M_IOV_FAULT 0x4
#define MW_M_CTL_FAULT 0x8
#define MW_M_IOV_TRUNC 0x10
#define MW_M_CTL_TRUNC 0x20
#define MW_M_FILES_TRUNC 0x40   /* not every passed descriptor is resolved (mw_msg.rights counts them) */
#define MW_M_CTL_UNWALKED 0x80  /* control past what the probe walks (more than optmem_max allows) */

/*
 * A message header as the caller laid it out (struct user_msghdr, or compat_msghdr when the
 * record is MW_EV_COMPAT) and copies of what it points to, each located by (off, len) from the
 * start of this struct. The header comes from a window of the caller's memory around it (kept
 * within the header's own pages); when the iovec array lies inside that window too (both on
 * the caller's stack, typically) it is read with the header in one go and iov_off points into
 * the window, otherwise it is a part of its own. Parts follow the window, padded to 8:
 *   window (win_len) | [iovec array] | name | control | resolved files (struct mw_file...)
 * The decoder bounds-checks every (off, len) against size.
 */
struct mw_msg {
    __u16 hdr_off;
    __u16 hdr_len;
    __u16 iov_off;
    __u16 iov_len;
    __u16 name_off;
    __u16 name_len;
    __u16 ctl_off;
    __u16 ctl_len;
    __u16 files_off;
    __u16 files_len;
    __u16 win_len;
    __u8 status;   /* MW_M_* */
    __u8 nfiles;
    __u32 size;    /* this struct and all parts, padded: where the next item starts */
    __u8 ctl_types; /* MW_CTL_* of every control message found (all of them, past the copy limits) */
    __u8 beyond_types; /* MW_CTL_* of the control messages past the copied bytes */
    __u16 rights;   /* descriptors in all SCM_RIGHTS messages, resolved or not, past the copy too */
};
#define MW_MSG_WINDOW 192 /* largest span read in one go for header + iovec array */
#define MW_MSG_BACK 64    /* of which before the header */

/*
 * A vector: `count` entries decoded in full follow. The entries after them (vlen was larger, or
 * the record was full) are scanned: their headers and control messages are read for the types
 * and the number of passed descriptors, which are summed here; nothing else of them is kept.
 */
struct mw_mmsg {
    __u32 count;      /* entries that follow */
    __u16 status;     /* MW_S_TRUNC when vlen was larger than count */
    __u8 ctl_types;   /* union of the entries' mw_msg.ctl_types, scanned ones included */
    __u8 scan_types;  /* MW_CTL_* found in the scanned entries */
    __u16 scanned;    /* entries scanned */
    __u16 scan_rights;/* SCM_RIGHTS descriptors in the scanned entries */
    __u16 scan_status;/* MW_M_* of the scanned entries (faults, unwalked control) */
    __u16 pad;
};

struct mw_mmsg_entry {
    __u32 msg_len; /* the entry's msg_len field as read */
    __u32 status;  /* MW_S_FAULT when the entry could not be read */
};

/* What a passed descriptor refers to, resolved in the sender's descriptor table. */
enum mw_file_type {
    MW_FILE_NONE = 0,   /* not an open descriptor */
    MW_FILE_REGULAR = 1,/* anything with a path: regular file, directory, device, FIFO on disk */
    MW_FILE_SOCKET = 2,
    MW_FILE_PIPE = 3,
    MW_FILE_ANON = 4,   /* anon_inode: eventfd, epoll, timerfd, bpf, ... */
    MW_FILE_OTHER = 5,
};

/* mw_file.status bits (also for the EXE block's path) */
#define MW_F_TRUNC 0x1    /* path cut: too deep or too long */
#define MW_F_DELETED 0x2  /* the dentry is unlinked (memfd, deleted file) */
#define MW_F_FAULT 0x4
#define MW_F_NOPATH 0x8   /* the record had no room for the path: the identity only */

/*
 * One resolved descriptor. `path_len` bytes of path follow, padded to 8: components from the
 * file up to the root, each as one length byte and that many name bytes (no separators). For
 * sockets and pipes the path is empty and `ino` identifies the object; for anon inodes it is
 * the single component the kernel names it by ("[eventfd]").
 */
struct mw_file {
    __s32 fd;
    __u8 type;      /* enum mw_file_type */
    __u8 status;    /* MW_F_* */
    __u16 path_len;
    __u64 ino;
    __u32 dev;      /* its filesystem's device (major << 20 | minor) */
    __u32 magic;    /* its filesystem's magic */
};

/* The exe and program block payloads: struct mw_exe, then the encoded path. The identity is what
 * an allow-list can trust: a name is set with prctl, a path faked with a bind mount, but the
 * inode on the host's filesystem is the file itself. */
struct mw_exe {
    __u64 ino;       /* the file's inode */
    __u32 dev;       /* its filesystem's device, the kernel's encoding (major << 20 | minor) */
    __u32 magic;     /* its filesystem's magic (tmpfs, ramfs, hugetlbfs, overlayfs, ...) */
    __u16 path_len;
    __u8 status;     /* MW_F_* (MW_F_DELETED: unlinked, such as a memfd) */
    __u8 pad[5];
};

/*
 * A socket: what it is and, when connected, to whom. STDIO payloads are three items, one per
 * descriptor 0, 1, 2: struct mw_file and its path (padded to 8), then struct mw_sockinfo when the
 * file is a socket. SOCKINFO payloads are one struct mw_sockinfo.
 */
struct mw_sockinfo {
    __u16 family;    /* AF_* */
    __u16 type;      /* SOCK_* */
    __u16 lport;     /* host order */
    __u16 rport;
    __u8 laddr[16];  /* IPv4 in the first 4 bytes */
    __u8 raddr[16];
    __u64 ino;       /* the socket's inode */
    __u64 peer_ino;  /* AF_UNIX: the connected peer socket's inode (0 if none) */
};

/* ---- per-CPU counters ---- */
/* PERCPU_ARRAY "mw_stats", one element: what is not per kind. */
struct mw_stats {
    __u64 drop_ring;     /* records lost: the ring buffer was full */
    __u64 drop_storage;  /* records lost: no per-task buffer (allocation failed or busy) */
    __u64 faults;        /* blocks with MW_S_FAULT */
    __u64 lost_exit;     /* a syscall exit without its entry half (started before attach) */
    __u64 socketcall;    /* ia32 socketcall calls demultiplexed */
    __u64 pad[3];
};

/* PERCPU_ARRAY "mw_kstats", one element of MW_MAX_KINDS: the cost of each kind. seen and
 * filtered are plain per-CPU increments (a preempted program can lose one, never invent one);
 * submitted and dropped are exact. seen = filtered + submitted + dropped + in flight. */
struct mw_kind_stats {
    __u64 seen;       /* calls of a captured kind, in scope */
    __u64 filtered;   /* turned away by the signatures' interest, in the kernel */
    __u64 submitted;  /* records written to the ring buffer */
    __u64 dropped;    /* records lost: ring full, no task buffer, or the record did not fit */
};

/* ---- the layouts both compilers must agree on ---- */
#define MW_ASSERT_SIZE(T, N) _Static_assert(sizeof(T) == (N), #T " size")
#define MW_ASSERT_OFF(T, F, N) _Static_assert(__builtin_offsetof(T, F) == (N), #T "." #F " offset")
MW_ASSERT_SIZE(struct mw_syscall_cfg, 32);
MW_ASSERT_SIZE(struct mw_event_hdr, MW_HDR_SIZE);
MW_ASSERT_OFF(struct mw_event_hdr, size, 8);
MW_ASSERT_OFF(struct mw_event_hdr, ts_enter, 16);
MW_ASSERT_OFF(struct mw_event_hdr, ret, 32);
MW_ASSERT_OFF(struct mw_event_hdr, pid, 40);
MW_ASSERT_OFF(struct mw_event_hdr, bits, 62);
MW_ASSERT_OFF(struct mw_event_hdr, cgroup, 64);
MW_ASSERT_OFF(struct mw_event_hdr, mntns, 72);
MW_ASSERT_OFF(struct mw_event_hdr, args, 80);
MW_ASSERT_OFF(struct mw_event_hdr, comm, 128);
MW_ASSERT_SIZE(struct mw_block, 8);
MW_ASSERT_SIZE(struct mw_msg, 32);
MW_ASSERT_OFF(struct mw_msg, size, 24);
MW_ASSERT_SIZE(struct mw_mmsg, 16);
MW_ASSERT_SIZE(struct mw_digest, 16);
MW_ASSERT_SIZE(struct mw_mmsg_entry, 8);
MW_ASSERT_SIZE(struct mw_file, 24);
MW_ASSERT_SIZE(struct mw_exe, 24);
MW_ASSERT_SIZE(struct mw_sockinfo, 56);
MW_ASSERT_SIZE(struct mw_stats, 64);
MW_ASSERT_SIZE(struct mw_kind_stats, 32);
MW_ASSERT_OFF(struct mw_config, x64, 192);
MW_ASSERT_SIZE(struct mw_config, 192 + (2 * MW_NR_SLOTS + MW_SOCKETCALL_SLOTS) * 32);
MW_ASSERT_SIZE(struct mw_argcond, 72);
MW_ASSERT_SIZE(struct mw_clause, 184);
MW_ASSERT_SIZE(struct mw_kind_cfg, 24);
MW_ASSERT_OFF(struct mw_live, f, 8);

#endif
