/*
 * The live-overhead workload: N iterations of sendmsg + recvmsg of 64 bytes over a UNIX
 * datagram socketpair, in one thread. Prints the wall time; nothing else.
 *
 *   sendrecv N
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 500000;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) { perror("socketpair"); return 1; }
    char out[64], in[64];
    memset(out, 'x', sizeof(out));
    struct iovec siov = {out, sizeof(out)}, riov = {in, sizeof(in)};
    struct msghdr sm = {.msg_iov = &siov, .msg_iovlen = 1};
    struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        if (sendmsg(sv[0], &sm, 0) != sizeof(out)) { perror("sendmsg"); return 1; }
        if (recvmsg(sv[1], &rm, 0) != sizeof(in)) { perror("recvmsg"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.6f %ld %.0f\n", s, n, n / s);
    return 0;
}
