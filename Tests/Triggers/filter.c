/*
 * Scenarios for the kernel filter's tests.
 *
 * filter-matrix: calls that differ from each other by one fact a signature filter can test
 * (ABI, process word size, comm, uid, argument values, success, control message type, whether a
 * TOCTOU argument changed), so that a test can check, call by call, that whatever a signature's
 * filter accepts in user space also left the kernel. The TOCTOU change is made deterministic:
 * a second thread rewrites the message header while the call is blocked in the kernel, after
 * the kernel has copied it.
 *
 * flood N: N sendmsg+recvmsg round trips over a UNIX datagram socketpair, as fast as possible.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "triggers.h"

static ssize_t send_control(int sock, int level, int type, const void *data, size_t len, size_t payload)
{
    char buf[64] = {0};
    struct iovec iov = {.iov_base = buf, .iov_len = payload};
    union { char b[CMSG_SPACE(64)]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof(u));
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = CMSG_SPACE(len)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(c), data, len);
    return sendmsg(sock, &m, 0);
}

static ssize_t send_plain(int sock, size_t payload)
{
    char buf[256] = {0};
    struct iovec iov = {.iov_base = buf, .iov_len = payload};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    return sendmsg(sock, &m, 0);
}

/* recvmsg with a control buffer of `ctl` bytes (0: none). Returns the result; *types gets
 * 1 for SCM_RIGHTS, 2 for SCM_CREDENTIALS received. */
static ssize_t recv_with(int sock, size_t ctl, int flags, int *types)
{
    char buf[256];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    union { char b[256]; struct cmsghdr align; } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl ? u.b : NULL, .msg_controllen = ctl};
    ssize_t r = recvmsg(sock, &m, flags);
    *types = 0;
    if (r >= 0 && ctl) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_type == SCM_RIGHTS) {
                int fd;
                memcpy(&fd, CMSG_DATA(c), sizeof(fd));
                close(fd);
                *types |= 1;
            } else if (c->cmsg_type == SCM_CREDENTIALS) {
                *types |= 2;
            }
        }
    }
    return r;
}

/* A sendmsg that blocks (the stream socket's buffer is full) while another thread rewrites its
 * message header: the kernel copied the header before blocking, the exit read sees the new one. */
struct blocked_send {
    int sock;
    struct msghdr m;
    struct iovec iov[2];
    char data[2][64];
    volatile int started;
    ssize_t ret;
};

static void *blocked_sender(void *arg)
{
    struct blocked_send *b = arg;
    b->started = 1;
    b->ret = sendmsg(b->sock, &b->m, 0);
    return NULL;
}

/* A sendmsg blocked in the kernel (the socket's buffer full, its header already copied) while
 * `what` rewrites it: 0 an iovec length, 1 the header's iovec count, -1 nothing. Then drained so
 * the send completes; prints `key`=its result. */
static void blocked_send_rewritten(int what, const char *key)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) die("socketpair");
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    /* fill the pipe */
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    char junk[4096] = {0};
    while (write(sv[0], junk, sizeof(junk)) > 0) {}
    fcntl(sv[0], F_SETFL, 0);

    static struct blocked_send b;
    memset(&b, 0, sizeof(b));
    b.sock = sv[0];
    b.iov[0].iov_base = b.data[0];
    b.iov[0].iov_len = what < 0 ? 19 : 17;
    b.iov[1].iov_base = b.data[1];
    b.iov[1].iov_len = 23;
    b.m.msg_iov = b.iov;
    b.m.msg_iovlen = 1;
    pthread_t t;
    pthread_create(&t, NULL, blocked_sender, &b);
    while (!b.started) {}
    usleep(what < 0 ? 50000 : 100000); /* in the kernel, blocked, its header copied */
    if (what == 0)
        b.iov[0].iov_len = 18;  /* an iovec changes */
    else if (what == 1)
        b.m.msg_iovlen = 2;     /* the header itself changes */
    /* drain so the send completes */
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    char sink[8192];
    for (int i = 0; i < 200 && !b.ret; i++) {
        while (read(sv[1], sink, sizeof(sink)) > 0) {}
        usleep(2000);
    }
    pthread_join(t, NULL);
    OUT("%s=%zd\n", key, b.ret);
    close(sv[0]);
    close(sv[1]);
}

static void messages(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    int one = 1;
    int hostname = open("/etc/hostname", O_RDONLY);
    struct ucred cred = {.pid = getpid(), .uid = getuid(), .gid = getgid()};
    int types;

    /* sends: plain, rights, credentials; then receives without / with a control buffer */
    OUT("send_plain=%zd\n", send_plain(sv[0], 11));
    OUT("recv_noctl=%zd\n", recv_with(sv[1], 0, 0, &types));
    /* success that returns 0: an empty datagram, sent and received */
    OUT("send_empty=%zd\n", send_plain(sv[0], 0));
    OUT("recv_zero=%zd\n", recv_with(sv[1], 0, 0, &types));
    OUT("send_rights=%zd\n", send_control(sv[0], SOL_SOCKET, SCM_RIGHTS, &hostname, sizeof(int), 12));
    OUT("recv_rights=%zd types=%d\n", recv_with(sv[1], 128, 0, &types), types);
    OUT("send_plain=%zd\n", send_plain(sv[0], 13));
    OUT("recv_ctlbuf_nothing=%zd types=%d\n", recv_with(sv[1], 128, 0, &types), types);
    OUT("send_rights=%zd\n", send_control(sv[0], SOL_SOCKET, SCM_RIGHTS, &hostname, sizeof(int), 14));
    OUT("recv_rights_nobuf=%zd types=%d\n", recv_with(sv[1], 0, 0, &types), types);  /* fds discarded */
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
    OUT("send_creds=%zd\n", send_control(sv[0], SOL_SOCKET, SCM_CREDENTIALS, &cred, sizeof(cred), 15));
    OUT("recv_creds=%zd types=%d\n", recv_with(sv[1], 128, 0, &types), types);
    one = 0;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
    /* a control message of another type: refused by the kernel (fails), still a call */
    int junk = 7;
    OUT("send_other=%zd\n", send_control(sv[0], SOL_IP, 99, &junk, sizeof(junk), 16));
    /* failures: an empty non-blocking receive, a send to a closed peer (with and without rights) */
    OUT("recv_other=%zd types=%d\n", recv_with(sv[1], 128, MSG_DONTWAIT, &types), types);
    OUT("recv_empty=%zd types=%d\n", recv_with(sv[1], 128, MSG_DONTWAIT, &types), types);
    close(sv[1]);
    OUT("send_closed_plain=%zd\n", send_plain(sv[0], 17));
    OUT("send_closed_rights=%zd\n", send_control(sv[0], SOL_SOCKET, SCM_RIGHTS, &hostname, sizeof(int), 18));
    close(sv[0]);

    /* compat sendmsg (ia32 370) from this 64-bit process, plain and with rights */
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    char *low = low_page();
    uint32_t *msg = (uint32_t *)low, *iov = (uint32_t *)(low + 128), *cm = (uint32_t *)(low + 256);
    iov[0] = lo32(low + 512);
    iov[1] = 4;
    msg[2] = lo32(iov);
    msg[3] = 1;
    OUT("compat_send_plain=%ld\n", int80(370, sv[0], lo32(msg), 0, 0, 0));
    cm[0] = 16; cm[1] = SOL_SOCKET; cm[2] = SCM_RIGHTS; cm[3] = (uint32_t)hostname;
    msg[4] = lo32(cm);
    msg[5] = 16;
    OUT("compat_send_rights=%ld\n", int80(370, sv[0], lo32(msg), 0, 0, 0));
    close(sv[0]);
    close(sv[1]);
    close(hostname);
}

static void sockets(void)
{
    int domains[] = {AF_INET, AF_INET6, AF_UNIX, AF_PACKET, 12345};
    int types[] = {SOCK_DGRAM, SOCK_STREAM, SOCK_DGRAM | SOCK_CLOEXEC, SOCK_RAW, SOCK_DGRAM};
    for (int i = 0; i < 5; i++) {
        int s = socket(domains[i], types[i], domains[i] == AF_PACKET ? htons(ETH_P_ALL) : 0);
        OUT("socket_%d=%d\n", domains[i], s);
        if (s >= 0) close(s);
    }
}

static void ptraces(void)
{
    /* requests on a pid that does not exist fail */
    OUT("ptrace_peek=%ld\n", ptrace(PTRACE_PEEKDATA, 999999, NULL, NULL));
    OUT("ptrace_poke=%ld\n", ptrace(PTRACE_POKEDATA, 999999, NULL, NULL));
    /* the same under the name of a debugger */
    char old[16] = {0};
    prctl(PR_GET_NAME, old);
    prctl(PR_SET_NAME, "gdb");
    OUT("gdb_ptrace_poke=%ld\n", ptrace(PTRACE_POKEDATA, 999999, NULL, NULL));
    prctl(PR_SET_NAME, old);
    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
}

/* A child under another name and uid: comm, not_comm, uid, not_uid conditions. */
static void identities(void)
{
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_NAME, "runc");
        pid_t g = fork();  /* a fork by a process named runc */
        if (g == 0) _exit(0);
        waitpid(g, NULL, 0);
        if (setgid(65534) < 0 || setuid(65534) < 0) die("setuid");
        prctl(PR_SET_NAME, "mw-nobody");
        long u = syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
        OUT("nobody_userfaultfd=%ld\n", u);
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        OUT("nobody_socket=%d\n", s);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    long u = syscall(SYS_userfaultfd, O_CLOEXEC | 1);
    OUT("root_userfaultfd=%ld\n", u);
}

int filter_matrix(void)
{
    messages();
    sockets();
    ptraces();
    identities();
    blocked_send_rewritten(0, "changed_send_0");
    blocked_send_rewritten(1, "changed_send_1");
    blocked_send_rewritten(-1, "unchanged_send");
    return 0;
}

int flood(long n)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    char out[64], in[64];
    memset(out, 'x', sizeof(out));
    struct iovec siov = {out, sizeof(out)}, riov = {in, sizeof(in)};
    struct msghdr sm = {.msg_iov = &siov, .msg_iovlen = 1};
    struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1};
    long ok = 0;
    for (long i = 0; i < n; i++) {
        if (sendmsg(sv[0], &sm, 0) != sizeof(out)) die("sendmsg");
        if (recvmsg(sv[1], &rm, 0) == sizeof(in)) ok++;
    }
    OUT("flood=%ld\n", ok);
    return 0;
}
