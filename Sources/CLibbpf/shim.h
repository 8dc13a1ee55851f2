#ifndef MOONWATCH_CLIBBPF_SHIM_H
#define MOONWATCH_CLIBBPF_SHIM_H
/* Debian's libbpf-dev (libbpf 1.1), found through pkg-config libbpf. */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Waits until every BPF program that started before the call has finished: membarrier(2)'s
 * global command waits for an RCU grace period, and tracing programs run inside an RCU read
 * section. (The syscall number is a macro Swift does not import.) Returns 0, or -1 with errno.
 */
static inline int mw_wait_for_bpf_programs(void)
{
    return (int)syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
}
#endif
