/*
 * mw-trigger: makes the system calls moonwatch's live tests assert on.
 *
 *   mw-trigger SCENARIO [ARGS]
 *
 * Each scenario prints what it did as key=value lines on standard output (pid, descriptors,
 * ports, return values) so a test can match the decoded events exactly. With MW_TRIGGER_WAIT=1
 * it first waits for one byte on standard input, so a test can put the pid in scope before
 * anything happens. Exit status 0 means the scenario ran (individual calls may fail on
 * purpose; their results are printed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/memfd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "triggers.h"

void die(const char *what)
{
    fprintf(stderr, "mw-trigger: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* ---------------------------------------------------------------- helpers ---- */

int udp_bound(int family, int *port)
{
    int s = socket(family, SOCK_DGRAM, 0);
    if (s < 0) die("socket");
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (void *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (void *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    }
    if (bind(s, (void *)&ss, len) < 0) die("bind");
    if (getsockname(s, (void *)&ss, &len) < 0) die("getsockname");
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return s;
}

struct sockaddr_in loopback4(int port)
{
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* Sends `fd` over `sock` with SCM_RIGHTS, one byte of payload. */
ssize_t send_fd(int sock, int fd)
{
    char byte = 'x';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof(u));
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &m, 0);
}

/* Receives one descriptor; returns it or -1. */
int recv_fd(int sock)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    if (recvmsg(sock, &m, 0) < 0) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

/* int $0x80 from 64-bit code: the ia32 syscall table, 32-bit arguments. */
long int80(long nr, long a, long b, long c, long d, long e)
{
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                     : "memory", "r8", "r9", "r10", "r11");
    return (int)ret;
}

/* Memory below 4 GiB, so its addresses fit compat (32-bit) pointers. */
void *low_page(void)
{
    void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (p == MAP_FAILED) die("mmap MAP_32BIT");
    memset(p, 0, 65536);
    return p;
}

uint32_t lo32(const void *p) { return (uint32_t)(uintptr_t)p; }

/* ---------------------------------------------------------------- scenarios ---- */

/* Every socket call once, with known arguments. */
static int socket_calls(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    OUT("socketpair=%d,%d\n", sv[0], sv[1]);
    int one = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));

    /* sendmsg: two buffers, SCM_RIGHTS and SCM_CREDENTIALS in one control buffer */
    int nullfd = open("/dev/null", O_RDONLY);
    OUT("nullfd=%d\n", nullfd);
    char a[3] = "abc", b[5] = "defgh";
    struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    union { char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof(u));
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &nullfd, sizeof(int));
    c = CMSG_NXTHDR(&m, c);
    struct ucred cred = {.pid = getpid(), .uid = getuid(), .gid = getgid()};
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS; c->cmsg_len = CMSG_LEN(sizeof(cred));
    memcpy(CMSG_DATA(c), &cred, sizeof(cred));
    OUT("sendmsg=%zd controllen=%zu\n", sendmsg(sv[0], &m, 0), sizeof(u.buf));

    char rbuf[32];
    struct iovec riov = {rbuf, sizeof(rbuf)};
    union { char buf[256]; struct cmsghdr align; } ru;
    struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = ru.buf, .msg_controllen = sizeof(ru.buf)};
    ssize_t r = recvmsg(sv[1], &rm, 0);
    int got = -1;
    for (struct cmsghdr *x = CMSG_FIRSTHDR(&rm); x; x = CMSG_NXTHDR(&rm, x))
        if (x->cmsg_type == SCM_RIGHTS) memcpy(&got, CMSG_DATA(x), sizeof(int));
    OUT("recvmsg=%zd received_fd=%d rcontrollen=%zu\n", r, got, (size_t)rm.msg_controllen);

    /* sendto / recvfrom over UDP, IPv4 and IPv6 */
    int port4, port6;
    int r4 = udp_bound(AF_INET, &port4);
    int s4 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to4 = loopback4(port4);
    OUT("udp4_port=%d sendto_fd=%d\n", port4, s4);
    OUT("sendto=%zd\n", sendto(s4, "hello", 5, 0, (void *)&to4, sizeof(to4)));
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof(from);
    OUT("recvfrom=%zd recvfrom_fd=%d\n", recvfrom(r4, rbuf, sizeof(rbuf), 0, (void *)&from, &fromlen), r4);
    OUT("from_port=%d\n", ntohs(((struct sockaddr_in *)&from)->sin_port));

    int r6 = udp_bound(AF_INET6, &port6);
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 to6 = {.sin6_family = AF_INET6, .sin6_port = htons(port6), .sin6_addr = in6addr_loopback};
    OUT("udp6_port=%d\n", port6);
    OUT("sendto6=%zd\n", sendto(s6, "hi6", 3, 0, (void *)&to6, sizeof(to6)));
    (void)r6;

    /* bind: a path, an abstract name */
    int us = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "/tmp/mw-trigger-%d.sock", getpid());
    unlink(un.sun_path);
    OUT("unix_path=%s bind_unix=%d\n", un.sun_path,
        bind(us, (void *)&un, offsetof(struct sockaddr_un, sun_path) + strlen(un.sun_path) + 1));
    unlink(un.sun_path);
    int as = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un ab = {.sun_family = AF_UNIX};
    int n = snprintf(ab.sun_path + 1, sizeof(ab.sun_path) - 1, "mw-trigger-%d", getpid());
    OUT("abstract=@%s bind_abstract=%d\n", ab.sun_path + 1, bind(as, (void *)&ab, offsetof(struct sockaddr_un, sun_path) + 1 + n));

    /* TCP: listen, connect, accept4 */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = loopback4(0);
    bind(ls, (void *)&la, sizeof(la));
    socklen_t ll = sizeof(la);
    getsockname(ls, (void *)&la, &ll);
    OUT("tcp_port=%d listen_fd=%d\n", ntohs(la.sin_port), ls);
    OUT("listen=%d\n", listen(ls, 7));
    int cs = socket(AF_INET, SOCK_STREAM, 0);
    OUT("connect_fd=%d connect=%d\n", cs, connect(cs, (void *)&la, sizeof(la)));
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    int acc = accept4(ls, (void *)&peer, &pl, SOCK_CLOEXEC);
    OUT("accept4=%d peer_port=%d\n", acc, ntohs(peer.sin_port));

    /* sendmmsg / recvmmsg (64-bit) over UDP */
    struct mmsghdr mm[2];
    memset(mm, 0, sizeof(mm));
    struct iovec mi[2] = {{"one", 3}, {"three", 5}};
    for (int i = 0; i < 2; i++) {
        mm[i].msg_hdr.msg_name = &to4;
        mm[i].msg_hdr.msg_namelen = sizeof(to4);
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    OUT("sendmmsg=%d\n", sendmmsg(s4, mm, 2, 0));
    struct mmsghdr rmm[2];
    char rb[2][64];
    struct iovec rio[2] = {{rb[0], 64}, {rb[1], 64}};
    memset(rmm, 0, sizeof(rmm));
    for (int i = 0; i < 2; i++) { rmm[i].msg_hdr.msg_iov = &rio[i]; rmm[i].msg_hdr.msg_iovlen = 1; }
    struct timespec to = {1, 0};
    OUT("recvmmsg=%d\n", recvmmsg(r4, rmm, 2, 0, &to));
    return 0;
}

/* An fd passed to a child process over a UNIX socket. mode: 0 file, 1 socket, 2 receiver uid 65534 */
static int fdpass(const char *path, int mode)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) die("socketpair");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        close(sv[0]);
        if (mode == 2) {
            if (setgid(65534) < 0 || setuid(65534) < 0) die("setuid");
        }
        int fd = recv_fd(sv[1]);
        OUT("child=%d received_fd=%d uid=%d\n", getpid(), fd, getuid());
        _exit(fd >= 0 ? 0 : 1);
    }
    close(sv[1]);
    int fd;
    if (mode == 1) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
    } else {
        fd = open(path, O_RDONLY);
        if (fd < 0) die(path);
    }
    if (mode == 2) usleep(100000); /* let the child drop privileges first */
    OUT("sender=%d sockfd=%d passed_fd=%d\n", getpid(), sv[0], fd);
    OUT("sendmsg=%zd\n", send_fd(sv[0], fd));
    int st;
    waitpid(child, &st, 0);
    OUT("child_status=%d\n", WEXITSTATUS(st));
    return 0;
}

/* recvmmsg through the ia32 entry (337, recvmmsg_time32) and the 64-bit one (299). */
static int recvmmsg_calls(int compat, int native)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    OUT("fd=%d\n", sv[1]);
    if (compat) {
        char *low = low_page();
        /* compat_mmsghdr { compat_msghdr (28), u32 msg_len } ; compat_iovec { u32 base, u32 len } */
        uint32_t *mm = (uint32_t *)low;
        uint32_t *iov = (uint32_t *)(low + 256);
        int32_t *ts = (int32_t *)(low + 512);
        char *buf = low + 1024;
        iov[0] = lo32(buf);
        iov[1] = 64;
        mm[2] = lo32(iov); /* msg_iov */
        mm[3] = 1;         /* msg_iovlen */
        ts[0] = 1;
        ts[1] = 0;
        if (send(sv[0], "hello", 5, 0) != 5) die("send");
        long r = int80(337, sv[1], lo32(mm), 1, 0, lo32(ts));
        OUT("compat_recvmmsg=%ld msg_len=%u mmsg=%u\n", r, mm[7], lo32(mm));
    }
    if (native) {
        char buf[64];
        struct iovec iov = {buf, 64};
        struct mmsghdr mm = {0};
        mm.msg_hdr.msg_iov = &iov;
        mm.msg_hdr.msg_iovlen = 1;
        struct timespec ts = {1, 0};
        if (send(sv[0], "hello", 5, 0) != 5) die("send");
        long r = syscall(SYS_recvmmsg, sv[1], &mm, 1, 0, &ts);
        OUT("native_recvmmsg=%ld msg_len=%u\n", r, mm.msg_len);
    }
    return 0;
}

/* sendmsg with SCM_RIGHTS through the ia32 entry (370), and sendto through socketcall (102). */
static int compat_socket(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    int fd = open("/etc/hostname", O_RDONLY);
    char *low = low_page();
    uint32_t *msg = (uint32_t *)low;          /* compat_msghdr */
    uint32_t *iov = (uint32_t *)(low + 128);  /* compat_iovec */
    uint32_t *cm = (uint32_t *)(low + 256);   /* compat_cmsghdr + one int */
    char *data = low + 512;
    memcpy(data, "ping", 4);
    iov[0] = lo32(data); iov[1] = 4;
    cm[0] = 16; cm[1] = SOL_SOCKET; cm[2] = SCM_RIGHTS; cm[3] = (uint32_t)fd;
    msg[2] = lo32(iov); msg[3] = 1; msg[4] = lo32(cm); msg[5] = 16;
    OUT("sockfd=%d passed_fd=%d\n", sv[0], fd);
    OUT("compat_sendmsg=%ld\n", int80(370, sv[0], lo32(msg), 0, 0, 0));

    int port;
    int r4 = udp_bound(AF_INET, &port);
    (void)r4;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in *to = (struct sockaddr_in *)(low + 1024);
    *to = loopback4(port);
    uint32_t *args = (uint32_t *)(low + 2048);
    memcpy(low + 3072, "sc", 2);
    args[0] = s; args[1] = lo32(low + 3072); args[2] = 2; args[3] = 0; args[4] = lo32(to); args[5] = sizeof(*to);
    OUT("socketcall_fd=%d port=%d\n", s, port);
    OUT("socketcall_sendto=%ld\n", int80(102, 11 /* SYS_SENDTO */, lo32(args), 0, 0, 0));
    return 0;
}

/* A thread flips the destination port while the main thread loops on sendto. */
static volatile int stop_flip, flipping;
static struct sockaddr_in race_addr;
static int port_a, port_b;

static void *flipper(void *arg)
{
    (void)arg;
    uint16_t pa = htons(port_a), pb = htons(port_b);
    /* Dwell on each value so a read at a random moment sees either one. */
    flipping = 1;
    while (!stop_flip) {
        *(volatile uint16_t *)&race_addr.sin_port = pa;
        for (volatile int i = 0; i < 300; i++) {}
        *(volatile uint16_t *)&race_addr.sin_port = pb;
        for (volatile int i = 0; i < 300; i++) {}
    }
    return NULL;
}

static int toctou_sendto(int n)
{
    int ra = udp_bound(AF_INET, &port_a), rb = udp_bound(AF_INET, &port_b);
    (void)ra; (void)rb;
    race_addr = loopback4(port_a);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    OUT("fd=%d port_a=%d port_b=%d\n", s, port_a, port_b);
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    while (!flipping) {}
    int ok = 0;
    for (int i = 0; i < n; i++)
        if (sendto(s, "race", 4, MSG_DONTWAIT, (void *)&race_addr, sizeof(race_addr)) == 4) ok++;
    stop_flip = 1;
    pthread_join(t, NULL);
    OUT("sent=%d\n", ok);
    return 0;
}

static int uffd_unpriv(void)
{
    if (setgid(65534) < 0 || setuid(65534) < 0) die("setuid");
    /* Without UFFD_USER_MODE_ONLY this needs vm.unprivileged_userfaultfd=1; with it, it works. */
    long r = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    OUT("uid=%d userfaultfd=%ld errno=%d\n", getuid(), r, r < 0 ? errno : 0);
    long u = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
    OUT("usermode_userfaultfd=%ld usermode_errno=%d\n", u, u < 0 ? errno : 0);
    return 0;
}

/* The reverse-shell shape: a connected TCP socket on 0, 1, 2, then a shell. */
static int revshell(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = loopback4(0);
    bind(ls, (void *)&la, sizeof(la));
    socklen_t ll = sizeof(la);
    getsockname(ls, (void *)&la, &ll);
    listen(ls, 1);
    OUT("port=%d\n", ntohs(la.sin_port));
    pid_t child = fork();
    if (child == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (void *)&la, sizeof(la)) < 0) die("connect");
        dup2(s, 0);
        dup2(s, 1);
        dup2(s, 2);
        char *argv[] = {"sh", "-c", "true", NULL};
        char *envp[] = {"PATH=/usr/bin:/bin", NULL};
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    int c = accept(ls, NULL, NULL);
    int st;
    waitpid(child, &st, 0);
    close(c);
    OUT("child=%d status=%d\n", child, WEXITSTATUS(st));
    return 0;
}

/* Copies the file at `src` into the open descriptor `out`. */
void copy_into(const char *src, int out)
{
    int in = open(src, O_RDONLY);
    if (in < 0) die("open for copy");
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, n) != n) die("copy");
    close(in);
}

/* Copies the file at `src` to a new executable file `dst`. */
void copy_file(const char *src, const char *dst)
{
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    if (out < 0) die("create copy");
    copy_into(src, out);
    close(out);
}

/* A memfd holding a copy of /bin/true. */
int payload_memfd(void)
{
    int fd = memfd_create("mw-payload", 0);
    if (fd < 0) die("memfd_create");
    copy_into("/bin/true", fd);
    return fd;
}

/* A program copied into a memfd and executed from it. */
static int memfd_exec(void)
{
    pid_t child = fork();
    if (child == 0) {
        int fd = payload_memfd();
        printf("memfd=%d\n", fd);
        fflush(stdout);
        char *argv[] = {"mw-payload", NULL};
        char *envp[] = {NULL};
        syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
        die("execveat");
    }
    int st;
    waitpid(child, &st, 0);
    OUT("child=%d status=%d\n", child, WEXITSTATUS(st));
    return 0;
}

static volatile long poke_target = 1;

/* PTRACE_TRACEME in a child, then PTRACE_POKETEXT into it from the parent. */
static int ptrace_poke(void)
{
    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        raise(SIGSTOP);
        _exit(poke_target == 0x41414141 ? 0 : 3);
    }
    int st;
    waitpid(child, &st, 0);
    long r = ptrace(PTRACE_POKETEXT, child, (void *)&poke_target, (void *)0x41414141L);
    OUT("child=%d addr=%lu poketext=%ld\n", child, (unsigned long)(uintptr_t)&poke_target, r);
    ptrace(PTRACE_CONT, child, NULL, NULL);
    waitpid(child, &st, 0);
    OUT("status=%d\n", WEXITSTATUS(st));
    return 0;
}

/* Module loading with input the kernel refuses: the calls fail, the events exist. */
static int modules(void)
{
    char image[64] = {0};
    long r1 = syscall(SYS_init_module, image, sizeof(image), "mw_param=1");
    int e1 = errno;
    int fd = open("/dev/null", O_RDONLY);
    long r2 = syscall(SYS_finit_module, fd, "mw_param=2", 0);
    int e2 = errno;
    OUT("init_module=%ld errno=%d finit_fd=%d finit_module=%ld errno2=%d\n", r1, e1, fd, r2, e2);
    return 0;
}

static int packet_socket(void)
{
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    OUT("packet_socket=%d errno=%d\n", s, s < 0 ? errno : 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mw-trigger socket-calls | fdpass FILE | fdpass-socket | fdpass-uid FILE | "
                        "recvmmsg-compat | recvmmsg-native | recvmmsg-both | compat-socket | toctou-sendto N | "
                        "uffd-unpriv | revshell | memfd-exec | ptrace | modules | packet-socket | filter-matrix | "
                        "flood N | pass-shadow | cold-exec | cold-connect | far32 | exec-race N | caps-control FILE | caps-fds FILE N | caps-mmsg FILE | "
                        "caps-argv N | long-race N | io-uring FILE | shells | doors-open | doors-fcntl | "
                        "doors-pidfd | doors-vm | proc-mem\n");
        return 2;
    }
    const char *w = getenv("MW_TRIGGER_WAIT");
    OUT("pid=%d\n", getpid());
    if (w && *w == '1') {
        char c;
        if (read(0, &c, 1) != 1) return 2;
    }
    const char *s = argv[1];
    const char *arg = argc > 2 ? argv[2] : NULL;
    if (!strcmp(s, "socket-calls")) return socket_calls();
    if (!strcmp(s, "fdpass")) return fdpass(arg ? arg : "/etc/hostname", 0);
    if (!strcmp(s, "fdpass-socket")) return fdpass(NULL, 1);
    if (!strcmp(s, "fdpass-uid")) return fdpass(arg ? arg : "/etc/hostname", 2);
    if (!strcmp(s, "recvmmsg-compat")) return recvmmsg_calls(1, 0);
    if (!strcmp(s, "recvmmsg-native")) return recvmmsg_calls(0, 1);
    if (!strcmp(s, "recvmmsg-both")) return recvmmsg_calls(1, 1);
    if (!strcmp(s, "compat-socket")) return compat_socket();
    if (!strcmp(s, "toctou-sendto")) return toctou_sendto(arg ? atoi(arg) : 20000);
    if (!strcmp(s, "uffd-unpriv")) return uffd_unpriv();
    if (!strcmp(s, "revshell")) return revshell();
    if (!strcmp(s, "memfd-exec")) return memfd_exec();
    if (!strcmp(s, "ptrace")) return ptrace_poke();
    if (!strcmp(s, "modules")) return modules();
    if (!strcmp(s, "packet-socket")) return packet_socket();
    if (!strcmp(s, "filter-matrix")) return filter_matrix();
    if (!strcmp(s, "flood")) return flood(arg ? atol(arg) : 500000);
    if (!strcmp(s, "pass-shadow")) return fdpass("/etc/shadow", 0);
    if (!strcmp(s, "cold-exec")) return cold_exec();
    if (!strcmp(s, "cold-connect")) return cold_connect();
    if (!strcmp(s, "far32")) return far32();
    if (!strcmp(s, "exec-race")) return exec_race(arg ? atoi(arg) : 200);
    if (!strcmp(s, "caps-control")) return caps_control(arg ? arg : "/etc/hostname");
    if (!strcmp(s, "caps-fds")) return caps_fds(arg ? arg : "/etc/hostname", argc > 3 ? atoi(argv[3]) : 100);
    if (!strcmp(s, "caps-mmsg")) return caps_mmsg(arg ? arg : "/etc/hostname");
    if (!strcmp(s, "caps-argv")) return caps_argv(arg ? atoi(arg) : 40);
    if (!strcmp(s, "shells")) return shells();
    if (!strcmp(s, "proc-mem")) return proc_mem();
    if (!strcmp(s, "io-uring")) return io_uring_ops(arg ? arg : "/etc/hostname");
    if (!strcmp(s, "long-race")) return long_race(arg ? atoi(arg) : 40);
    if (!strcmp(s, "doors-open")) return doors_open();
    if (!strcmp(s, "doors-fcntl")) return doors_fcntl();
    if (!strcmp(s, "doors-pidfd")) return doors_pidfd();
    if (!strcmp(s, "doors-vm")) return doors_vm();
    fprintf(stderr, "mw-trigger: unknown scenario %s\n", s);
    return 2;
}
