/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Did a TOCTOU argument read differently at entry and at exit? Compares the two blocks of the
 * record on raw bytes, where user space compares the decoded values (Event.computeChanged):
 * equal bytes always decode to equal values, so "unchanged" here is certain; bytes that differ
 * only where the decoder does not look (sockaddr padding, iovec base pointers) decode to equal
 * values, so "changed" here is only possible, and the filter treats it so (plan_exit).
 */
#ifndef MW_CHANGED_H
#define MW_CHANGED_H
#include "common.h"

#define MW_DIFF_MAX (MW_MAX_ARGV_BYTES + MW_MAX_STR + 16) /* the longest payload compared byte for byte */

struct mw_diff_ctx {
    struct mw_task *t;
    u32 a, b, len;
    u32 differ;
};

/* One 8-byte word of the comparison (bpf_loop callback: verified once, whatever the length). */
static long mw_diff_word(u64 i, struct mw_diff_ctx *c)
{
    struct mw_task *t = c->t;
    u32 o = i * 8;
    if (!t || o >= c->len)
        return 1;
    u32 pa = c->a + o, pb = c->b + o;
    barrier_var(pa);
    barrier_var(pb);
    if (pa > MW_REC_BUF - 8 || pb > MW_REC_BUF - 8) {
        c->differ = 1;
        return 1;
    }
    /* through an opaque pointer, so that clang loads a word at once instead of eight bytes */
    u8 *xa = &t->rec[pa], *xb = &t->rec[pb];
    barrier_var(xa);
    barrier_var(xb);
    u64 x = *(u64 *)xa, y = *(u64 *)xb;
    u32 rest = c->len - o;
    if (rest < 8) {
        u64 m = (1ULL << ((rest & 7) * 8)) - 1;
        x &= m;
        y &= m;
    }
    if (x != y) {
        c->differ = 1;
        return 1;
    }
    return 0;
}

/* Do rec[a .. a+len) and rec[b .. b+len) differ? */
__noinline int mw_differ(struct mw_task *t, u32 a, u32 b, u32 len)
{
    if (!t)
        return 1;
    if (len > MW_DIFF_MAX)
        return 1;
    if (!len)
        return 0;
    struct mw_diff_ctx c = {.t = t, .a = a, .b = b, .len = len, .differ = 0};
    bpf_loop((len + 7) / 8, mw_diff_word, &c, 0);
    return c.differ;
}

/*
 * Two struct mw_msg at rec[pa] and rec[pb]. The caller-supplied inputs are compared (header but
 * msg_flags, which the kernel writes back; iovec array; name; control bytes). `nil_equal`: a header
 * that could not be read is no value at all (a top-level argument: nothing to compare), otherwise
 * (an entry of a vector) it is a null entry, equal only to another null one.
 */
__noinline int mw_msg_differs(struct mw_task *t, u32 pa, u32 pb, u32 mode)
{
    u32 compat = mode & 1, nil_equal = (mode >> 1) & 1;
    if (!t)
        return 1;
    if (pa > MW_REC_BUF - sizeof(struct mw_msg) || pb > MW_REC_BUF - sizeof(struct mw_msg))
        return 1;
    struct mw_msg *a = (struct mw_msg *)&t->rec[pa];
    struct mw_msg *b = (struct mw_msg *)&t->rec[pb];
    if (!a->hdr_len || !b->hdr_len) {
        if (nil_equal)
            return 0;
        return a->hdr_len != b->hdr_len;
    }
    /* Resolved descriptors can differ with no byte changed: leave that comparison to user space. */
    if (a->nfiles || b->nfiles)
        return 1;
    u32 hsz = compat ? sizeof(struct mw_compat_msghdr) : sizeof(struct mw_user_msghdr);
    u32 fl = compat ? __builtin_offsetof(struct mw_compat_msghdr, msg_flags)
                    : __builtin_offsetof(struct mw_user_msghdr, msg_flags);
    if (a->hdr_len != hsz || b->hdr_len != hsz)
        return 1;
    u32 ha = pa + a->hdr_off, hb = pb + b->hdr_off;
    if (mw_differ(t, ha, hb, fl) || mw_differ(t, ha + fl + 4, hb + fl + 4, hsz - fl - 4))
        return 1;
    if (a->iov_len != b->iov_len || mw_differ(t, pa + a->iov_off, pb + b->iov_off, a->iov_len))
        return 1;
    if (a->name_len != b->name_len || mw_differ(t, pa + a->name_off, pb + b->name_off, a->name_len))
        return 1;
    if (a->ctl_len != b->ctl_len || mw_differ(t, pa + a->ctl_off, pb + b->ctl_off, a->ctl_len))
        return 1;
    /* past the copy: what was found there */
    if (a->rights != b->rights || a->beyond_types != b->beyond_types)
        return 1;
    return 0;
}

/* Two mw_mmsg vectors: the same number of entries, and each entry's message unchanged. */
__noinline int mw_mmsg_differs(struct mw_task *t, u32 pa, u32 pb, u32 compat)
{
    if (!t)
        return 1;
    if (pa > MW_REC_BUF - sizeof(struct mw_mmsg) || pb > MW_REC_BUF - sizeof(struct mw_mmsg))
        return 1;
    struct mw_mmsg *a = (struct mw_mmsg *)&t->rec[pa];
    struct mw_mmsg *b = (struct mw_mmsg *)&t->rec[pb];
    u32 n = a->count;
    if (n != b->count || a->scanned != b->scanned || a->scan_rights != b->scan_rights ||
        a->scan_types != b->scan_types)
        return 1;
    u32 qa = pa + sizeof(struct mw_mmsg), qb = pb + sizeof(struct mw_mmsg);
    for (int i = 0; i < MW_MAX_MMSG; i++) {
        if (i >= n)
            break;
        u32 ma = qa + sizeof(struct mw_mmsg_entry), mb = qb + sizeof(struct mw_mmsg_entry);
        if (ma > MW_REC_BUF - sizeof(struct mw_msg) || mb > MW_REC_BUF - sizeof(struct mw_msg))
            return 1;
        if (mw_msg_differs(t, ma, mb, compat & 1))
            return 1;
        u32 sa = ((struct mw_msg *)&t->rec[ma])->size, sb = ((struct mw_msg *)&t->rec[mb])->size;
        if (sa > MW_REC_BUF || sb > MW_REC_BUF)
            return 1;
        qa = ma + sa;
        qb = mb + sb;
    }
    return 0;
}

/* The blocks at rec[ea] (entry read) and rec[xa] (exit read) of one argument. */
__noinline int mw_block_differs(struct mw_task *t, u32 ea, u32 xa, u32 compat)
{
    if (!t)
        return 1;
    if (ea > MW_REC_BUF - sizeof(struct mw_block) || xa > MW_REC_BUF - sizeof(struct mw_block))
        return 1;
    struct mw_block *e = (struct mw_block *)&t->rec[ea];
    struct mw_block *x = (struct mw_block *)&t->rec[xa];
    u32 es = e->status, xs = x->status, el = e->len, xl = x->len, type = e->type;
    /* A read that failed outright has no value: nothing to compare (as in user space). */
    if (((es & MW_S_FAULT) && el == 0) || ((xs & MW_S_FAULT) && xl == 0))
        return 0;
    if ((es & MW_S_NULL) || (xs & MW_S_NULL))
        return (es & MW_S_NULL) != (xs & MW_S_NULL);
    if (type != x->type)
        return 1;
    if (type == MW_T_MSGHDR)
        return mw_msg_differs(t, ea + sizeof(struct mw_block), xa + sizeof(struct mw_block), (compat & 1) | 2);
    if (type == MW_T_MMSGHDRS)
        return mw_mmsg_differs(t, ea + sizeof(struct mw_block), xa + sizeof(struct mw_block), compat & 1);
    if (el != xl)
        return 1;
    return mw_differ(t, ea + sizeof(struct mw_block), xa + sizeof(struct mw_block), el);
}

/* Bit i: TOCTOU argument i (read at entry and at exit) differs. */
static __always_inline u32 changed_mask(struct mw_task *t, const volatile struct mw_syscall_cfg *c, u32 compat)
{
    u32 mask = 0;
    for (int i = 0; i < MW_MAX_ARGS; i++) {
        if (c->phase[i] != (MW_P_ENTRY | MW_P_EXIT) || c->type[i] < MW_T_STRING)
            continue;
        u32 ea = t->eoff[i], xa = t->xoff[i];
        if (!ea || !xa)
            continue;
        if (mw_block_differs(t, ea, xa, compat))
            mask |= 1U << i;
    }
    return mask;
}

/* MW_CTL_* types of the message header block at rec[off] (0 when there is none). */
static __always_inline u32 block_ctl_types(struct mw_task *t, u32 off)
{
    if (!off)
        return 0;
    barrier_var(off);
    if (off > MW_REC_BUF - sizeof(struct mw_block) - sizeof(struct mw_msg))
        return 0;
    struct mw_block *b = (struct mw_block *)&t->rec[off];
    if (b->len == 0)
        return 0;
    if (b->type == MW_T_MSGHDR)
        return ((struct mw_msg *)&t->rec[off + sizeof(struct mw_block)])->ctl_types;
    if (b->type == MW_T_MMSGHDRS)
        return ((struct mw_mmsg *)&t->rec[off + sizeof(struct mw_block)])->ctl_types;
    return 0;
}

/*
 * The exit decision in one small read, for the common case: a receive whose caller got no
 * control data back, a send whose message header and iovecs read as they did at entry. `msg` is
 * the message argument | its read phases << 8; `want` the QUICK_* facts asked for; `both` the
 * arguments read at entry and at exit. Returns the facts it could establish exactly as the full
 * exit capture would (the rest is left to it).
 */
#define QUICK_NO_CONTROL 0x1 /* the exit read of the message carries no control message */
#define QUICK_UNCHANGED 0x2  /* no TOCTOU argument changed */
#define QUICK_SCRATCH (MW_REC_BUF - MW_MSG_WINDOW - 8)

__noinline u32 mw_quick_exit(struct mw_task *t, u32 msg, u32 compat, u32 want, u32 both)
{
    if (!t)
        return 0;
    u32 m = msg & 0xff, phase = (msg >> 8) & 0xff, out = 0;
    if (m >= MW_MAX_ARGS) /* no message header: no control, and no TOCTOU argument to compare */
        return both ? QUICK_NO_CONTROL : QUICK_NO_CONTROL | QUICK_UNCHANGED;
    u64 uptr = hdr_of(t)->args[m];
    const volatile struct mw_syscall_cfg *c = cfg_at(t->idx);
    if (!c || c->type[m] != MW_T_MSGHDR)
        return 0;
    u32 hsz = compat ? sizeof(struct mw_compat_msghdr) : sizeof(struct mw_user_msghdr);

    if ((want & QUICK_NO_CONTROL) && phase == MW_P_EXIT) {
        if (!uptr) {
            out |= QUICK_NO_CONTROL;  /* no header: no control */
        } else {
            u64 ctl, ctllen;
            if (compat) {
                struct mw_compat_msghdr h;
                if (bpf_probe_read_user(&h, sizeof(h), (void *)uptr) == 0) {
                    ctl = h.msg_control;
                    ctllen = h.msg_controllen;
                    if (!ctl || !ctllen)
                        out |= QUICK_NO_CONTROL;
                }
            } else {
                struct mw_user_msghdr h;
                if (bpf_probe_read_user(&h, sizeof(h), (void *)uptr) == 0) {
                    ctl = h.msg_control;
                    ctllen = h.msg_controllen;
                    if (!ctl || !ctllen)
                        out |= QUICK_NO_CONTROL;
                }
            }
        }
    }

    if (!(want & QUICK_UNCHANGED))
        return out;
    if (both & ~(1U << m))
        return out;  /* other TOCTOU arguments: the full comparison */
    if (!(both & (1U << m)))
        return out | QUICK_UNCHANGED;  /* nothing read twice */
    u32 e = t->eoff[m];
    if (!e)
        return out;
    barrier_var(e); /* two checks, not clang's folded range check the verifier cannot follow */
    if (e > MW_REC_BUF - sizeof(struct mw_block) - sizeof(struct mw_msg))
        return out;
    struct mw_block *b = (struct mw_block *)&t->rec[e];
    /* No value at entry (NULL stays NULL: the pointer is a register; a failed read has nothing to compare). */
    if ((b->status & MW_S_NULL) || ((b->status & MW_S_FAULT) && b->len == 0))
        return out | QUICK_UNCHANGED;
    if (b->status)
        return out;
    u32 p = e + sizeof(struct mw_block);
    struct mw_msg *em = (struct mw_msg *)&t->rec[p];
    if (!em->hdr_len)
        return out | QUICK_UNCHANGED;
    if (em->status || em->name_len || em->ctl_len || em->nfiles || em->hdr_len != hsz)
        return out;
    u32 win = em->win_len, hoff = em->hdr_off, ioff = em->iov_off, ilen = em->iov_len;
    u32 wstart = sizeof(struct mw_msg);
    if (hoff < wstart || win > MW_MSG_WINDOW || hoff - wstart + hsz > win)
        return out;
    if (ilen && (ioff < wstart || ioff - wstart + ilen > win))
        return out;  /* the iovecs were a read of their own */
    if (t->len > QUICK_SCRATCH)
        return out;
    u64 lo = uptr - (hoff - wstart);
    if (bpf_probe_read_user(&t->rec[QUICK_SCRATCH], win & 0xff, (void *)lo) < 0)
        return out;
    /* The header but msg_flags (which the kernel writes back) and what follows it: its first 48
     * (native) or 24 (compat) bytes, word by word; then the iovec array. */
    u32 eh = p + hoff, xh = QUICK_SCRATCH + (hoff - wstart);
    barrier_var(eh);
    barrier_var(xh);
    if (eh > MW_REC_BUF - 64 || xh > MW_REC_BUF - 64)
        return out;
    u64 *wa = (u64 *)&t->rec[eh], *wb = (u64 *)&t->rec[xh];
    barrier_var(wa);
    barrier_var(wb);
    u64 d = wa[0] ^ wb[0];
    d |= wa[1] ^ wb[1];
    d |= wa[2] ^ wb[2];
    if (!compat) {
        d |= wa[3] ^ wb[3];
        d |= wa[4] ^ wb[4];
        d |= wa[5] ^ wb[5];
    }
    if (d)
        return out;
    if (ilen) {
        u32 ei = p + ioff, xi = QUICK_SCRATCH + (ioff - wstart);
        barrier_var(ei);
        barrier_var(xi);
        if (ei > MW_REC_BUF - MW_MSG_WINDOW || xi > MW_REC_BUF - MW_MSG_WINDOW)
            return out;
        u64 *ia = (u64 *)&t->rec[ei], *ib = (u64 *)&t->rec[xi];
        barrier_var(ia);
        barrier_var(ib);
        for (int k = 0; k < MW_MSG_WINDOW / 8; k++) {
            if (k * 8 >= ilen)
                break;
            d |= ia[k] ^ ib[k];
        }
        if (d)
            return out;
    }
    return out | QUICK_UNCHANGED;
}
#endif
