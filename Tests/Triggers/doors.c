/*
 * "Same effect through a different door": system calls that open files, duplicate descriptors,
 * take descriptors from another process and touch another process's memory without the calls
 * detections usually watch (openat, dup*, ptrace). Each is made natively and, where the ia32
 * table has it, through int $0x80; every result is printed for the live tests
 * (LiveNewSyscallsTests.swift).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "triggers.h"

/* ia32 numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
enum {
    NR32_OPEN = 5, NR32_CREAT = 8, NR32_FCNTL = 55, NR32_FCNTL64 = 221, NR32_PROCESS_VM_READV = 347,
    NR32_PROCESS_VM_WRITEV = 348, NR32_OPENAT2 = 437, NR32_PIDFD_GETFD = 438,
};

/* The result of a libc syscall() as the kernel returned it: -errno on failure. */
static long raw(long r) { return r < 0 ? -(long)errno : r; }

/* int $0x80 with 0 in %ebp, the sixth argument (process_vm_* flags), which int80() leaves as it
 * is. The red zone below %rsp is stepped over before %rbp is saved on the stack. */
static long int80_flags0(long nr, long a, long b, long c, long d, long e)
{
    long ret;
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "push %%rbp\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "int $0x80\n\t"
                     "pop %%rbp\n\t"
                     "add $128, %%rsp"
                     : "=a"(ret)
                     : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                     : "memory", "r8", "r9", "r10", "r11");
    return (int)ret;
}

static void close_all(const long *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close((int)fds[i]);
}

/* open, creat and openat2, natively and through int $0x80. */
int doors_open(void)
{
    char creat64[64], creat32[64];
    snprintf(creat64, sizeof(creat64), "/tmp/mw-doors-%d.creat64", getpid());
    snprintf(creat32, sizeof(creat32), "/tmp/mw-doors-%d.creat32", getpid());

    long o = raw(syscall(SYS_open, "/etc/hostname", O_RDONLY | O_CLOEXEC, 0));
    long c = raw(syscall(SYS_creat, creat64, 0600));
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_NO_MAGICLINKS};
    long o2 = raw(syscall(SYS_openat2, AT_FDCWD, "/etc/hostname", &how, sizeof(how)));
    /* A size below the first version of struct open_how: -EINVAL. */
    long small = raw(syscall(SYS_openat2, AT_FDCWD, "/etc/hostname", &how, (size_t)8));
    OUT("open=%ld creat=%ld creat_path=%s openat2=%ld how=%lu how_size=%zu openat2_small=%ld\n", o, c, creat64, o2,
        (unsigned long)(uintptr_t)&how, sizeof(how), small);

    /* The compat calls take 32-bit pointers: strings and open_how below 4 GiB. */
    char *low = low_page();
    strcpy(low, "/etc/hostname");
    strcpy(low + 256, creat32);
    struct open_how *how32 = (struct open_how *)(low + 512);
    how32->flags = O_RDONLY;
    how32->resolve = RESOLVE_BENEATH;
    long co = int80(NR32_OPEN, lo32(low), O_RDONLY, 0, 0, 0);
    long cc = int80(NR32_CREAT, lo32(low + 256), 0640, 0, 0, 0);
    /* RESOLVE_BENEATH refuses an absolute path: -EXDEV. */
    long co2 = int80(NR32_OPENAT2, AT_FDCWD, lo32(low), lo32(how32), sizeof(*how32), 0);
    OUT("compat_open=%ld compat_creat=%ld compat_creat_path=%s compat_openat2=%ld compat_how=%u\n", co, cc, creat32,
        co2, lo32(how32));

    long fds[] = {o, c, o2, co, cc};
    close_all(fds, 5);
    unlink(creat64);
    unlink(creat32);
    return 0;
}

/* fcntl(F_DUPFD / F_DUPFD_CLOEXEC): natively (72), and through ia32 fcntl (55) and fcntl64 (221). */
int doors_fcntl(void)
{
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) die("open /dev/null");
    long d1 = raw(syscall(SYS_fcntl, fd, F_DUPFD, 10));
    long d2 = raw(syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 20));
    long bad = raw(syscall(SYS_fcntl, 999, F_DUPFD, 0)); /* -EBADF */
    long c1 = int80(NR32_FCNTL, fd, F_DUPFD, 30, 0, 0);
    long c2 = int80(NR32_FCNTL64, fd, F_DUPFD_CLOEXEC, 40, 0, 0);
    OUT("fd=%d dupfd=%ld dupfd_cloexec=%ld dupfd_bad=%ld compat_dupfd=%ld compat64_dupfd_cloexec=%ld\n", fd, d1, d2, bad,
        c1, c2);
    long fds[] = {d1, d2, c1, c2, fd};
    close_all(fds, 5);
    return 0;
}

/* A child holds a file open; the parent takes a copy with pidfd_getfd, natively and through int $0x80. */
int doors_pidfd(void)
{
    int ready[2], go[2];
    if (pipe(ready) < 0 || pipe(go) < 0) die("pipe");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        int fd = open("/etc/hostname", O_RDONLY);
        if (write(ready[1], &fd, sizeof(fd)) != sizeof(fd)) _exit(2);
        char b;
        if (read(go[0], &b, 1) != 1) _exit(2);
        _exit(0);
    }
    int target;
    if (read(ready[0], &target, sizeof(target)) != sizeof(target)) die("read");
    long pidfd = raw(syscall(SYS_pidfd_open, child, 0));
    if (pidfd < 0) die("pidfd_open");
    long got = raw(syscall(SYS_pidfd_getfd, pidfd, target, 0));
    long bad = raw(syscall(SYS_pidfd_getfd, pidfd, 999, 0)); /* not open in the child: -EBADF */
    long got32 = int80(NR32_PIDFD_GETFD, pidfd, target, 0, 0, 0);
    OUT("child=%d pidfd=%ld targetfd=%d pidfd_getfd=%ld pidfd_getfd_bad=%ld compat_pidfd_getfd=%ld\n", child, pidfd,
        target, got, bad, got32);
    if (write(go[1], "g", 1) != 1) die("write");
    int st;
    waitpid(child, &st, 0);
    long fds[] = {got, got32, pidfd};
    close_all(fds, 3);
    return 0;
}

/* process_vm_writev and process_vm_readv into a child, natively and through int $0x80, and one
 * write to a read-only page that the kernel refuses (no FOLL_FORCE, unlike ptrace). */
int doors_vm(void)
{
    char *low = low_page(); /* below 4 GiB, so the compat iovecs can name it; the child has it too */
    char *native = low, *compat = low + 64, *ro = low + 8 * 4096;
    strcpy(native, "original-native");
    strcpy(compat, "original-compat");
    strcpy(ro, "read-only");
    if (mprotect(ro, 4096, PROT_READ) < 0) die("mprotect");

    int ready[2], go[2];
    if (pipe(ready) < 0 || pipe(go) < 0) die("pipe");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        char b;
        if (write(ready[1], "r", 1) != 1 || read(go[0], &b, 1) != 1) _exit(2);
        OUT("child_native=%s child_compat=%s child_ro=%s\n", native, compat, ro);
        _exit(0);
    }
    char b;
    if (read(ready[0], &b, 1) != 1) die("read");

    struct iovec wl = {"NATIVE", 6}, wr = {native, 6};
    long w = raw(process_vm_writev(child, &wl, 1, &wr, 1, 0));
    char rbuf[16] = {0};
    struct iovec rl = {rbuf, 15}, rr = {native, 15};
    long r = raw(process_vm_readv(child, &rl, 1, &rr, 1, 0));
    struct iovec rol = {"XX", 2}, ror = {ro, 2};
    long wro = raw(process_vm_writev(child, &rol, 1, &ror, 1, 0));
    OUT("child=%d writev=%ld writev_local=%lu writev_remote=%lu readv=%ld readv_data=%s writev_ro=%ld\n", child, w,
        (unsigned long)(uintptr_t)&wl, (unsigned long)(uintptr_t)&wr, r, rbuf, wro);

    /* compat iovec: {u32 base, u32 len} */
    uint32_t *liov = (uint32_t *)(low + 1024), *riov = (uint32_t *)(low + 1040);
    char *data = low + 2048, *back = low + 3072;
    memcpy(data, "COMPAT", 6);
    liov[0] = lo32(data); liov[1] = 6;
    riov[0] = lo32(compat); riov[1] = 6;
    long w32 = int80_flags0(NR32_PROCESS_VM_WRITEV, child, lo32(liov), 1, lo32(riov), 1);
    liov[0] = lo32(back); liov[1] = 15;
    riov[0] = lo32(compat); riov[1] = 15;
    long r32 = int80_flags0(NR32_PROCESS_VM_READV, child, lo32(liov), 1, lo32(riov), 1);
    OUT("compat_writev=%ld compat_readv=%ld compat_readv_data=%.15s compat_local=%u compat_remote=%u\n", w32, r32, back,
        lo32(liov), lo32(riov));

    if (write(go[1], "g", 1) != 1) die("write");
    int st;
    waitpid(child, &st, 0);
    OUT("child_status=%d\n", WEXITSTATUS(st));
    return 0;
}
