/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The loaded signatures' interest (struct mw_filter), evaluated as early as each condition can be
 * known: compat, ABI, comm, uid and integer arguments at entry, from registers and the task, before
 * any user memory is read; control messages once the header is read (entry for sends, exit for
 * receives); success and changed arguments at exit. The semantics mirror the user-space filter
 * (SignatureFilter / FilterClause), which checks every event again: the kernel may only accept
 * more, never less.
 */
#ifndef MW_FILTER_H
#define MW_FILTER_H
#include "common.h"

/* What entry conditions are evaluated on. */
struct mw_facts {
    u64 a[MW_MAX_ARGS];
    u64 comm[2];    /* task->comm, zero-padded */
    u32 compat;
    u32 bits;
    u32 uid;
    u32 pad;
};

/* Bit of the filter comm table entry equal to the task's comm (entries are distinct). */
static __always_inline u64 comm_bit(struct mw_filter *fl, struct mw_facts *f)
{
    u32 n = fl->ncomms;
    for (int i = 0; i < MW_FILTER_COMMS; i++) {
        if (i >= n)
            break;
        u64 *e = (u64 *)fl->comms[i];
        if (e[0] == f->comm[0] && e[1] == f->comm[1])
            return 1ULL << i;
    }
    return 0;
}

static __always_inline u64 uid_bit(struct mw_filter *fl, u32 uid)
{
    u32 n = fl->nuids;
    for (int i = 0; i < MW_FILTER_UIDS; i++) {
        if (i >= n)
            break;
        if (fl->uids[i] == uid)
            return 1ULL << i;
    }
    return 0;
}

/* An argument register as the decoder reads it (WireDecoder: sign, width, compat). */
static __always_inline s64 arg_value(u64 r, u32 type, u32 compat)
{
    switch (type) {
    case MW_T_INT: return (s64)(s32)r;
    case MW_T_UINT: return (s64)(u32)r;
    case MW_T_LONG: return compat ? (s64)(s32)r : (s64)r;
    case MW_T_ULONG: return compat ? (s64)(u32)r : (s64)r;
    default: return (s64)r;
    }
}

static __always_inline bool argcond_ok(struct mw_argcond *ac, struct mw_facts *f)
{
    u32 arg = ac->arg;
    if (arg >= MW_MAX_ARGS)
        return false;
    s64 v = arg_value(f->a[arg], ac->type, f->compat);
    if (ac->mode == MW_ARG_ANY_BITS)
        return (v & ac->vals[0]) != 0;
    u32 n = ac->nvals;
    bool hit = false;
    for (int k = 0; k < MW_ARG_VALUES; k++) {
        if (k < n && ac->vals[k] == v)
            hit = true;
    }
    return hit;
}

static __always_inline bool clause_entry_ok(struct mw_clause *c, struct mw_facts *f, u64 cbit, u64 ubit)
{
    u32 need = c->need;
    if ((need & MW_C_COMPAT) && f->compat != ((c->want & MW_W_COMPAT) ? 1 : 0))
        return false;
    if ((need & MW_C_BITS) && f->bits != c->bits)
        return false;
    if ((need & MW_C_COMM) && !(cbit & c->comm_in))
        return false;
    if ((need & MW_C_NOT_COMM) && (cbit & c->comm_out))
        return false;
    if ((need & MW_C_UID) && !(ubit & c->uid_in))
        return false;
    if ((need & MW_C_NOT_UID) && (ubit & c->uid_out))
        return false;
    if (need & MW_C_ARGS) {
        u32 n = c->nargc;
        if (n > 0 && !argcond_ok(&c->argc[0], f))
            return false;
        if (n > 1 && !argcond_ok(&c->argc[1], f))
            return false;
    }
    return true;
}

/*
 * The slow clauses (comm, uid, argument conditions) of kind `kind` among `cand` whose entry
 * conditions hold: bit i for clause i. A global function: verified once, on its own, whatever
 * the caller's state.
 */
__noinline u32 mw_filter_slow(struct mw_filter *fl, u32 kind, struct mw_facts *f, u32 cand)
{
    if (!fl || !f)
        return 0;
    struct mw_kind_cfg *kc = &fl->kinds[kind & (MW_MAX_KINDS - 1)];
    u32 n = kc->nclauses, first = kc->first;
    u64 cbit = comm_bit(fl, f);
    u64 ubit = uid_bit(fl, f->uid);
    u32 alive = 0;
    for (int i = 0; i < MW_KIND_CLAUSES; i++) {
        if (i >= n)
            break;
        if (!(cand & (1U << i)))
            continue;
        u32 ci = first + i;
        barrier_var(ci); /* bound the index itself, not a pointer clang derived from `first` */
        if (ci >= MW_MAX_CLAUSES)
            break;
        if (clause_entry_ok(&fl->clauses[ci], f, cbit, ubit))
            alive |= 1U << i;
    }
    return alive;
}

/* The ABI index of bits_fail[]. */
static __always_inline u32 bits_index(u32 bits)
{
    return bits == 32 ? 1 : (bits == 64 ? 2 : 0);
}

/* The clauses of a filtered kind whose entry conditions (those from registers and the task) hold. */
static __always_inline u32 filter_entry(struct mw_filter *fl, struct mw_kind_cfg *kc, u32 kind, struct mw_facts *f)
{
    u32 alive = kc->all & ~kc->compat_fail[f->compat & 1] & ~kc->bits_fail[bits_index(f->bits)];
    u32 slow = alive & kc->slow;
    if (slow)
        alive = (alive & ~slow) | mw_filter_slow(fl, kind, f, slow);
    return alive;
}

/* Drops the clauses the control messages of the entry read refute (sends); `types` MW_CTL_*. */
static __always_inline u32 filter_entry_control(struct mw_kind_cfg *kc, u32 alive, u32 types)
{
    u32 pass = 0;
    if (types & MW_CTL_RIGHTS) pass |= kc->ctl_rights;
    if (types & MW_CTL_CREDENTIALS) pass |= kc->ctl_creds;
    if (types & MW_CTL_OTHER) pass |= kc->ctl_other;
    return alive & ~(kc->ctl_entry & ~pass);
}

/* What exit will decide on, for the clauses in `alive`. */
static __always_inline void filter_plan(struct mw_kind_cfg *kc, u32 alive, struct mw_plan *p)
{
    p->alive = alive;
    p->succ_need = kc->succ_need;
    p->succ_ok = kc->succ_ok;
    p->chg_need = kc->chg_need;
    p->chg_yes = kc->chg_yes;
    p->ctl_need = kc->ctl_exit;
    p->ctl_rights = kc->ctl_rights;
    p->ctl_creds = kc->ctl_creds;
    p->ctl_other = kc->ctl_other;
}

/* Success is known first at exit: the clauses it does not refute. */
static __always_inline u32 plan_success(const struct mw_plan *p, long ret)
{
    u32 ok = ret >= 0 ? 0xff : 0;
    /* a clause fails when it needs success and the outcome differs from what it wants */
    return p->alive & ~(p->succ_need & (ok ^ p->succ_ok));
}

/* The exit reads: the clauses their control and changed conditions do not refute. */
static __always_inline u32 plan_exit(const struct mw_plan *p, u32 alive, u32 exit_ctl, u32 changed)
{
    u32 pass = 0;
    if (exit_ctl & MW_CTL_RIGHTS) pass |= p->ctl_rights;
    if (exit_ctl & MW_CTL_CREDENTIALS) pass |= p->ctl_creds;
    if (exit_ctl & MW_CTL_OTHER) pass |= p->ctl_other;
    alive &= ~(p->ctl_need & ~pass);
    /* `changed`: some TOCTOU argument's bytes differ. Equal bytes prove equal values (clauses that
     * want a change fail); different bytes need not be different values (padding, pointers the
     * decoder does not show), so they refute nothing: user space decides. */
    if (!changed)
        alive &= ~(p->chg_need & p->chg_yes);
    return alive & 0xff;
}
#endif
