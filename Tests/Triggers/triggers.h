/* Helpers the trigger scenarios share (main.c). */
#ifndef MW_TRIGGERS_H
#define MW_TRIGGERS_H
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define OUT(...) do { printf(__VA_ARGS__); fflush(stdout); } while (0)

void die(const char *what);
int udp_bound(int family, int *port);
struct sockaddr_in loopback4(int port);
/* Sends `fd` over `sock` with SCM_RIGHTS, one byte of payload. */
ssize_t send_fd(int sock, int fd);
/* Receives one descriptor; returns it or -1. */
int recv_fd(int sock);
/* int $0x80 from 64-bit code: the ia32 syscall table, 32-bit arguments. */
long int80(long nr, long a, long b, long c, long d, long e);
/* Memory below 4 GiB, so its addresses fit compat (32-bit) pointers. */
void *low_page(void);
uint32_t lo32(const void *p);
/* Copies a file into a descriptor, or to a new executable file. */
void copy_into(const char *src, int out);
void copy_file(const char *src, const char *dst);
/* A memfd holding a copy of /bin/true. */
int payload_memfd(void);
/* Runs `tries` children that each start `flipper` in a thread, wait a moment and call `exec_it`
 * (which execs a program printing one line); prints try=N child=PID received=LINE per child. */
void race_tries(int tries, void *(*flipper)(void *), void (*exec_it)(void));

/* filter.c */
int filter_matrix(void);
int flood(long n);

/* evasion.c */
int cold_exec(void);
int cold_connect(void);
int far32(void);
int exec_race(int tries);

/* caps.c */
int caps_control(const char *path);
int caps_fds(const char *path, int n);
int caps_mmsg(const char *path);
int caps_argv(int n);
int long_race(int tries);

/* uring.c */
int io_uring_ops(const char *path);

/* shells.c */
int shells(void);
int proc_mem(void);

/* doors.c */
int doors_open(void);
int doors_fcntl(void);
int doors_pidfd(void);
int doors_vm(void);
#endif
