/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* One block per argument read from memory, by the catalogue's type and read phase. */
#ifndef MW_ARGS_H
#define MW_ARGS_H
#include "common.h"
#include "msghdr.h"
#include "strings.h"
#include "digest.h"

/*
 * Captures argument `i` (its block) of the call in flight, for `phase`; spec packs
 * i | phase << 4 | type << 8 | aux << 16 (BPF calls take at most five arguments). Scalar arguments are
 * already in the header; this handles everything read from memory.
 */
__noinline int mw_cap_arg(struct mw_task *t, u32 spec, u32 compat)
{
    u32 i = spec & 0xf, phase = (spec >> 4) & 0xf, type = (spec >> 8) & 0xff, aux = (spec >> 16) & 0xff;
    if (!t || i >= MW_MAX_ARGS)
        return 0;
    u32 off = t->len;
    if (off > MW_REC_BUF - 64) {
        hdr_of(t)->flags |= MW_EV_TRUNC;
        return 0;
    }
    struct mw_event_hdr *h = hdr_of(t);
    u64 ptr = h->args[i];
    u64 auxv = aux != MW_NO_AUX ? h->args[aux & 7] : 0;
    u32 p = off + sizeof(struct mw_block);
    u32 len = 0;
    u8 status = 0;

    if (!ptr) {
        status = MW_S_NULL;
        goto out;
    }
    switch (type) {
    case MW_T_STRING: {
        if (p > MW_REC_BUF - (MW_MAX_STR + sizeof(struct mw_digest))) {
            status = MW_S_TRUNC;
            break;
        }
        long n = bpf_probe_read_user_str(&t->rec[p], MW_MAX_STR, (void *)ptr);
        if (n <= 0) {
            status = MW_S_FAULT;
            break;
        }
        len = n;
        if (n == MW_MAX_STR) {
            status = MW_S_TRUNC;
            if (mw_digest_str(t, p + MW_MAX_STR, ptr, 0)) {
                len += sizeof(struct mw_digest);
                status |= MW_S_DIGEST;
            }
        }
        break;
    }
    case MW_T_ARGV: {
        int r = mw_cap_argv(t, p, ptr, compat);
        len = r & 0xffff;
        status = (r >> 16) & 0xff;
        if ((status & MW_S_TRUNC) && !(status & MW_S_FAULT) && len <= MW_MAX_ARGV_BYTES + MW_MAX_STR) {
            /* the digest follows the strings directly: the decoder takes the payload's last bytes */
            u32 d = p + len;
            if (d <= MW_REC_BUF - sizeof(struct mw_digest) && mw_digest_vec(t, d, ptr, compat)) {
                len += sizeof(struct mw_digest);
                status |= MW_S_DIGEST;
            }
        }
        break;
    }
    case MW_T_SOCKADDR: {
        u64 n = MW_MAX_NAME;
        if (aux != MW_NO_AUX) {
            n = auxv;
            if (aux & MW_AUX_PTR) {
                /* value-result length (accept, recvfrom): what the kernel stored there */
                u32 k = 0;
                if (auxv && bpf_probe_read_user(&k, sizeof(k), (void *)auxv) < 0)
                    k = 0;
                n = auxv ? k : MW_MAX_NAME;
            }
        }
        if (n > MW_MAX_NAME)
            n = MW_MAX_NAME;
        if (p > MW_REC_BUF - 2 * MW_MAX_NAME) {
            status = MW_S_TRUNC;
            break;
        }
        if (n && bpf_probe_read_user(&t->rec[p], n & (MW_MAX_NAME * 2 - 1), (void *)ptr) < 0) {
            status = MW_S_FAULT;
            break;
        }
        len = n;
        break;
    }
    case MW_T_MSGHDR: {
        int w = mw_cap_msg(t, p, ptr, compat, 1);
        if (w <= 0)
            status = MW_S_TRUNC;
        else
            len = w;
        break;
    }
    case MW_T_MMSGHDRS: {
        int w = mw_cap_mmsg(t, p, ptr, auxv, compat | 2);
        if (w <= 0)
            status = MW_S_TRUNC;
        else
            len = w;
        break;
    }
    case MW_T_TIMESPEC:
    case MW_T_TIMESPEC32:
    case MW_T_FDPAIR:
    case MW_T_INTREF: {
        u32 n = type == MW_T_TIMESPEC ? 16 : (type == MW_T_INTREF ? 4 : 8);
        if (p > MW_REC_BUF - 32) {
            status = MW_S_TRUNC;
            break;
        }
        if (bpf_probe_read_user(&t->rec[p], n & 31, (void *)ptr) < 0) {
            status = MW_S_FAULT;
            break;
        }
        len = n;
        break;
    }
    default:
        return 0;
    }
out:
    if (off > MW_REC_BUF - 64)
        return 0;
    struct mw_block *b = (struct mw_block *)&t->rec[off];
    b->arg = i;
    b->phase = phase;
    b->type = type;
    b->status = status;
    b->len = len;
    h = hdr_of(t);
    h->nblocks++;
    if (phase == MW_P_ENTRY)
        t->eoff[i] = off;
    else
        t->xoff[i] = off;
    if (status & (MW_S_TRUNC))
        h->flags |= MW_EV_TRUNC;
    if (status & MW_S_FAULT)
        STAT_INC(faults);
    t->len = p + ROUND8(len & 0xffff);
    return 0;
}

/*
 * Captures every argument of `c` read from memory in `phase` (MW_P_ENTRY or MW_P_EXIT) that has
 * no block for that phase yet.
 */
static __always_inline void capture_args(struct mw_task *t, const volatile struct mw_syscall_cfg *c, u32 phase,
                                         u32 compat)
{
    if (!(phase == MW_P_ENTRY ? c->read_entry : c->read_exit))
        return;
    for (int i = 0; i < MW_MAX_ARGS; i++) {
        u32 type = c->type[i];
        if (!(c->phase[i] & phase) || type < MW_T_STRING)
            continue;
        if ((phase == MW_P_ENTRY ? t->eoff[i] : t->xoff[i]) != 0)
            continue;
        mw_cap_arg(t, i | phase << 4 | type << 8 | (u32)c->aux[i] << 16, compat);
    }
}

/* Entry blocks whose read failed outright (bit i for argument i). */
static __always_inline u32 late_args(struct mw_task *t)
{
    u32 late = 0;
    for (int i = 0; i < MW_MAX_ARGS; i++) {
        u32 off = t->eoff[i];
        if (!off)
            continue;
        barrier_var(off);
        if (off > MW_REC_BUF - sizeof(struct mw_block))
            continue;
        struct mw_block *b = (struct mw_block *)&t->rec[off];
        if ((b->status & MW_S_FAULT) && b->len == 0)
            late |= 1U << i;
    }
    return late;
}

/*
 * The exit reads: every argument read at exit, and every argument whose entry read failed (read
 * again now that the kernel has faulted its memory in, marked MW_S_LATE).
 */
static __always_inline void capture_exit(struct mw_task *t, const volatile struct mw_syscall_cfg *c, u32 compat)
{
    capture_args(t, c, MW_P_EXIT, compat);
    u32 late = t->late;
    if (!late)
        return;
    for (int i = 0; i < MW_MAX_ARGS; i++) {
        if (!(late & (1U << i)))
            continue;
        u32 type = c->type[i];
        if (type < MW_T_STRING)
            continue;
        if (!t->xoff[i])
            mw_cap_arg(t, i | MW_P_EXIT << 4 | type << 8 | (u32)c->aux[i] << 16, compat);
        u32 off = t->xoff[i];
        if (!off)
            continue;
        barrier_var(off);
        if (off > MW_REC_BUF - sizeof(struct mw_block))
            continue;
        ((struct mw_block *)&t->rec[off])->status |= MW_S_LATE;
    }
}
#endif
