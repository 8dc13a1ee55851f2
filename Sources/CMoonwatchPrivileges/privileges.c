/*
 * Privileges after attach. Once the probes are attached and the ring buffer is open, the running
 * loop needs very little: read the ring (mmap'ed pages, epoll), look up and update BPF maps
 * through descriptors it already has, read signature files on SIGHUP, write to outputs it already
 * opened, keep time and memory. Everything else is given up here, in every thread:
 *
 *  1. no_new_privs, and securebits (NOROOT, NO_SETUID_FIXUP, locked): uid 0 regains nothing;
 *  2. Landlock (when the kernel has it): files may only be read, and only beneath the signature
 *     paths, /proc, /sys/fs/cgroup and the CPU list; no TCP; no signals or abstract UNIX sockets
 *     outside the process;
 *  3. every capability (bounding, ambient, inheritable, permitted, effective);
 *  4. a seccomp allow-list (below), synchronized to all threads.
 *
 * Capabilities, no_new_privs, securebits and Landlock domains belong to a thread, not to the
 * process, so each thread must change itself: the caller signals every other thread (tgkill,
 * like glibc's setxid broadcast), and the handler makes the same raw system calls there.
 */
#define _GNU_SOURCE
#include "mw_privileges.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
/* O_TMPFILE's own bit (glibc's __O_TMPFILE also carries O_DIRECTORY, which reading a folder needs). */
#define MW_O_TMPFILE_BIT 020000000

/* ---------------------------------------------------------------------------------------------
 * Landlock, with the structures spelled out: the system headers may be older than the kernel.
 */
struct ll_ruleset_attr { uint64_t handled_access_fs, handled_access_net, scoped; };
struct ll_path_beneath { uint64_t allowed_access; int32_t parent_fd; } __attribute__((packed));
enum {
    LL_FS_EXECUTE = 1 << 0, LL_FS_WRITE_FILE = 1 << 1, LL_FS_READ_FILE = 1 << 2, LL_FS_READ_DIR = 1 << 3,
    LL_FS_MAKE_REG = 1 << 8,
    LL_FS_ALL_ABI1 = (1 << 13) - 1, LL_FS_REFER = 1 << 13, LL_FS_TRUNCATE = 1 << 14, LL_FS_IOCTL_DEV = 1 << 15,
    LL_FS_FILE_RIGHTS = LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV,
    LL_NET_BIND_TCP = 1 << 0, LL_NET_CONNECT_TCP = 1 << 1,
    LL_SCOPE_ABSTRACT_UNIX = 1 << 0, LL_SCOPE_SIGNAL = 1 << 1,
    LL_RULE_PATH_BENEATH = 1,
};

/* A ruleset that handles every access the kernel knows; rules are added by the callers. */
static int landlock_new(int *abi_out, char *warn, size_t wlen) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */);
    *abi_out = 0;
    if (abi < 1) { snprintf(warn, wlen, "Landlock is not available (%s): file access is not confined", strerror(errno)); return -1; }
    struct ll_ruleset_attr attr = { 0, 0, 0 };
    size_t size = sizeof attr.handled_access_fs;
    attr.handled_access_fs = LL_FS_ALL_ABI1;
    if (abi >= 2) attr.handled_access_fs |= LL_FS_REFER;
    if (abi >= 3) attr.handled_access_fs |= LL_FS_TRUNCATE;
    if (abi >= 5) attr.handled_access_fs |= LL_FS_IOCTL_DEV;
    if (abi >= 4) { attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP; size = 2 * sizeof(uint64_t); }
    if (abi >= 6) { attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL; size = sizeof attr; }
    int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (fd < 0) { snprintf(warn, wlen, "Landlock ruleset: %s: file access is not confined", strerror(errno)); return -1; }
    *abi_out = (int)abi;
    return fd;
}

/* Allows `access` beneath `path` (a directory) or on it (a file; directory-only rights dropped).
 * A path that does not exist is skipped: it cannot be used later either. */
static void landlock_allow(int fd, const char *path, uint64_t access, char *warn, size_t wlen) {
    int pfd = open(path, O_PATH | O_CLOEXEC);
    if (pfd < 0) return;
    struct stat st;
    struct ll_path_beneath rule = { access, pfd };
    if (fstat(pfd, &st) != 0 || !S_ISDIR(st.st_mode)) rule.allowed_access &= LL_FS_FILE_RIGHTS;
    if (syscall(SYS_landlock_add_rule, fd, LL_RULE_PATH_BENEATH, &rule, 0) != 0) {
        snprintf(warn, wlen, "Landlock rule for %s: %s", path, strerror(errno));
    }
    close(pfd);
}

static int landlock_ruleset(const char *const *paths, int npaths, int *abi_out, char *warn, size_t wlen) {
    int fd = landlock_new(abi_out, warn, wlen);
    if (fd < 0) return -1;
    /* What the loop reads after the drop: signature files and the configuration (reload), /proc
     * (its own status and mountinfo; a rule on /proc/self would not hold: procfs makes new inodes
     * for a pid's directory, and Landlock rules follow inodes; other processes' sensitive entries
     * stay behind the kernel's ptrace checks, which a process without capabilities fails against
     * any process that has some), the cgroup hierarchy (container ids), the CPU list. */
    const char *fixed[] = { "/proc", "/sys/fs/cgroup", "/sys/devices/system/cpu" };
    for (int i = 0; i < npaths + 3; i++) {
        landlock_allow(fd, i < npaths ? paths[i] : fixed[i - npaths], LL_FS_READ_FILE | LL_FS_READ_DIR, warn, wlen);
    }
    return fd;
}

/* ---------------------------------------------------------------------------------------------
 * The seccomp allow-list. Anything else fails with EPERM (a detector that is killed by an
 * unforeseen but harmless call would be blind, which is what an attacker wants); another
 * architecture's system call ABI (i386 through int 0x80, x32) kills the process: moonwatch
 * never uses one.
 */
#define MAXPROG 256
typedef struct prog { struct sock_filter f[MAXPROG]; int n; } prog;

static void emit(prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    if (p->n < MAXPROG) p->f[p->n++] = (struct sock_filter){ code, jt, jf, k };
}
#define LD_NR(p) emit(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0)
#define LD_ARG_LO(p, i) emit(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args) + 8 * (i), 0, 0)
#define LD_ARG_HI(p, i) emit(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args) + 8 * (i) + 4, 0, 0)
#define RET(p, v) emit(p, BPF_RET | BPF_K, (v), 0, 0)
#define ALLOW SECCOMP_RET_ALLOW
#define FAIL(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

static void allow(prog *p, int nr) {
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1);
    RET(p, ALLOW);
}

/* Each block below starts with "is it this call?" and ends every path inside it with a return,
 * so a call it is not about jumps over it with the accumulator still holding the number. */

/* nr: allowed when (args[i] & mask) == 0, else errno e. */
static void allow_without_bits(prog *p, int nr, int i, uint32_t mask, int e) {
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 4);
    LD_ARG_LO(p, i);
    emit(p, BPF_JMP | BPF_JSET | BPF_K, mask, 1, 0);
    RET(p, ALLOW);
    RET(p, FAIL(e));
}

/* nr: allowed when args[i] (all 64 bits) is one of `vals`, else EPERM. */
static void allow_values(prog *p, int nr, int i, const uint32_t *vals, int nvals) {
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, (uint8_t)(4 + 2 * nvals));
    LD_ARG_HI(p, i);
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint8_t)(1 + 2 * nvals));
    LD_ARG_LO(p, i);
    for (int k = 0; k < nvals; k++) {
        emit(p, BPF_JMP | BPF_JEQ | BPF_K, vals[k], 0, 1);
        RET(p, ALLOW);
    }
    RET(p, FAIL(EPERM));
}

/* Another system call ABI (i386 through int 0x80, x32) kills the process; the accumulator then
 * holds the call's number. */
static void native_calls_only(prog *p) {
    p->n = 0;
    emit(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    RET(p, SECCOMP_RET_KILL_PROCESS);
    LD_NR(p);
    emit(p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000 /* __X32_SYSCALL_BIT */, 0, 1);
    RET(p, SECCOMP_RET_KILL_PROCESS);
}

static void build_filter(prog *p, pid_t pid) {
    native_calls_only(p);

    static const int plain[] = {
        /* I/O on descriptors it already has */
        SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_lseek, SYS_close, SYS_fcntl,
        /* descriptors of reopened outputs from the opener helper (SCM_RIGHTS on its socketpair) */
        SYS_recvmsg,
        SYS_fstat, SYS_newfstatat, SYS_stat, SYS_lstat, SYS_statx, SYS_getdents64, SYS_readlink, SYS_readlinkat,
        SYS_access, SYS_faccessat, SYS_faccessat2,
        /* waiting: the ring buffer's epoll, condition variables, the watchdog's sleep */
        SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2, SYS_epoll_ctl, SYS_poll, SYS_ppoll,
        SYS_futex, SYS_nanosleep, SYS_clock_nanosleep, SYS_sched_yield, SYS_restart_syscall,
        /* time, identity, resources */
        SYS_clock_gettime, SYS_clock_getres, SYS_gettimeofday, SYS_time, SYS_getpid, SYS_gettid, SYS_getppid,
        SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid, SYS_getrusage, SYS_sched_getaffinity, SYS_uname,
        SYS_getrandom,
        /* memory (the allocator) */
        SYS_munmap, SYS_mremap, SYS_madvise, SYS_brk,
        /* signals (SIGHUP reload, SIGINT/SIGTERM, the watchdog's interrupt) and threads ending */
        SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack, SYS_set_robust_list,
        SYS_rseq, SYS_set_tid_address, SYS_exit, SYS_exit_group,
    };
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++) allow(p, plain[k]);

    /* Files are opened to read only (signature files on reload, /proc/self/...). */
    allow_without_bits(p, SYS_openat, 2, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_EXCL | MW_O_TMPFILE_BIT, EACCES);
    /* No new executable memory. */
    allow_without_bits(p, SYS_mmap, 2, PROT_EXEC, EPERM);
    allow_without_bits(p, SYS_mprotect, 2, PROT_EXEC, EPERM);
    /* Threads, never processes: clone only with CLONE_THREAD; clone3 says ENOSYS so glibc uses clone. */
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4);
    LD_ARG_LO(p, 0);
    emit(p, BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
    RET(p, ALLOW);
    RET(p, FAIL(EPERM));
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
    RET(p, FAIL(ENOSYS));
    /* Signals only to itself. */
    const uint32_t self[] = { (uint32_t)pid };
    allow_values(p, SYS_tgkill, 0, self, 1);
    allow_values(p, SYS_kill, 0, self, 1);
    /* isatty() only. */
    const uint32_t ioctls[] = { TCGETS };
    allow_values(p, SYS_ioctl, 1, ioctls, 1);
    /* The kernel filter's table swap waits for running BPF programs with a global membarrier. */
    const uint32_t barriers[] = { 0 /* MEMBARRIER_CMD_QUERY */, 1 /* MEMBARRIER_CMD_GLOBAL */ };
    allow_values(p, SYS_membarrier, 0, barriers, 2);
    /* Thread names only. */
    const uint32_t prctls[] = { PR_SET_NAME, PR_GET_NAME };
    allow_values(p, SYS_prctl, 0, prctls, 2);
    /* BPF: map lookups and updates on descriptors it has (counters, --pid scope, filter tables),
     * never loading or attaching programs or creating maps. */
    const uint32_t bpfcmds[] = { 1 /* MAP_LOOKUP_ELEM */, 2 /* MAP_UPDATE_ELEM */, 3 /* MAP_DELETE_ELEM */,
                                 4 /* MAP_GET_NEXT_KEY */, 15 /* OBJ_GET_INFO_BY_FD */, 24 /* MAP_LOOKUP_BATCH */,
                                 25 /* MAP_LOOKUP_AND_DELETE_BATCH */, 26 /* MAP_UPDATE_BATCH */, 27 /* MAP_DELETE_BATCH */ };
    allow_values(p, SYS_bpf, 0, bpfcmds, (int)(sizeof bpfcmds / sizeof bpfcmds[0]));
    RET(p, FAIL(EPERM));
}

/* ---------------------------------------------------------------------------------------------
 * Per-thread part, run by each thread on itself (raw system calls only: it runs in a signal
 * handler).
 */
static int ruleset_fd = -1;
static uint64_t keep;
static _Atomic int acked, failed_errno;

static void drop_this_thread(void) {
    int err = 0;
    if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) err = errno;
    if (ruleset_fd >= 0 && syscall(SYS_landlock_restrict_self, ruleset_fd, 0) != 0 && !err) err = errno;
    /* Needs CAP_SETPCAP, so before the capabilities go. */
    long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
                SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    syscall(SYS_prctl, PR_SET_SECUREBITS, bits, 0, 0, 0);   /* refused without CAP_SETPCAP: the rest still holds */
    for (int c = 0; c < 64; c++) {
        if (keep & (1ull << c)) continue;
        if (syscall(SYS_prctl, PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno == EINVAL) break;   /* past the last one */
    }
    syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    for (int c = 0; c < 64; c++) {
        if (!(keep & (1ull << c))) continue;
        d[c / 32].effective |= 1u << (c % 32);
        d[c / 32].permitted |= 1u << (c % 32);
    }
    if (syscall(SYS_capset, &h, d) != 0 && !err) err = errno;
    if (err) atomic_store(&failed_errno, err);
    atomic_fetch_add(&acked, 1);
}

static void on_drop_signal(int sig) {
    (void)sig;
    int saved = errno;
    drop_this_thread();
    errno = saved;
}

/* Thread ids of this process, up to `max`. */
static int list_threads(pid_t *tids, int max) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        tids[n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    return n;
}

static int contains(const pid_t *a, int n, pid_t v) {
    for (int i = 0; i < n; i++) if (a[i] == v) return 1;
    return 0;
}

/* Every thread must show no capability, no_new_privs and the filter. */
static int verify(mw_drop_report *r) {
    pid_t tids[256];
    int n = list_threads(tids, 256);
    if (n <= 0) { snprintf(r->error, sizeof r->error, "cannot list /proc/self/task to check the drop"); return -1; }
    for (int i = 0; i < n; i++) {
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tids[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;   /* the thread ended */
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = 0;
        static const char *const capsets[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
        for (int k = 0; k < 5; k++) {
            char *line = strstr(buf, capsets[k]);
            unsigned long long v = line ? strtoull(line + strlen(capsets[k]), NULL, 16) : ~0ull;
            if (v & ~keep) {
                snprintf(r->error, sizeof r->error, "thread %d still has %s %llx", (int)tids[i], capsets[k], v);
                return -1;
            }
        }
        char *nnp = strstr(buf, "NoNewPrivs:"), *sc = strstr(buf, "Seccomp:");
        if (!nnp || atoi(nnp + 11) != 1 || !sc || atoi(sc + 8) != 2) {
            snprintf(r->error, sizeof r->error, "thread %d lacks no_new_privs or the seccomp filter", (int)tids[i]);
            return -1;
        }
    }
    r->threads = n;
    return 0;
}

int mw_drop_privileges(const char *const *read_paths, int npaths, uint64_t keep_caps, mw_drop_report *r) {
    memset(r, 0, sizeof *r);
    keep = keep_caps;
    r->kept_caps = keep_caps;
    atomic_store(&acked, 0);
    atomic_store(&failed_errno, 0);
    ruleset_fd = landlock_ruleset(read_paths, npaths, &r->landlock_abi, r->warning, sizeof r->warning);

    prog filter;
    build_filter(&filter, getpid());
    if (filter.n >= MAXPROG) { snprintf(r->error, sizeof r->error, "seccomp filter too long"); return -1; }

    /* Every other thread drops on itself; threads started meanwhile are found on the next pass. */
    int sig = SIGRTMIN + 7;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_drop_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &old);
    pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
    pid_t done[256];
    int ndone = 0, sent = 0;
    for (int pass = 0; pass < 20; pass++) {
        pid_t tids[256];
        int n = list_threads(tids, 256), fresh = 0;
        if (n < 0) { snprintf(r->error, sizeof r->error, "cannot list /proc/self/task"); return -1; }
        for (int i = 0; i < n; i++) {
            if (tids[i] == self || contains(done, ndone, tids[i]) || ndone >= 256) continue;
            if (syscall(SYS_tgkill, pid, tids[i], sig) == 0) { sent++; fresh++; }
            done[ndone++] = tids[i];
        }
        /* Wait (at most 2 s) for every signalled thread to have run its handler. */
        for (int w = 0; w < 2000 && atomic_load(&acked) < sent; w++) {
            struct timespec ms = { 0, 1000000 };
            nanosleep(&ms, NULL);
        }
        if (atomic_load(&acked) < sent) {
            snprintf(r->error, sizeof r->error, "%d of %d threads did not drop their privileges", sent - atomic_load(&acked), sent);
            return -1;
        }
        if (!fresh && pass > 0) break;
    }
    drop_this_thread();
    sigaction(sig, &old, NULL);
    if (atomic_load(&failed_errno)) {
        snprintf(r->error, sizeof r->error, "dropping capabilities: %s", strerror(atomic_load(&failed_errno)));
        return -1;
    }
    if (ruleset_fd >= 0) close(ruleset_fd);
    ruleset_fd = -1;

    struct sock_fprog fp = { (unsigned short)filter.n, filter.f };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp) != 0) {
        snprintf(r->error, sizeof r->error, "installing the seccomp filter: %s", strerror(errno));
        return -1;
    }
    return verify(r);
}

/* ---------------------------------------------------------------------------------------------
 * The opener helper. After the drop, `run` can neither create a file nor open one for writing
 * (seccomp refuses write flags; Landlock allows reading only, beneath the signature paths).
 * Two things still need an open: logrotate moves an output away and sends SIGUSR1, so the output
 * must be opened again at the same path; and SIGHUP re-reads the configuration file, which an
 * editor or a configuration manager usually replaces (a new file renamed over the old one: a new
 * inode, which a Landlock rule on the old file does not cover). A small process forked before the
 * drop does these opens and nothing else: it knows its paths from the start, waits for one byte
 * on a socketpair ('w': the outputs, 'r': the files to read), opens every path of that kind
 * (outputs: append, no symlinks, 0600, a file of this user with one link, as the first open
 * checked; reads: read-only) and hands the descriptors back with SCM_RIGHTS.
 * A compromised `run` can ask it to open the files it already had, nothing more: no path crosses
 * the socket. Granting `run` itself write access beneath the outputs' folders would let it append
 * to any root-owned file there (an output in /etc would put /etc/passwd in reach); reading beneath
 * the configuration's folder would open whatever else that folder holds.
 * The helper confines itself too: no_new_privs, CAP_DAC_OVERRIDE only (an output folder need not
 * be root's), Landlock (writes beneath the outputs' folders, reads beneath the read paths'
 * folders), and a seccomp list of the calls below. It ends when `run` closes the socket or its
 * parent dies (PR_SET_PDEATHSIG).
 */
#define MW_OPENER_MAX 8
#define MW_OPEN_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)

static void build_helper_filter(prog *p) {
    native_calls_only(p);
    static const int calls[] = { SYS_read, SYS_openat, SYS_fstat, SYS_newfstatat, SYS_close, SYS_sendmsg, SYS_fcntl, SYS_geteuid,
                                 SYS_rt_sigreturn, SYS_exit, SYS_exit_group, SYS_restart_syscall };
    for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) allow(p, calls[k]);
    RET(p, SECCOMP_RET_KILL_PROCESS);
}

/* An output: the open `run` made at start, minus the truncation (an output that logrotate left in
 * place, copytruncate or a new empty file it created, is appended to). A descriptor or -errno. */
static int open_output(const char *path) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, MW_OPEN_FLAGS, 0600);
    if (fd < 0) return -errno;
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) != 0) { int e = errno; syscall(SYS_close, fd); return -e; }
    int regular = S_ISREG(st.st_mode);
    if ((regular || S_ISFIFO(st.st_mode)) && st.st_uid != geteuid()) { syscall(SYS_close, fd); return -EPERM; }
    if (regular && st.st_nlink > 1) { syscall(SYS_close, fd); return -EMLINK; }
    syscall(SYS_fcntl, fd, F_SETFL, O_WRONLY | O_APPEND);   /* blocking writes again */
    return fd;
}

static int open_input(const char *path) {
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

/* The folder of `path` in `dir` ("." for a bare name). */
static void folder_of(const char *path, char *dir, size_t cap) {
    size_t len = strlen(path);
    if (len >= cap) { dir[0] = 0; return; }
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = 0; else if (slash) *slash = 0; else { dir[0] = '.'; dir[1] = 0; }
}

static void __attribute__((noreturn)) helper_main(int sock, char *const *paths, const int *modes, int n, pid_t parent) {
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(0);
    syscall(SYS_prctl, PR_SET_NAME, (unsigned long)"mw-opener", 0, 0, 0);
    /* Nothing of the parent's but the socket: not the probes, not the ring buffer, not the outputs. */
    if (sock > 0) syscall(436 /* close_range */, 0, sock - 1, 0);
    syscall(436, sock + 1, ~0u, 0);
    int abi = 0;
    char warn[8];
    ruleset_fd = landlock_new(&abi, warn, sizeof warn);
    if (ruleset_fd >= 0) {
        for (int i = 0; i < n; i++) {
            char dir[4096];
            folder_of(paths[i], dir, sizeof dir);
            if (dir[0]) landlock_allow(ruleset_fd, dir, modes[i] == MW_OPEN_READ ? LL_FS_READ_FILE : LL_FS_WRITE_FILE | LL_FS_MAKE_REG,
                                       warn, sizeof warn);
        }
    }
    keep = 1ull << 1;   /* CAP_DAC_OVERRIDE */
    atomic_store(&failed_errno, 0);
    drop_this_thread();
    if (atomic_load(&failed_errno)) {   /* it did not have that one: keep none */
        keep = 0;
        drop_this_thread();
    }
    prog filter;
    build_helper_filter(&filter);
    struct sock_fprog fp = { (unsigned short)filter.n, filter.f };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0) _exit(1);
    for (;;) {
        char c;
        ssize_t r = syscall(SYS_read, sock, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) _exit(0);
        int mode = c == 'r' ? MW_OPEN_READ : MW_OPEN_APPEND;
        int errs[MW_OPENER_MAX], fds[MW_OPENER_MAX], nfds = 0;
        for (int i = 0; i < n; i++) {
            if (modes[i] != mode) { errs[i] = -1; continue; }
            int fd = mode == MW_OPEN_READ ? open_input(paths[i]) : open_output(paths[i]);
            errs[i] = fd < 0 ? -fd : 0;
            if (fd >= 0) fds[nfds++] = fd;
        }
        union { char buf[CMSG_SPACE(sizeof(int) * MW_OPENER_MAX)]; struct cmsghdr align; } ctl;
        memset(&ctl, 0, sizeof ctl);
        struct iovec iov = { errs, sizeof(int) * (size_t)n };
        struct msghdr m = { 0 };
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        if (nfds > 0) {
            m.msg_control = ctl.buf;
            m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
            struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
            memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
        }
        ssize_t sent;
        do { sent = syscall(SYS_sendmsg, sock, &m, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
        for (int k = 0; k < nfds; k++) syscall(SYS_close, fds[k]);
        if (sent < 0) _exit(0);
    }
}

int mw_opener_start(const char *const *paths, const int *modes, int npaths, mw_opener *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    o->sock = -1;
    if (npaths < 1 || npaths > MW_OPENER_MAX) { snprintf(err, errlen, "the opener helper takes 1 to %d paths", MW_OPENER_MAX); return -1; }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) { snprintf(err, errlen, "socketpair: %s", strerror(errno)); return -1; }
    /* Everything the child uses is prepared here: after fork only system calls run in it. */
    char *copy[MW_OPENER_MAX];
    int copymodes[MW_OPENER_MAX];
    for (int i = 0; i < npaths; i++) { copy[i] = strdup(paths[i]); copymodes[i] = modes[i]; o->modes[i] = modes[i]; }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        for (int i = 0; i < npaths; i++) free(copy[i]);
        close(sv[0]); close(sv[1]);
        return -1;
    }
    if (pid == 0) helper_main(sv[1], copy, copymodes, npaths, parent);
    for (int i = 0; i < npaths; i++) free(copy[i]);
    close(sv[1]);
    o->sock = sv[0];
    o->pid = pid;
    o->npaths = npaths;
    return 0;
}

int mw_opener_open(const mw_opener *o, int mode, int *fds, int *errs) {
    for (int i = 0; i < o->npaths; i++) { fds[i] = -1; errs[i] = o->modes[i] == mode ? EIO : -1; }
    if (o->sock < 0) return -1;
    char c = mode == MW_OPEN_READ ? 'r' : 'w';
    if (write(o->sock, &c, 1) != 1) return -1;
    union { char buf[CMSG_SPACE(sizeof(int) * MW_OPENER_MAX)]; struct cmsghdr align; } ctl;
    int got[MW_OPENER_MAX];
    struct iovec iov = { got, sizeof(int) * (size_t)o->npaths };
    struct msghdr m = { 0 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.buf;
    m.msg_controllen = sizeof ctl.buf;
    ssize_t r;
    do { r = recvmsg(o->sock, &m, MSG_CMSG_CLOEXEC); } while (r < 0 && errno == EINTR);
    if (r != (ssize_t)(sizeof(int) * (size_t)o->npaths)) return -1;
    int passed[MW_OPENER_MAX], npassed = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int j = 0; j < k && npassed < MW_OPENER_MAX; j++) memcpy(&passed[npassed++], CMSG_DATA(cm) + j * sizeof(int), sizeof(int));
    }
    int next = 0;
    for (int i = 0; i < o->npaths; i++) {
        errs[i] = got[i];
        if (got[i] == 0) fds[i] = next < npassed ? passed[next++] : -1;
        if (got[i] == 0 && fds[i] < 0) errs[i] = EIO;
    }
    return 0;
}

void mw_opener_stop(mw_opener *o) {
    if (o->sock >= 0) close(o->sock);
    o->sock = -1;
}
