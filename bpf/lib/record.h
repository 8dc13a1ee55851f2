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
    h->clauses = 0xff;
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

/*
 * A block of type `type` (MW_T_EXE or MW_T_PROGRAM) for argument `arg` (MW_ARG_EXE for the
 * executable): struct mw_exe (the file's identity) and its path. Returns 1 when written.
 */
__noinline int mw_cap_identity(struct mw_task *t, u64 file_p, u32 arg, u32 type)
{
    if (!t || !file_p)
        return 0;
    struct file *f = (struct file *)file_p;
    u32 off = t->len;
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + sizeof(struct mw_exe) + MW_MAX_PATH + 8))
        return 0;
    u32 p = off + sizeof(struct mw_block) + sizeof(struct mw_exe);
    /* probe reads give plain addresses, which is what the global function takes */
    u64 dentry = (u64)BPF_CORE_READ(f, f_path.dentry);
    u64 vfsmnt = (u64)BPF_CORE_READ(f, f_path.mnt);
    int r = mw_cap_path(t, p, dentry, vfsmnt);
    u32 plen = r & 0x1ff;
    u8 st = (r >> 16) & 0xff;
    if (BPF_CORE_READ((struct dentry *)dentry, d_hash.pprev) == 0 &&
        BPF_CORE_READ((struct dentry *)dentry, d_parent) == (struct dentry *)dentry)
        st |= MW_F_DELETED;
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + sizeof(struct mw_exe) + MW_MAX_PATH + 8))
        return 0;
    struct mw_block *b = (struct mw_block *)&t->rec[off];
    b->arg = arg;
    b->phase = type == MW_T_EXE ? MW_P_ENTRY : MW_P_EXIT;
    b->type = type;
    b->status = 0;
    b->len = sizeof(struct mw_exe) + plen;
    struct mw_exe *x = (struct mw_exe *)&t->rec[off + sizeof(struct mw_block)];
    struct inode *inode = BPF_CORE_READ(f, f_inode);
    x->ino = BPF_CORE_READ(inode, i_ino);
    x->dev = BPF_CORE_READ(inode, i_sb, s_dev);
    x->magic = BPF_CORE_READ(inode, i_sb, s_magic);
    x->path_len = plen;
    x->status = st;
    __builtin_memset(x->pad, 0, sizeof(x->pad));
    hdr_of(t)->nblocks++;
    t->len = off + sizeof(struct mw_block) + ROUND8(sizeof(struct mw_exe) + plen);
    return 1;
}

/* The executable, when this thread has not reported it since it last changed. */
static __always_inline int mw_cap_exe(struct mw_task *t)
{
    struct task_struct *task = bpf_get_current_task_btf();
    /* a probe read: the global function takes a plain address, not a BTF pointer */
    u64 exe = (u64)BPF_CORE_READ(task, mm, exe_file);
    if (!exe || exe == t->exe_key)
        return 0;
    if (!mw_cap_identity(t, exe, MW_ARG_EXE, MW_T_EXE))
        return 0;
    t->exe_pending = exe;
    return 1;
}

/* What a socket is and to whom it is connected, into struct mw_sockinfo at rec[q]. */
__noinline int mw_cap_sockinfo(struct mw_task *t, u32 q, u64 file_p)
{
    if (!t || q > MW_REC_BUF - sizeof(struct mw_sockinfo))
        return 0;
    struct mw_sockinfo *si = (struct mw_sockinfo *)&t->rec[q];
    __builtin_memset(si, 0, sizeof(*si));
    struct file *f = (struct file *)file_p;
    if (!f)
        return 0;
    si->ino = BPF_CORE_READ(f, f_inode, i_ino);
    struct socket *sock = (struct socket *)BPF_CORE_READ(f, private_data);
    struct sock *sk = BPF_CORE_READ(sock, sk);
    if (!sk)
        return 1;
    u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    si->family = family;
    si->type = BPF_CORE_READ(sk, sk_type);
    if (family == 2 /* AF_INET */) {
        u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr), r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
        __builtin_memcpy(si->laddr, &l, 4);
        __builtin_memcpy(si->raddr, &r, 4);
    } else if (family == 10 /* AF_INET6 */) {
        BPF_CORE_READ_INTO(&si->laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
        BPF_CORE_READ_INTO(&si->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
    }
    if (family == 2 || family == 10) {
        si->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
        u16 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
        si->rport = (dport >> 8) | (dport << 8);
    } else if (family == 1 /* AF_UNIX */) {
        struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
        if (peer)
            si->peer_ino = BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino);
    }
    return 1;
}

/* The open file behind descriptor `fd` of the current task, or 0. */
static __always_inline u64 task_file(s32 fd)
{
    struct task_struct *task = bpf_get_current_task_btf();
    struct fdtable *fdt = task->files->fdt;
    if (!fdt || fd < 0 || (u32)fd >= fdt->max_fds)
        return 0;
    struct file **arr = fdt->fd;
    struct file *file = 0;
    if (bpf_probe_read_kernel(&file, sizeof(file), &arr[fd]) < 0)
        return 0;
    return (u64)file;
}

/* A SOCKINFO block for argument `arg`: the socket open as `file` (0: none, no block). */
static __always_inline void mw_cap_socket_block(struct mw_task *t, u32 arg, u64 file, u32 phase)
{
    u32 off = t->len;
    if (!file || off > MW_REC_BUF - (sizeof(struct mw_block) + sizeof(struct mw_sockinfo) + 8))
        return;
    if (!mw_cap_sockinfo(t, off + sizeof(struct mw_block), file))
        return;
    struct mw_block *b = (struct mw_block *)&t->rec[off];
    b->arg = arg;
    b->phase = phase;
    b->type = MW_T_SOCKINFO;
    b->status = 0;
    b->len = sizeof(struct mw_sockinfo);
    hdr_of(t)->nblocks++;
    t->len = off + sizeof(struct mw_block) + ROUND8(sizeof(struct mw_sockinfo));
}

/* The same for the socket descriptor `fd` of the current task. */
static __always_inline void mw_cap_socket_arg(struct mw_task *t, u32 arg, s32 fd, u32 phase)
{
    mw_cap_socket_block(t, arg, task_file(fd), phase);
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

/* Accepts the record: its time, the process context if entry did not take it, the exe path, and
 * for socket calls the socket (what it is, its peer). */
static __always_inline void record_accept(struct mw_task *t, struct task_struct *task, bool at_exit,
                                          const volatile struct mw_syscall_cfg *c)
{
    record_time(t, at_exit);
    if (!t->hdr_done)
        record_context(t, task);
    if (c && c->sock_arg < 16)
        mw_cap_socket_arg(t, c->sock_arg, (s32)hdr_of(t)->args[0], at_exit ? MW_P_EXIT : MW_P_ENTRY);
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
