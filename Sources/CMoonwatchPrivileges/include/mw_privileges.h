#ifndef MOONWATCH_MW_PRIVILEGES_H
#define MOONWATCH_MW_PRIVILEGES_H
/*
 * What `moonwatch run` gives up once the probes are attached and the ring buffer is open
 * (privileges.c). Every thread of the process is changed, not only the caller: capabilities,
 * no_new_privs and Landlock are per thread in Linux.
 */
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

#ifdef __cplusplus
}
#endif
#endif
