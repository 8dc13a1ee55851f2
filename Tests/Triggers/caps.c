/*
 * Scenarios for the probes' size caps (issue 8): what an attacker puts past what a record keeps.
 *
 * caps-control FILE   FILE's descriptor passed with SCM_RIGHTS after 40 dummy control messages
 *                     (640 bytes, past the 512 the probe copies), then after 1000 (16 KiB).
 * caps-fds FILE N     N descriptors in one SCM_RIGHTS message, FILE's the last one.
 * caps-mmsg FILE      sendmmsg of 12 messages; the 10th carries FILE's descriptor.
 * caps-argv N         execs /bin/true with N arguments of 60 bytes each.
 * long-race N         execs a script by a 700-byte path while a thread flips the path's last byte
 *                     between two scripts (x1, x2) that print which one ran (N tries).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "triggers.h"

/* `dummies` control messages of a level the kernel ignores for AF_UNIX, then SCM_RIGHTS with `fds`. */
static ssize_t send_padded(int sock, int dummies, const int *fds, int nfds)
{
    size_t dlen = CMSG_SPACE(0), rlen = CMSG_SPACE(sizeof(int) * nfds);
    size_t len = dummies * dlen + rlen;
    char *ctl = calloc(1, len);
    if (!ctl) die("calloc");
    struct msghdr m = {0};
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = len;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    for (int i = 0; i < dummies; i++) {
        c->cmsg_len = CMSG_LEN(0);
        c->cmsg_level = 0x7777;
        c->cmsg_type = 1;
        c = CMSG_NXTHDR(&m, c);
    }
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    ssize_t r = sendmsg(sock, &m, 0);
    free(ctl);
    return r;
}

/* Receives and closes whatever arrived (so the socket never fills). */
static void drain(int sock)
{
    char buf[64], ctl[CMSG_SPACE(sizeof(int) * 253)];
    for (;;) {
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
        if (recvmsg(sock, &m, MSG_DONTWAIT) <= 0) return;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (int i = 0; i < n; i++) close(((int *)CMSG_DATA(c))[i]);
            }
        }
    }
}

int caps_control(const char *path)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("open");
    OUT("sock=%d fd=%d\n", sv[0], fd);
    OUT("send40=%zd\n", send_padded(sv[0], 40, &fd, 1));
    drain(sv[1]);
    OUT("send1000=%zd\n", send_padded(sv[0], 1000, &fd, 1));
    drain(sv[1]);
    return 0;
}

int caps_fds(const char *path, int n)
{
    int sv[2];
    if (n < 1 || n > 253) n = 100;
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    int fds[253];
    for (int i = 0; i < n - 1; i++) {
        fds[i] = open("/dev/null", O_RDONLY);
        if (fds[i] < 0) die("open /dev/null");
    }
    fds[n - 1] = open(path, O_RDONLY);
    if (fds[n - 1] < 0) die("open");
    OUT("sock=%d last=%d\n", sv[0], fds[n - 1]);
    OUT("sent=%zd\n", send_padded(sv[0], 0, fds, n));
    drain(sv[1]);
    return 0;
}

int caps_mmsg(const char *path)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("open");
    struct mmsghdr v[12];
    struct iovec iov[12];
    char bytes[12];
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(v, 0, sizeof(v));
    memset(ctl, 0, sizeof(ctl));
    for (int i = 0; i < 12; i++) {
        bytes[i] = 'a' + i;
        iov[i].iov_base = &bytes[i];
        iov[i].iov_len = 1;
        v[i].msg_hdr.msg_iov = &iov[i];
        v[i].msg_hdr.msg_iovlen = 1;
    }
    v[9].msg_hdr.msg_control = ctl;
    v[9].msg_hdr.msg_controllen = sizeof(ctl);
    struct cmsghdr *c = CMSG_FIRSTHDR(&v[9].msg_hdr);
    c->cmsg_len = CMSG_LEN(sizeof(int));
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    OUT("sock=%d fd=%d\n", sv[0], fd);
    OUT("sent=%d\n", sendmmsg(sv[0], v, 12, 0));
    drain(sv[1]);
    return 0;
}

int caps_argv(int n)
{
    if (n < 1 || n > 200) n = 40;
    char **argv = calloc(n + 2, sizeof(char *));
    if (!argv) die("calloc");
    argv[0] = "true";
    for (int i = 1; i <= n; i++) {
        argv[i] = malloc(61);
        memset(argv[i], 'a' + i % 26, 60);
        argv[i][60] = 0;
    }
    pid_t child = fork();
    if (child == 0) {
        char *envp[] = {NULL};
        execve("/bin/true", argv, envp);
        _exit(127);
    }
    int st;
    waitpid(child, &st, 0);
    OUT("child=%d status=%d\n", child, WEXITSTATUS(st));
    return 0;
}

/* long-race: the path's last byte flips between '1' and '2'. */
static char long_path[800];
static size_t long_last;
static volatile int long_racing = 1;

static void *flip_last(void *unused)
{
    (void)unused;
    /* as fast as the cache line moves: the window between the probe's read at entry and the
     * kernel's copy a moment later is short */
    volatile char *c = &long_path[long_last];
    while (long_racing) {
        *c = '2';
        *c = '1';
        *c = '2';
        *c = '1';
    }
    return NULL;
}

static void exec_long(void)
{
    char *argv[] = {"x", NULL};
    char *envp[] = {NULL};
    execve(long_path, argv, envp);
}

int long_race(int tries)
{
    /* /tmp/mw-long-PID/aaa.../bbb.../ccc.../x1 and x2, ~700 bytes */
    char dir[800];
    int n = snprintf(dir, sizeof(dir), "/tmp/mw-long-%d", getpid());
    mkdir(dir, 0700);
    for (int k = 0; k < 3; k++) {
        dir[n++] = '/';
        memset(dir + n, 'a' + k, 200);
        n += 200;
        dir[n] = 0;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) die("mkdir");
    }
    for (int k = 1; k <= 2; k++) {
        char p[820];
        snprintf(p, sizeof(p), "%s/x%d", dir, k);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0700);
        if (fd < 0) die("create script");
        char body[32];
        int bl = snprintf(body, sizeof(body), "#!/bin/sh\necho %d\n", k);
        if (write(fd, body, bl) != bl) die("write script");
        close(fd);
    }
    snprintf(long_path, sizeof(long_path), "%s/x1", dir);
    long_last = strlen(long_path) - 1;
    OUT("path=%s\n", long_path);
    race_tries(tries, flip_last, exec_long);
    /* clean up: the scripts, then the directories from the deepest */
    for (int k = 1; k <= 2; k++) {
        char p[820];
        snprintf(p, sizeof(p), "%s/x%d", dir, k);
        unlink(p);
    }
    for (int k = 0; k < 4; k++) {
        rmdir(dir);
        char *slash = strrchr(dir, '/');
        if (!slash) break;
        *slash = 0;
    }
    return 0;
}
