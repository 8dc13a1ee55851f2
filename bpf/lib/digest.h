/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Digests of values cut to the probe's limits (struct mw_digest): FNV-1a 64 over the whole value,
 * so that two reads of a long path or argument vector compare past the prefix the record keeps
 * (a TOCTOU flip at byte 600 of a path, or in the 40th argument, is seen). User space computes
 * the same function over values that were not cut (Event.fingerprint), so a vector cut at entry
 * compares with one that fit at exit.
 */
#ifndef MW_DIGEST_H
#define MW_DIGEST_H
#include "common.h"

#define MW_FNV_OFFSET 0xcbf29ce484222325ULL
#define MW_FNV_PRIME 0x100000001b3ULL
#define MW_DIGEST_ARGV_ENTRIES 4096 /* pointers followed in one vector */

struct mw_digest_ctx {
    struct mw_task *t;
};

struct mw_fnv_ctx {
    struct mw_task *t;
    u64 h;
    u32 n;
};

#define FNV_BYTE(k)                                  \
    if (o + (k) < c->n) {                            \
        h ^= (w >> (8 * (k))) & 0xff;                \
        h *= MW_FNV_PRIME;                           \
    }

/* Eight bytes of scratch (bpf_loop callback: verified once, whatever the length). */
static long mw_fnv_word(u64 i, struct mw_fnv_ctx *c)
{
    struct mw_task *t = c->t;
    u32 o = i * 8;
    if (!t || o >= c->n || o > MW_SCRATCH - 8)
        return 1;
    u8 *x = &t->scratch[o];
    barrier_var(x);
    u64 w = *(u64 *)x;
    u64 h = c->h;
    FNV_BYTE(0) FNV_BYTE(1) FNV_BYTE(2) FNV_BYTE(3) FNV_BYTE(4) FNV_BYTE(5) FNV_BYTE(6) FNV_BYTE(7)
    c->h = h;
    return 0;
}

/* Hashes scratch[0 .. n). */
static __always_inline u64 fnv_scratch(struct mw_task *t, u64 h, u32 n)
{
    struct mw_fnv_ctx c = {.t = t, .h = h, .n = n > MW_SCRATCH ? MW_SCRATCH : n};
    bpf_loop((c.n + 7) / 8, mw_fnv_word, &c, 0);
    return c.h;
}

/* One chunk of a NUL-terminated string at `at`: hashes its bytes but the NUL (`with_nul`: and the
 * NUL). Returns 1 when the string ended in this chunk. */
static __always_inline int digest_str_chunk(struct mw_task *t, u64 at, u32 with_nul)
{
    struct mw_dstate *d = &t->dig;
    long n = d->kernel ? bpf_probe_read_kernel_str(t->scratch, MW_SCRATCH, (void *)at)
                       : bpf_probe_read_user_str(t->scratch, MW_SCRATCH, (void *)at);
    if (n <= 0) {
        d->partial = 1;
        d->done = 1;
        return 1;
    }
    /* n counts the NUL the helper wrote; a full chunk (n == MW_SCRATCH) has no NUL of the string */
    u32 chars = n - 1;
    int ended = n < MW_SCRATCH;
    u32 take = chars + (ended && with_nul ? 1 : 0);
    if (d->len + take > d->limit) {
        take = d->limit > d->len ? d->limit - d->len : 0;
        d->partial = 1;
        d->done = 1;
        ended = 1;
    }
    d->h = fnv_scratch(t, d->h, take);
    d->len += take;
    return ended;
}

static long mw_digest_str_step(u64 i, struct mw_digest_ctx *c)
{
    struct mw_task *t = c->t;
    if (!t || t->dig.done)
        return 1;
    if (digest_str_chunk(t, t->dig.ptr, 0)) {
        t->dig.done = 1;
        return 1;
    }
    t->dig.ptr += MW_SCRATCH - 1;
    return 0;
}

static __always_inline void dstate_init(struct mw_task *t, u64 ptr, u64 end, u32 limit, u8 kernel, u8 compat)
{
    struct mw_dstate *d = &t->dig;
    d->h = MW_FNV_OFFSET;
    d->ptr = ptr;
    d->cur = 0;
    d->end = end;
    d->len = 0;
    d->limit = limit;
    d->entry = 0;
    d->kernel = kernel;
    d->compat = compat;
    d->partial = 0;
    d->done = 0;
}

/* Writes the finished digest at rec[at]. */
static __always_inline int dstate_put(struct mw_task *t, u32 at)
{
    if (at > MW_REC_BUF - sizeof(struct mw_digest))
        return 0;
    struct mw_digest *d = (struct mw_digest *)&t->rec[at];
    d->fnv = t->dig.h;
    d->len = t->dig.len;
    d->flags = t->dig.partial ? MW_D_PARTIAL : 0;
    return sizeof(struct mw_digest);
}

/*
 * Writes a struct mw_digest at rec[at] for the string at `ptr` (user memory, or kernel memory
 * when `kernel`). Returns its size, 0 when out of space.
 */
__noinline int mw_digest_str(struct mw_task *t, u32 at, u64 ptr, u32 kernel)
{
    if (!t)
        return 0;
    dstate_init(t, ptr, 0, MW_DIGEST_STR, kernel, 0);
    struct mw_digest_ctx c = {.t = t};
    bpf_loop(MW_DIGEST_STR / (MW_SCRATCH - 1) + 1, mw_digest_str_step, &c, 0);
    if (!t->dig.done)
        t->dig.partial = 1;
    return dstate_put(t, at);
}

static long mw_digest_vec_step(u64 i, struct mw_digest_ctx *c)
{
    struct mw_task *t = c->t;
    if (!t || t->dig.done)
        return 1;
    struct mw_dstate *d = &t->dig;
    if (!d->cur) {
        u64 s = 0;
        u32 psize = d->compat ? 4 : 8;
        if (bpf_probe_read_user(&s, psize, (void *)(d->ptr + (u64)d->entry * psize)) < 0) {
            d->partial = 1;
            d->done = 1;
            return 1;
        }
        d->entry++;
        if (!s) {
            d->done = 1;
            return 1;
        }
        d->cur = s;
    }
    if (digest_str_chunk(t, d->cur, 1))
        d->cur = 0;
    else
        d->cur += MW_SCRATCH - 1;
    return d->done ? 1 : 0;
}

/* A struct mw_digest at rec[at] of the vector (argv, envp) at `uptr`: its strings, each with its
 * NUL, as the new image's argument area holds them. */
__noinline int mw_digest_vec(struct mw_task *t, u32 at, u64 uptr, u32 compat)
{
    if (!t)
        return 0;
    dstate_init(t, uptr, 0, MW_DIGEST_ARGV, 0, compat);
    struct mw_digest_ctx c = {.t = t};
    bpf_loop(MW_DIGEST_ARGV_ENTRIES + MW_DIGEST_ARGV / (MW_SCRATCH - 1) + 1, mw_digest_vec_step, &c, 0);
    if (!t->dig.done)
        t->dig.partial = 1;
    return dstate_put(t, at);
}

static long mw_digest_area_step(u64 i, struct mw_digest_ctx *c)
{
    struct mw_task *t = c->t;
    if (!t)
        return 1;
    struct mw_dstate *d = &t->dig;
    if (d->ptr >= d->end || d->len >= d->limit)
        return 1;
    u64 want = d->end - d->ptr;
    if (want > d->limit - d->len)
        want = d->limit - d->len;
    u32 n = want > MW_SCRATCH ? MW_SCRATCH : want;
    if (bpf_probe_read_user(t->scratch, n & (MW_SCRATCH * 2 - 1), (void *)d->ptr) < 0) {
        d->partial = 1;
        return 1;
    }
    d->h = fnv_scratch(t, d->h, n);
    d->len += n;
    d->ptr += n;
    return 0;
}

/* A struct mw_digest at rec[at] of user memory [start, end) (the new image's argument area). */
__noinline int mw_digest_area(struct mw_task *t, u32 at, u64 start, u64 end)
{
    if (!t)
        return 0;
    dstate_init(t, start, end, MW_DIGEST_ARGV, 0, 0);
    struct mw_digest_ctx c = {.t = t};
    bpf_loop(MW_DIGEST_ARGV / MW_SCRATCH + 1, mw_digest_area_step, &c, 0);
    if (end > start && end - start > MW_DIGEST_ARGV)
        t->dig.partial = 1;
    return dstate_put(t, at);
}
#endif
