/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* Argument vectors (argv, envp). */
#ifndef MW_STRINGS_H
#define MW_STRINGS_H
#include "common.h"

/* NULL-terminated array of string pointers (argv/envp). Returns bytes | status << 16. */
__noinline int mw_cap_argv(struct mw_task *t, u32 p, u64 uptr, u32 compat)
{
    if (!t)
        return 0;
    u32 used = 0, status = 0;
    u32 psize = compat ? 4 : 8;
    for (int i = 0; i < MW_MAX_ARGV; i++) {
        u64 s = 0;
        if (bpf_probe_read_user(&s, psize, (void *)(uptr + (u64)i * psize)) < 0) {
            status |= MW_S_FAULT;
            break;
        }
        if (!s)
            goto done;
        if (used >= MW_MAX_ARGV_BYTES) {
            status |= MW_S_TRUNC;
            goto done;
        }
        u32 x = p + used;
        if (x > MW_REC_BUF - MW_MAX_STR) {
            status |= MW_S_TRUNC;
            goto done;
        }
        long n = bpf_probe_read_user_str(&t->rec[x], MW_MAX_STR, (void *)s);
        if (n <= 0) {
            status |= MW_S_FAULT;
            goto done;
        }
        if (n == MW_MAX_STR)
            status |= MW_S_TRUNC;
        used += n;
    }
    status |= MW_S_TRUNC; /* more entries than MW_MAX_ARGV, or unterminated */
done:
    return (used & 0xffff) | (status << 16);
}
#endif
