// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * moonwatch kernel probes.
 *
 * sys_enter / sys_exit (tp_btf, or raw_tp where tp_btf does not load) see every syscall of every
 * task, native and ia32 compat alike; a table user space builds from the event catalogue says
 * which numbers are catalogue events and how to read each argument, and the loaded signatures'
 * interest (lib/filter.h) says which calls of each kind anyone could want. A call nobody could
 * want is turned away at entry from registers and the task alone; a call that depends on what
 * user memory holds or on how it ends is read only as far as the decision needs, and its record
 * is completed and sent only once accepted. So a flood of ordinary calls costs a few loads each
 * and never reaches the ring buffer.
 *
 * sched_process_fork / sched_process_exit give the process lifecycle events and let a --pid
 * scope follow children.
 *
 * Layout: lib/common.h (maps, configuration, task state), lib/scope.h, lib/paths.h (paths and
 * descriptors), lib/msghdr.h, lib/strings.h, lib/args.h (argument blocks), lib/record.h (header,
 * exe, submit), lib/filter.h (the interest), lib/changed.h (TOCTOU comparison).
 */
#include "lib/common.h"
#include "lib/scope.h"
#include "lib/paths.h"
#include "lib/msghdr.h"
#include "lib/strings.h"
#include "lib/args.h"
#include "lib/record.h"
#include "lib/filter.h"
#include "lib/changed.h"
#include "lib/uring.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Number of u32 arguments of each ia32 socketcall sub-call (net/compat.c). */
static const u8 socketcall_nargs[32] = {0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5, 3, 3, 4, 5, 4};

static __always_inline void read_regs(struct pt_regs *regs, u64 *a, u32 compat, const bool btf)
{
    if (btf) {
        if (compat) {
            a[0] = (u32)regs->bx; a[1] = (u32)regs->cx; a[2] = (u32)regs->dx;
            a[3] = (u32)regs->si; a[4] = (u32)regs->di; a[5] = (u32)regs->bp;
        } else {
            a[0] = regs->di; a[1] = regs->si; a[2] = regs->dx;
            a[3] = regs->r10; a[4] = regs->r8; a[5] = regs->r9;
        }
    } else {
        if (compat) {
            a[0] = (u32)BPF_CORE_READ(regs, bx); a[1] = (u32)BPF_CORE_READ(regs, cx);
            a[2] = (u32)BPF_CORE_READ(regs, dx); a[3] = (u32)BPF_CORE_READ(regs, si);
            a[4] = (u32)BPF_CORE_READ(regs, di); a[5] = (u32)BPF_CORE_READ(regs, bp);
        } else {
            a[0] = BPF_CORE_READ(regs, di); a[1] = BPF_CORE_READ(regs, si);
            a[2] = BPF_CORE_READ(regs, dx); a[3] = BPF_CORE_READ(regs, r10);
            a[4] = BPF_CORE_READ(regs, r8); a[5] = BPF_CORE_READ(regs, r9);
        }
    }
}

/* ------------------------------------------------------------ syscalls ---- */

static __always_inline int on_enter(struct pt_regs *regs, long id, const bool btf)
{
#ifdef MW_TEST_VERIFIER_REJECT
    /* Built only by the loader's error-path test: an out-of-bounds read the verifier refuses. */
    if (id == 4095) {
        volatile const u8 *p = (volatile const u8 *)&mw_cfg;
        return p[sizeof(mw_cfg) + 64];
    }
#endif
    if (id < 0 || id >= MW_NR_SLOTS)
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    u32 compat = (task->thread_info.status & TS_COMPAT) ? 1 : 0;
    u32 idx = compat ? IDX_IA32 + id : id;
    const volatile struct mw_syscall_cfg *c = cfg_at(idx);
    if (!c || !c->valid)
        return 0;
    if (mw_cfg.version != MW_WIRE_VERSION)
        return 0;
    struct mw_filter *fl = live_filter();
    u32 kind = c->kind & (MW_MAX_KINDS - 1);
    if (!(c->flags & MW_CFG_SOCKETCALL) && fl->kinds[kind].mode == MW_K_OFF)
        return 0;

    u32 tgid = task->tgid;
    if (tgid == mw_cfg.self_tgid)
        return 0;
    if (mw_cfg.filter && !in_scope(tgid, task->cred->uid.val))
        return 0;

    struct mw_facts f;
    read_regs(regs, f.a, compat, btf);
    f.comm[0] = *(u64 *)&task->comm[0];
    f.comm[1] = *(u64 *)&task->comm[8];
    f.compat = compat;
    f.bits = bits_of_task(task);
    f.uid = task->cred->uid.val;
    f.pad = 0;

    u16 flags = compat ? MW_EV_COMPAT : 0;
    s32 nr = id;
    if (c->flags & MW_CFG_SOCKETCALL) {
        /* ia32 socketcall(call, u32 *args): the real call and its arguments live in user memory. */
        u32 call = f.a[0];
        if (call == 0 || call > 20)
            return 0;
        idx = IDX_SOCKETCALL + call;
        c = cfg_at(idx);
        if (!c || !c->valid)
            return 0;
        kind = c->kind & (MW_MAX_KINDS - 1);
        if (fl->kinds[kind].mode == MW_K_OFF)
            return 0;
        STAT_INC(socketcall);
        u32 ua[6] = {};
        u32 n = socketcall_nargs[call & 31] * 4;
        if (bpf_probe_read_user(ua, n & 31, (void *)f.a[1]) < 0)
            return 0;
        for (int i = 0; i < MW_MAX_ARGS; i++)
            f.a[i] = ua[i];
        flags |= MW_EV_SOCKETCALL;
        nr = call;
    }

    KSTAT_ADD(kind, seen);
    struct mw_kind_cfg *kc = &fl->kinds[kind];
    u32 mode = kc->mode;
    u32 alive = 0;
    if (mode == MW_K_FILTER) {
        alive = filter_entry(fl, kc, kind, &f);
        if (!alive) {
            KSTAT_ADD(kind, filtered);
            return 0;
        }
    }

    struct mw_task *t = bpf_task_storage_get(&mw_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!t) {
        STAT_INC(drop_storage);
        KSTAT_INC_EXACT(kind, dropped);
        return 0;
    }
    record_start(t, task, kind, flags, nr, f.a, c->nargs, f.bits);
    bool exec = c->flags & MW_CFG_EXEC;
    /* An exec replaces the image: who made the call, and when, must be taken before it does. */
    if (exec) {
        record_time(t, false);
        record_context(t, task);
    }
    capture_args(t, c, MW_P_ENTRY, compat);
    /* Memory not resident yet (a fresh child's string literals, a cold page) fails to read here;
     * the kernel faults it in when it copies, so exit reads it again. */
    t->late = c->read_entry ? late_args(t) : 0;

    u32 state = TASK_ACCEPTED;
    if (mode == MW_K_FILTER) {
        u32 ctl_defer = 0;
        if (alive & kc->ctl_entry) {
            u32 m = c->msg_arg & 7;
            if (m < MW_MAX_ARGS && (t->late & (1U << m))) {
                ctl_defer = alive & kc->ctl_entry;  /* the header could not be read: decide on the exit read */
            } else {
                u32 types = m < MW_MAX_ARGS ? block_ctl_types(t, t->eoff[m]) : 0;
                alive = filter_entry_control(kc, alive, types);
            }
            if (!alive) {
                KSTAT_ADD(kind, filtered);
                t->state = TASK_IDLE;
                return 0;
            }
        }
        if (!(alive & ~(kc->exit_need | ctl_defer))) {
            filter_plan(kc, alive, &t->plan);
            t->plan.ctl_need |= ctl_defer;
            state = TASK_PENDING;
        }
        hdr_of(t)->clauses = alive;
    }
    if (state == TASK_ACCEPTED)
        record_accept(t, task, false, c);
    t->idx = idx;
    t->abi_nr = id | (compat ? 0x80000000 : 0);
    t->state = state;
    return 0;
}

static __always_inline int on_exit(struct pt_regs *regs, long ret, const bool btf)
{
    long id = btf ? regs->orig_ax : BPF_CORE_READ(regs, orig_ax);
    if (id < 0 || id >= MW_NR_SLOTS)
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    u32 compat = (task->thread_info.status & TS_COMPAT) ? 1 : 0;
    u32 idx = compat ? IDX_IA32 + id : id;
    const volatile struct mw_syscall_cfg *c = cfg_at(idx);
    if (!c)
        return 0;
    /* A successful exec (execve or execveat, either ABI) sets orig_ax to the new program's
     * execve number and TS_COMPAT to its ABI before sys_exit runs. */
    bool exec_exit = (!compat && id == NR_EXECVE_64) || (compat && id == NR_EXECVE_32);
    if (!c->valid && !exec_exit)
        return 0;

    struct mw_task *t = bpf_task_storage_get(&mw_tasks, task, 0, 0);
    if (!t || t->state == TASK_IDLE)
        return 0;
    u32 state = t->state;
    t->state = TASK_IDLE;
    const volatile struct mw_syscall_cfg *in = cfg_at(t->idx);
    if (!in)
        return 0;
    u32 kind = t->kind;
    if (t->abi_nr != (id | (compat ? 0x80000000 : 0)) && !(exec_exit && (in->flags & MW_CFG_EXEC))) {
        STAT_INC(lost_exit);
        KSTAT_INC_EXACT(kind, dropped);
        return 0;
    }
    /* The entry's ABI: an exec into a program of the other word size changed TS_COMPAT. */
    u32 in_compat = t->abi_nr >> 31;
    bool exec_ok = (in->flags & MW_CFG_EXEC) && ret == 0;
    struct mw_event_hdr *h = hdr_of(t);
    h->ret = ret;
    h->flags |= MW_EV_EXIT;

    if (state == TASK_PENDING) {
        u32 alive = plan_success(&t->plan, ret);
        u32 need_ctl = alive & t->plan.ctl_need, need_chg = alive & t->plan.chg_need;
        if (need_ctl || need_chg) {
            /* Most calls are settled by one small read: no control buffer came back, the message
             * header and iovecs read as at entry. Only the others are read in full. (A successful
             * exec has its exit reads from the new image already: sched_process_exec.) */
            u32 quick = exec_ok || t->late ? 0
                                : mw_quick_exit(t, in->msg_arg | (u32)in->phase[in->msg_arg & 7] << 8, in_compat,
                                                (need_ctl ? QUICK_NO_CONTROL : 0) | (need_chg ? QUICK_UNCHANGED : 0),
                                                (u32)in->read_entry & (u32)in->read_exit);
            bool settled = (!need_ctl || (quick & QUICK_NO_CONTROL)) && (!need_chg || (quick & QUICK_UNCHANGED));
            if (settled) {
                alive = plan_exit(&t->plan, alive, 0, 0);
            } else {
                if (!exec_ok)
                    capture_exit(t, in, in_compat);
                u32 m = in->msg_arg;
                u32 exit_ctl = need_ctl && m < MW_MAX_ARGS ? block_ctl_types(t, t->xoff[m & 7]) : 0;
                u32 changed = need_chg ? changed_mask(t, in, in_compat) : 0;
                alive = plan_exit(&t->plan, alive, exit_ctl, changed);
            }
        }
        if (!alive) {
            KSTAT_ADD(kind, filtered);
            return 0;
        }
        h->clauses = alive;
        record_accept(t, task, true, in);
    }
    if (!exec_ok)
        capture_exit(t, in, in_compat);
    submit(t);
    return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(mw_sys_enter_btf, struct pt_regs *regs, long id)
{
    return on_enter(regs, id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(mw_sys_exit_btf, struct pt_regs *regs, long ret)
{
    return on_exit(regs, ret, true);
}

SEC("raw_tracepoint/sys_enter")
int mw_sys_enter_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return on_enter((struct pt_regs *)ctx->args[0], (long)ctx->args[1], false);
}

SEC("raw_tracepoint/sys_exit")
int mw_sys_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return on_exit((struct pt_regs *)ctx->args[0], (long)ctx->args[1], false);
}

/* --------------------------------------------------------------- exec ---- */

/* A string of kernel memory as the exit block of argument `i`. */
static __always_inline void cap_kernel_string(struct mw_task *t, u32 i, u64 ptr)
{
    u32 off = t->len;
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + MW_MAX_STR + sizeof(struct mw_digest) + 8))
        return;
    u32 p = off + sizeof(struct mw_block);
    long n = ptr ? bpf_probe_read_kernel_str(&t->rec[p], MW_MAX_STR, (void *)ptr) : 0;
    u8 status = n <= 0 ? MW_S_FAULT : (n == MW_MAX_STR ? MW_S_TRUNC : 0);
    u32 len = n > 0 ? n : 0;
    if (n == MW_MAX_STR && mw_digest_str(t, p + MW_MAX_STR, ptr, 1)) {
        status |= MW_S_DIGEST;
        len += sizeof(struct mw_digest);
    }
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + MW_MAX_STR + sizeof(struct mw_digest) + 8))
        return;
    struct mw_block *b = (struct mw_block *)&t->rec[off];
    b->arg = i;
    b->phase = MW_P_EXIT;
    b->type = MW_T_STRING;
    b->status = status;
    if (t->late & (1U << (i & 7)))
        b->status |= MW_S_LATE;
    b->len = len;
    hdr_of(t)->nblocks++;
    if (i < MW_MAX_ARGS)
        t->xoff[i] = off;
    t->len = p + ROUND8(len & 0xffff);
}

/* NUL-separated strings of the new image's memory [start, end) as the exit block of argument `i`. */
static __always_inline void cap_strings_area(struct mw_task *t, u32 i, u64 start, u64 end, u8 interp)
{
    u32 off = t->len;
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + MW_MAX_ARGV_BYTES + sizeof(struct mw_digest) + 8))
        return;
    u32 p = off + sizeof(struct mw_block);
    u64 want = end > start ? end - start : 0;
    u32 n = want > MW_MAX_ARGV_BYTES ? MW_MAX_ARGV_BYTES : want;
    u8 status = want > MW_MAX_ARGV_BYTES ? MW_S_TRUNC : 0;
    if (n && bpf_probe_read_user(&t->rec[p], n & (MW_MAX_ARGV_BYTES * 2 - 1), (void *)start) < 0) {
        n = 0;
        status = MW_S_FAULT;
    }
    /* A digest when this read is cut, or when the entry read was (cut by its entry count, say):
     * the two reads then compare by their digests. */
    u32 eo = i < MW_MAX_ARGS ? t->eoff[i & 7] : 0;
    u8 entry_digest = 0;
    barrier_var(eo);
    if (eo && eo <= MW_REC_BUF - sizeof(struct mw_block))
        entry_digest = ((struct mw_block *)&t->rec[eo])->status & MW_S_DIGEST;
    /* (an interpreter's area starts with its own arguments: a digest of it could never match) */
    if (interp)
        status |= MW_S_INTERP;
    else if (!(status & MW_S_FAULT) && ((status & MW_S_TRUNC) || entry_digest) && n <= MW_MAX_ARGV_BYTES &&
        mw_digest_area(t, p + n, start, end)) {
        status |= MW_S_DIGEST;
        n += sizeof(struct mw_digest);
    }
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + MW_MAX_ARGV_BYTES + sizeof(struct mw_digest) + 8))
        return;
    struct mw_block *b = (struct mw_block *)&t->rec[off];
    b->arg = i;
    b->phase = MW_P_EXIT;
    b->type = MW_T_ARGV;
    b->status = status | ((t->late & (1U << (i & 7))) ? MW_S_LATE : 0);
    b->len = n;
    hdr_of(t)->nblocks++;
    if (i < MW_MAX_ARGS)
        t->xoff[i] = off;
    t->len = p + ROUND8(n & 0xffff);
}

/* What descriptors 0, 1 and 2 refer to, as the block of argument `arg` (struct mw_file and path,
 * then struct mw_sockinfo for a socket, per descriptor). */
__noinline int mw_cap_stdio(struct mw_task *t, u32 arg)
{
    if (!t)
        return 0;
    u32 off = t->len;
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + 3 * (sizeof(struct mw_file) + MW_MAX_PATH + 8 + sizeof(struct mw_sockinfo))))
        return 0;
    u32 q = off + sizeof(struct mw_block);
    for (int fd = 0; fd < 3; fd++) {
        if (q > MW_REC_BUF - (sizeof(struct mw_file) + MW_MAX_PATH + 8 + sizeof(struct mw_sockinfo)))
            return 0;
        u32 w = mw_cap_file(t, q, fd);
        if (!w)
            return 0;
        u8 type = ((struct mw_file *)&t->rec[q])->type;
        q += w;
        if (type == MW_FILE_SOCKET) {
            if (q > MW_REC_BUF - sizeof(struct mw_sockinfo))
                return 0;
            mw_cap_sockinfo(t, q, task_file(fd));
            q += sizeof(struct mw_sockinfo);
        }
    }
    if (off > MW_REC_BUF - sizeof(struct mw_block))
        return 0;
    struct mw_block *b = (struct mw_block *)&t->rec[off];
    b->arg = arg;
    b->phase = MW_P_EXIT;
    b->type = MW_T_STDIO;
    b->status = 0;
    b->len = q - off - sizeof(struct mw_block);
    hdr_of(t)->nblocks++;
    t->len = q;
    return 1;
}

/*
 * sched_process_exec: an exec this probe captured at entry has succeeded. What the new image
 * received is read here, where it is final and resident: the path the kernel used
 * (bprm->filename), argv and envp from the new stack, the file it executes, and what its
 * descriptors 0, 1 and 2 refer to. These are the exec's exit reads: compared with the entry reads
 * (a racing thread rewrote the arguments?), and the value when the entry read failed.
 */
static __always_inline int on_exec(struct linux_binprm *bprm)
{
    struct task_struct *task = bpf_get_current_task_btf();
    struct mw_task *t = bpf_task_storage_get(&mw_tasks, task, 0, 0);
    if (!t || t->state == TASK_IDLE)
        return 0;
    const volatile struct mw_syscall_cfg *c = cfg_at(t->idx);
    if (!c || !(c->flags & MW_CFG_EXEC))
        return 0;
    struct mm_struct *mm = task->mm;
    u32 vectors = 0;
    /* A script or binfmt_misc file: the kernel ran an interpreter (bprm->interp no longer the
     * file's name) and rewrote the start of argv for it. */
    u8 interp = BPF_CORE_READ(bprm, interp) != BPF_CORE_READ(bprm, filename);
    for (int i = 0; i < MW_MAX_ARGS; i++) {
        u32 type = c->type[i];
        if (type == MW_T_STRING && (c->phase[i] & MW_P_EXIT)) {
            cap_kernel_string(t, i, (u64)BPF_CORE_READ(bprm, filename));
        } else if (type == MW_T_ARGV) {
            /* the first vector is argv (read twice: TOCTOU), the second envp (read again only when
             * the entry read failed) */
            bool argv = vectors++ == 0;
            if (!mm)
                continue;
            if (argv && (c->phase[i] & MW_P_EXIT))
                cap_strings_area(t, i, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end), interp);
            else if (!argv && (t->late & (1U << i)))
                cap_strings_area(t, i, BPF_CORE_READ(mm, env_start), BPF_CORE_READ(mm, env_end), 0);
        }
    }
    if (c->prog_arg < 16)
        mw_cap_identity(t, (u64)BPF_CORE_READ(bprm, file), c->prog_arg, MW_T_PROGRAM);
    if (c->stdio_arg < 16)
        mw_cap_stdio(t, c->stdio_arg);
    return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(mw_execd_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    return on_exec(bprm);
}

SEC("raw_tracepoint/sched_process_exec")
int mw_execd_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return on_exec((struct linux_binprm *)ctx->args[2]);
}

/* ------------------------------------------------------------ process ---- */

/* A scheduler event of `kind` for `task`: every condition is known here (no exit, no memory). */
static __always_inline void process_event(struct task_struct *task, u16 kind, u64 a0, u64 a1)
{
    struct mw_filter *fl = live_filter();
    u32 mode = fl->kinds[kind & (MW_MAX_KINDS - 1)].mode;
    if (mode == MW_K_OFF)
        return;
    KSTAT_ADD(kind, seen);
    u32 clauses = 0xff;
    struct mw_facts f = {};
    f.a[0] = a0;
    f.a[1] = a1;
    f.comm[0] = *(u64 *)&task->comm[0];
    f.comm[1] = *(u64 *)&task->comm[8];
    f.bits = bits_of_task(task);
    f.uid = task->cred->uid.val;
    if (mode == MW_K_FILTER) {
        struct mw_kind_cfg *kc = &fl->kinds[kind & (MW_MAX_KINDS - 1)];
        u32 alive = filter_entry(fl, kc, kind, &f);
        /* Process events carry no control messages and no TOCTOU arguments, and succeed. */
        alive &= ~(kc->succ_need & ~kc->succ_ok) & ~(kc->chg_need & kc->chg_yes) & ~(kc->ctl_entry | kc->ctl_exit);
        if (!alive) {
            KSTAT_ADD(kind, filtered);
            return;
        }
        clauses = alive;
    }
    struct mw_task *t = bpf_task_storage_get(&mw_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!t) {
        STAT_INC(drop_storage);
        KSTAT_INC_EXACT(kind, dropped);
        return;
    }
    /* Never inside a captured syscall: fork runs in clone(), exit after the last sys_exit. */
    t->state = TASK_IDLE;
    record_start(t, task, kind, MW_EV_PROCESS | MW_EV_EXIT, -1, f.a, 2, f.bits);
    hdr_of(t)->clauses = clauses;
    record_time(t, false);
    record_context(t, task);
    mw_cap_exe(t);
    submit(t);
}

static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child, const bool btf)
{
    u32 ptgid = bpf_get_current_pid_tgid() >> 32;
    if (ptgid == mw_cfg.self_tgid)
        return 0;
    u32 ctgid = btf ? child->tgid : BPF_CORE_READ(child, tgid);
    u32 cpid = btf ? child->pid : BPF_CORE_READ(child, pid);
    if ((mw_cfg.filter & MW_FILTER_PID) && ctgid != ptgid) {
        if (bpf_map_lookup_elem(&mw_scope, &ptgid)) {
            u8 one = 1;
            bpf_map_update_elem(&mw_scope, &ctgid, &one, BPF_ANY);
        }
    }
    if (mw_cfg.kind_fork == 0xffff || mw_cfg.version != MW_WIRE_VERSION)
        return 0;
    if (!in_scope(ptgid, (u32)bpf_get_current_uid_gid()))
        return 0;
    process_event(bpf_get_current_task_btf(), mw_cfg.kind_fork, ctgid, cpid);
    return 0;
}

static __always_inline int on_exit_task(void)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 tgid = pid_tgid >> 32;
    if (tgid == mw_cfg.self_tgid)
        return 0;
    if (mw_cfg.kind_exit == 0xffff || mw_cfg.version != MW_WIRE_VERSION)
        goto scope;
    if (!in_scope(tgid, (u32)bpf_get_current_uid_gid()))
        goto scope;
    struct task_struct *task = bpf_get_current_task_btf();
    int code = task->exit_code;
    process_event(task, mw_cfg.kind_exit, (code >> 8) & 0xff, code & 0x7f);
scope:
    if ((mw_cfg.filter & MW_FILTER_PID) && (u32)pid_tgid == tgid)
        bpf_map_delete_elem(&mw_scope, &tgid);
    return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(mw_fork_btf, struct task_struct *parent, struct task_struct *child)
{
    return on_fork(parent, child, true);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(mw_exit_btf, struct task_struct *p)
{
    return on_exit_task();
}

SEC("raw_tracepoint/sched_process_fork")
int mw_fork_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return on_fork((struct task_struct *)ctx->args[0], (struct task_struct *)ctx->args[1], false);
}

SEC("raw_tracepoint/sched_process_exit")
int mw_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return on_exit_task();
}

/* ----------------------------------------------------------- io_uring ---- */

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(mw_uring_submit_btf, struct io_kiocb *req)
{
    return uring_submit(req);
}

SEC("raw_tracepoint/io_uring_submit_req")
int mw_uring_submit_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return uring_submit((struct io_kiocb *)ctx->args[0]);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(mw_uring_complete_btf, void *ctx_, void *req, struct io_uring_cqe *cqe)
{
    return uring_complete(req, cqe);
}

SEC("raw_tracepoint/io_uring_complete")
int mw_uring_complete_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return uring_complete((void *)ctx->args[1], (struct io_uring_cqe *)ctx->args[2]);
}
