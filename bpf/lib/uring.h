/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * io_uring requests that do what a catalogue syscall does (IORING_OP_SENDMSG, _CONNECT, _SOCKET,
 * _OPENAT, _OPENAT2) make no syscall at all. At submission (io_uring_submit_req, in the submitter's
 * context) what the request names is saved by request; at completion (io_uring_complete, in the
 * submitter, a worker thread of the same process, or the kernel's task work) the record is built
 * as the syscall's would be, with the request's result as the return value, and flagged
 * MW_EV_URING. Records are built in task storage of their own: the completing task may be in the
 * middle of a syscall whose record is being built in mw_tasks.
 */
#ifndef MW_URING_H
#define MW_URING_H
#include "common.h"
#include "scope.h"
#include "args.h"
#include "record.h"

#define IORING_OP_SENDMSG 9
#define IORING_OP_CONNECT 16
#define IORING_OP_OPENAT 18
#define IORING_OP_OPENAT2 28
#define IORING_OP_SOCKET 45

/* the x86_64 numbers of the calls they do: their catalogue configuration and kind */
#define NR_SENDMSG 46
#define NR_CONNECT 42
#define NR_SOCKET 41
#define NR_OPENAT 257
#define NR_OPENAT2 437

#define MW_URING_PATH 256

/* What a submitted request names, until it completes. */
struct mw_uring_req {
    u64 args[MW_MAX_ARGS];
    u64 file;      /* unused */
    u32 nr;
    u32 tgid, tid, uid, gid;
    u16 plen;      /* open: bytes of the kernel's copy of the path in `path` */
    u8 bits;
    u8 pad;
    char comm[16];
    char path[MW_URING_PATH];
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, u64);
    __type(value, struct mw_uring_req);
} mw_uring SEC(".maps");

/* Records of completions: task storage of their own (see above). */
struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct mw_task);
} mw_uring_tasks SEC(".maps");

/* The scratch value a request is built in before it goes into the map (too big for the stack). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct mw_uring_req);
} mw_uring_scratch SEC(".maps");

static __always_inline u32 uring_nr(u8 op)
{
    switch (op) {
    case IORING_OP_SENDMSG: return NR_SENDMSG;
    case IORING_OP_CONNECT: return NR_CONNECT;
    case IORING_OP_SOCKET: return NR_SOCKET;
    case IORING_OP_OPENAT: return NR_OPENAT;
    case IORING_OP_OPENAT2: return NR_OPENAT2;
    }
    return 0;
}

static __always_inline int uring_submit(struct io_kiocb *req)
{
    u8 op = BPF_CORE_READ(req, opcode);
    u32 nr = uring_nr(op);
    if (!nr || mw_cfg.version != MW_WIRE_VERSION)
        return 0;
    const volatile struct mw_syscall_cfg *c = cfg_at(nr);
    if (!c || !c->valid)
        return 0;
    u32 kind = c->kind & (MW_MAX_KINDS - 1);
    if (live_filter()->kinds[kind].mode == MW_K_OFF)
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    u32 tgid = task->tgid;
    if (tgid == mw_cfg.self_tgid)
        return 0;
    if (mw_cfg.filter && !in_scope(tgid, task->cred->uid.val))
        return 0;
    KSTAT_ADD(kind, seen);

    u32 zero = 0;
    struct mw_uring_req *r = bpf_map_lookup_elem(&mw_uring_scratch, &zero);
    if (!r)
        return 0;
    __builtin_memset(r->args, 0, sizeof(r->args));
    r->nr = nr;
    r->tgid = tgid;
    r->tid = task->pid;
    r->uid = task->cred->uid.val;
    r->gid = task->cred->gid.val;
    r->bits = bits_of_task(task);
    r->plen = 0;
    r->file = 0;
    *(u64 *)&r->comm[0] = *(u64 *)&task->comm[0];
    *(u64 *)&r->comm[8] = *(u64 *)&task->comm[8];
    /* The descriptor the request names (sqe->fd, kept in req->cqe.fd until the file is assigned at
     * issue); -1 for an index into the ring's fixed files. The socket is described from the
     * request's file at completion. */
    s64 fd = (BPF_CORE_READ(req, flags) & 1) ? -1 : (s64)BPF_CORE_READ(req, cqe.fd);
    switch (op) {
    case IORING_OP_SENDMSG:
        r->args[0] = (u64)fd;
        r->args[1] = (u64)BPF_CORE_READ((struct io_sr_msg *)req, umsg);
        break;
    case IORING_OP_CONNECT:
        r->args[0] = (u64)fd;
        r->args[1] = (u64)BPF_CORE_READ((struct io_connect *)req, addr);
        r->args[2] = BPF_CORE_READ((struct io_connect *)req, addr_len);
        break;
    case IORING_OP_SOCKET:
        r->args[0] = BPF_CORE_READ((struct io_socket *)req, domain);
        r->args[1] = BPF_CORE_READ((struct io_socket *)req, type);
        r->args[2] = BPF_CORE_READ((struct io_socket *)req, protocol);
        break;
    default: { /* OPENAT, OPENAT2: the kernel's own copy of the path, taken at preparation */
        struct io_open *o = (struct io_open *)req;
        r->args[0] = (u64)(s64)BPF_CORE_READ(o, dfd);
        struct filename *fn = BPF_CORE_READ(o, filename);
        r->args[1] = (u64)BPF_CORE_READ(fn, uptr);
        r->args[2] = BPF_CORE_READ(o, how.flags);
        r->args[3] = BPF_CORE_READ(o, how.mode);
        const char *name = BPF_CORE_READ(fn, name);
        long n = name ? bpf_probe_read_kernel_str(r->path, MW_URING_PATH, name) : 0;
        r->plen = n > 0 ? n : 0;
        break;
    }
    }
    u64 key = (u64)req;
    bpf_map_update_elem(&mw_uring, &key, r, BPF_ANY);
    return 0;
}

/* A string block for argument `i` from the saved kernel copy. */
static __always_inline void uring_path_block(struct mw_task *t, u32 i, struct mw_uring_req *r)
{
    u32 off = t->len;
    if (off > MW_REC_BUF - (sizeof(struct mw_block) + MW_URING_PATH + 8))
        return;
    u32 n = r->plen;
    if (n > MW_URING_PATH)
        n = MW_URING_PATH;
    bpf_probe_read_kernel(&t->rec[off + sizeof(struct mw_block)], n & (MW_URING_PATH * 2 - 1), r->path);
    struct mw_block *b = (struct mw_block *)&t->rec[off];
    b->arg = i;
    b->phase = MW_P_ENTRY;
    b->type = MW_T_STRING;
    b->status = n == MW_URING_PATH ? MW_S_TRUNC : (n ? 0 : MW_S_FAULT);
    b->len = n;
    hdr_of(t)->nblocks++;
    if (i < MW_MAX_ARGS)
        t->eoff[i & 7] = off;
    t->len = off + sizeof(struct mw_block) + ROUND8(n & 0x3ff);
}

static __always_inline int uring_complete(void *req, struct io_uring_cqe *cqe)
{
    u64 key = (u64)req;
    struct mw_uring_req *r = bpf_map_lookup_elem(&mw_uring, &key);
    if (!r)
        return 0;
    u32 nr = r->nr;
    const volatile struct mw_syscall_cfg *c = cfg_at(nr);
    if (!c || !c->valid) {
        bpf_map_delete_elem(&mw_uring, &key);
        return 0;
    }
    u32 kind = c->kind & (MW_MAX_KINDS - 1);
    struct task_struct *task = bpf_get_current_task_btf();
    struct mw_task *t = bpf_task_storage_get(&mw_uring_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!t) {
        STAT_INC(drop_storage);
        KSTAT_INC_EXACT(kind, dropped);
        bpf_map_delete_elem(&mw_uring, &key);
        return 0;
    }
    record_start(t, task, kind, MW_EV_URING | MW_EV_EXIT, nr, r->args, c->nargs, r->bits);
    struct mw_event_hdr *h = hdr_of(t);
    h->ret = BPF_CORE_READ(cqe, res);
    /* who submitted it, not the worker that completed it */
    h->uid = r->uid;
    h->gid = r->gid;
    __builtin_memcpy(h->comm, r->comm, 16);
    record_time(t, true);
    record_context(t, task);
    h->tid = r->tid;
    if (nr == NR_OPENAT || nr == NR_OPENAT2)
        uring_path_block(t, 1, r);
    else
        capture_args(t, c, MW_P_ENTRY, 0);
    if (c->sock_arg < 16)
        mw_cap_socket_block(t, c->sock_arg, (u64)BPF_CORE_READ((struct io_kiocb *)req, file), MW_P_ENTRY);
    bpf_map_delete_elem(&mw_uring, &key);
    struct mm_struct *mm = task->mm;
    if (mm && (u64)mm->exe_file != t->exe_key)
        mw_cap_exe(t);
    submit(t);
    return 0;
}
#endif
