/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The record of one call: its header, the executable path, and the copy into the ring buffer.
 * A record is started at entry for every call some clause may still want; the process context
 * that cannot change during the call (who, time, comm, ABI) is taken there, the rest only once
 * the record is accepted, which for most calls never happens.
 */
#ifndef MW_RECORD_H
#define MW_RECORD_H
#include "common.h"
#include "paths.h"

static __always_inline u32 task_pidns(struct task_struct *task)
{
    struct pid *pid = BPF_CORE_READ(task, thread_pid);
    unsigned int level = BPF_CORE_READ(pid, level);
    struct upid *up = (struct upid *)((u64)pid + bpf_core_field_offset(struct pid, numbers) +
                                      (u64)(level & 31) * bpf_core_type_size(struct upid));
    struct pid_namespace *ns = 0;
    bpf_probe_read_kernel(&ns, sizeof(ns), (void *)((u64)up + bpf_core_field_offset(struct upid, ns)));
    return BPF_CORE_READ(ns, ns.inum);
}

/*
 * Starts the record of the call in flight: kind, flags, argument registers, and the context the
 * filter was evaluated on (uid, gid, comm, ABI), so that user space sees exactly what the kernel
 * decided on. Direct loads through the BTF task pointer: each helper call costs tens of ns on
 * the hot path. The clock is read only once the record is accepted (record_accept): on this
 * machine kind a clock read costs as much as the rest of the entry, and most started records
 * are never accepted.
 */
static __always_inline void record_start(struct mw_task *t, struct task_struct *task, u16 kind, u16 flags, s32 nr,
                                         const u64 *a, u32 nargs, u8 bits)
{
    struct mw_event_hdr *h = hdr_of(t);
    h->version = MW_WIRE_VERSION;
    h->kind = kind;
    h->flags = flags;
    h->nblocks = 0;
    h->size = 0;
    h->nr = nr;
    t->ts = 0;
    h->reserved = 0;
    h->ret = 0;
    for (int i = 0; i < MW_MAX_ARGS; i++)
        h->args[i] = i < nargs ? a[i] : 0;
    const struct cred *cred = task->cred;
    h->uid = cred->uid.val;
    h->gid = cred->gid.val;
    h->bits = bits;
    h->pad0 = 0;
    /* comm, as two 8-byte loads (the helper would copy it byte by byte) */
    u64 *c = (u64 *)h->comm;
    c[0] = *(u64 *)&task->comm[0];
    c[1] = *(u64 *)&task->comm[8];
    t->len = MW_HDR_SIZE;
    t->exe_pending = 0;
    t->hdr_done = 0;
    t->kind = kind;
    for (int i = 0; i < MW_MAX_ARGS; i++) {
        t->eoff[i] = 0;
        t->xoff[i] = 0;
    }
}

/* The rest of the process context, once the record is accepted. */
static __always_inline void record_context(struct mw_task *t, struct task_struct *task)
{
    struct mw_event_hdr *h = hdr_of(t);
    h->pid = task->tgid;
    h->tid = task->pid;
    h->ppid = task->real_parent->tgid;
    h->cpu = bpf_get_smp_processor_id();
    h->cgroup = task->cgroups->dfl_cgrp->kn->id;
    h->mntns = task->nsproxy->mnt_ns->ns.inum;
    if (!t->pidns)
        t->pidns = task_pidns(task);
    h->pidns = t->pidns;
    t->hdr_done = 1;
}

/* The executable path, when this thread has not reported it since it last changed. */
__noinline int mw_cap_exe(struct mw_task *t)
{
    if (!t)
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct mm_struct *mm = task->mm;
    if (!mm)
        return 0;
    struct file *exe = mm->exe_file;
    if (!exe || (u64)exe == t->exe_key)
        return 0;
    u32 off = t->len;
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + sizeof(struct mw_path) + MW_MAX_PATH + 8))
        return 0;
    u32 p = off + sizeof(struct mw_block) + sizeof(struct mw_path);
    /* probe reads give plain addresses, which is what the global function takes */
    u64 dentry = (u64)BPF_CORE_READ(exe, f_path.dentry);
    u64 vfsmnt = (u64)BPF_CORE_READ(exe, f_path.mnt);
    int r = mw_cap_path(t, p, dentry, vfsmnt);
    u32 plen = r & 0x1ff;
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + sizeof(struct mw_path) + MW_MAX_PATH + 8))
        return 0;
    struct mw_block *b = (struct mw_block *)&t->rec[off];
    b->arg = MW_ARG_EXE;
    b->phase = MW_P_ENTRY;
    b->type = MW_T_EXE;
    b->status = 0;
    b->len = sizeof(struct mw_path) + plen;
    struct mw_path *pp = (struct mw_path *)&t->rec[off + sizeof(struct mw_block)];
    pp->path_len = plen;
    pp->status = (r >> 16) & 0xff;
    hdr_of(t)->nblocks++;
    t->len = off + sizeof(struct mw_block) + ROUND8(sizeof(struct mw_path) + plen);
    t->exe_pending = (u64)exe;
    return 1;
}

/* The record's time: now, unless it was taken already. A record accepted only at exit says so. */
static __always_inline void record_time(struct mw_task *t, bool at_exit)
{
    if (t->ts)
        return;
    t->ts = bpf_ktime_get_ns();
    struct mw_event_hdr *h = hdr_of(t);
    h->ts_enter = t->ts;
    if (at_exit)
        h->flags |= MW_EV_EXIT_TIME;
}

/* Accepts the record: its time, the process context if entry did not take it, the exe path. */
static __always_inline void record_accept(struct mw_task *t, struct task_struct *task, bool at_exit)
{
    record_time(t, at_exit);
    if (!t->hdr_done)
        record_context(t, task);
    struct mm_struct *mm = task->mm;
    if (mm && (u64)mm->exe_file != t->exe_key)
        mw_cap_exe(t);
}

/* Copies the finished record into the ring buffer and counts it for its kind. */
static __always_inline void submit(struct mw_task *t)
{
    u32 len = t->len;
    u32 kind = t->kind;
    if (len > MW_REC_BUF || len < MW_HDR_SIZE) {
        KSTAT_INC_EXACT(kind, dropped);
        return;
    }
    struct mw_event_hdr *h = hdr_of(t);
    h->size = len;
    u64 pending = bpf_ringbuf_query(&mw_events, BPF_RB_AVAIL_DATA);
    u64 flags = pending >= mw_cfg.wake_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
    if (bpf_ringbuf_output(&mw_events, t->rec, len, flags) < 0) {
        STAT_INC(drop_ring);
        KSTAT_INC_EXACT(kind, dropped);
        return;
    }
    KSTAT_INC_EXACT(kind, submitted);
    /* Only a delivered record teaches user space the exe path. */
    if (t->exe_pending)
        t->exe_key = t->exe_pending;
}
#endif
