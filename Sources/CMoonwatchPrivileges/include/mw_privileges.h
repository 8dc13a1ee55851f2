#ifndef MOONWATCH_MW_PRIVILEGES_H
#define MOONWATCH_MW_PRIVILEGES_H
/*
 * What `moonwatch run` gives up once the probes are attached and the ring buffer is open
 * (privileges.c). Every thread of the process is changed, not only the caller: capabilities,
 * no_new_privs and Landlock are per thread in Linux.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mw_drop_report {
    int threads;          /* threads that dropped (the caller included) */
    int landlock_abi;     /* Landlock ABI the file-system and signal rules use; 0 when unavailable */
    uint64_t kept_caps;   /* capabilities kept (bit n = capability n); 0 normally */
    char error[320];      /* why it failed, when it returns -1 */
    char warning[320];    /* a layer that could not be added (Landlock), when not empty */
} mw_drop_report;

/*
 * Drops, in every thread: all capabilities but `keep_caps` (bounding, ambient, permitted,
 * effective and inheritable sets), sets no_new_privs and securebits that keep uid 0 from
 * regaining any; confines file access to reading beneath `read_paths` (plus /proc,
 * /sys/fs/cgroup and the CPU list) with Landlock where the kernel has it; then installs the
 * seccomp allow-list (SECCOMP_FILTER_FLAG_TSYNC) and checks /proc/self/task/<tid>/status of
 * every thread. Returns 0, or -1 with report->error set.
 */
int mw_drop_privileges(const char *const *read_paths, int npaths, uint64_t keep_caps, mw_drop_report *report);

/*
 * The opener helper: a process forked before the drop that opens the given paths again, and only
 * those, when asked, and passes the descriptors back: outputs (append) after logrotate moved them
 * (SIGUSR1), files to read (the configuration) on a reload (SIGHUP). Start it before
 * mw_drop_privileges; at most 8 paths.
 */
enum { MW_OPEN_APPEND = 0, MW_OPEN_READ = 1 };

typedef struct mw_opener {
    int sock;             /* our end of the socketpair, -1 when not running */
    int pid;
    int npaths;
    int modes[8];
} mw_opener;

int mw_opener_start(const char *const *paths, const int *modes, int npaths, mw_opener *o, char *err, size_t errlen);
/* Opens every path of `mode` again: fds[i] is the new descriptor, or -1 with errs[i] the errno
 * (-1 for paths of the other mode). Returns -1 when the helper cannot be reached. */
int mw_opener_open(const mw_opener *o, int mode, int *fds, int *errs);
void mw_opener_stop(mw_opener *o);

#ifdef __cplusplus
}
#endif
#endif
