/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* The --pid / --comm / --uid scope: fixed for the run, checked before anything else. */
#ifndef MW_SCOPE_H
#define MW_SCOPE_H
#include "common.h"

static __always_inline bool comm_eq(const char *a, const volatile char *b)
{
    for (int i = 0; i < 16; i++) {
        if (a[i] != b[i])
            return false;
        if (a[i] == 0)
            return true;
    }
    return true;
}

static __always_inline bool in_scope(u32 tgid, u32 uid)
{
    u32 f = mw_cfg.filter;
    if (!f)
        return true;
    if (f & MW_FILTER_PID) {
        if (!bpf_map_lookup_elem(&mw_scope, &tgid))
            return false;
    }
    if (f & MW_FILTER_UID) {
        bool hit = false;
        for (int i = 0; i < MW_MAX_SCOPE; i++) {
            if (i < mw_cfg.n_uids && mw_cfg.uids[i] == uid)
                hit = true;
        }
        if (!hit)
            return false;
    }
    if (f & MW_FILTER_COMM) {
        char comm[16] = {};
        bool hit = false;
        bpf_get_current_comm(comm, sizeof(comm));
        for (int i = 0; i < MW_MAX_SCOPE; i++) {
            if (i < mw_cfg.n_comms && comm_eq(comm, mw_cfg.comms[i]))
                hit = true;
        }
        if (!hit)
            return false;
    }
    return true;
}
#endif
