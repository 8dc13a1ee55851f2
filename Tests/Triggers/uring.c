/*
 * io-uring FILE: the same effects as socket, connect, sendmsg (SCM_RIGHTS of FILE), openat and
 * openat2 of FILE, made as io_uring requests: no syscall of those numbers at all. A minimal ring
 * over the raw interface (no liburing), one request at a time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "triggers.h"

struct ring {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
};

static int ring_setup(struct ring *r)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    r->fd = syscall(__NR_io_uring_setup, 4, &p);
    if (r->fd < 0) return -errno;
    size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    char *sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
    char *cq = mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
    r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   r->fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED) return -ENOMEM;
    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return 0;
}

/* Submits one request and waits for its completion; returns its result. */
static int ring_do(struct ring *r, const struct io_uring_sqe *sqe)
{
    unsigned tail = *r->sq_tail, i = tail & *r->sq_mask;
    r->sqes[i] = *sqe;
    r->sq_array[i] = i;
    __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) return -errno;
    unsigned head = *r->cq_head;
    if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) return -EAGAIN;
    int res = r->cqes[head & *r->cq_mask].res;
    __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
    return res;
}

int io_uring_ops(const char *path)
{
    struct ring r;
    int e = ring_setup(&r);
    OUT("setup=%d\n", e);
    if (e < 0) return 0;
    struct io_uring_sqe s;

    memset(&s, 0, sizeof(s));
    s.opcode = IORING_OP_SOCKET;
    s.fd = AF_INET;
    s.off = SOCK_STREAM;
    int sock = ring_do(&r, &s);
    OUT("socket=%d\n", sock);

    int port = 0, lst = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback4(0);
    socklen_t al = sizeof(a);
    if (bind(lst, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lst, 4) < 0 ||
        getsockname(lst, (struct sockaddr *)&a, &al) < 0)
        die("listener");
    port = ntohs(a.sin_port);
    memset(&s, 0, sizeof(s));
    s.opcode = IORING_OP_CONNECT;
    s.fd = sock;
    s.addr = (uint64_t)(uintptr_t)&a;
    s.off = sizeof(a);
    OUT("port=%d connect=%d\n", port, ring_do(&r, &s));

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) die("socketpair");
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("open");
    char byte = 'x', ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof(ctl));
    struct iovec iov = {&byte, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_len = CMSG_LEN(sizeof(int));
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    memset(&s, 0, sizeof(s));
    s.opcode = IORING_OP_SENDMSG;
    s.fd = sv[0];
    s.addr = (uint64_t)(uintptr_t)&m;
    s.len = 1;
    OUT("sendmsg=%d passed=%d\n", ring_do(&r, &s), fd);

    memset(&s, 0, sizeof(s));
    s.opcode = IORING_OP_OPENAT;
    s.fd = AT_FDCWD;
    s.addr = (uint64_t)(uintptr_t)path;
    s.open_flags = O_RDONLY;
    OUT("openat=%d\n", ring_do(&r, &s));

    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY;
    memset(&s, 0, sizeof(s));
    s.opcode = IORING_OP_OPENAT2;
    s.fd = AT_FDCWD;
    s.addr = (uint64_t)(uintptr_t)path;
    s.len = sizeof(how);
    s.off = (uint64_t)(uintptr_t)&how;
    OUT("openat2=%d\n", ring_do(&r, &s));
    return 0;
}
