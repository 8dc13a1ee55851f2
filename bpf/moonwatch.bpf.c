// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * moonwatch kernel probes.
 *
 * sys_enter / sys_exit (tp_btf, or raw_tp where tp_btf does not load) see every syscall of every
 * task, native and ia32 compat alike; a table that user space builds from the event catalogue
 * says which numbers to capture and how to read each argument. The hot path for everything
 * else is one TS_COMPAT load and one table load.
 *
 * A captured syscall builds its record in a per-task buffer (task storage, so neither
 * preemption nor migration between entry and exit can mix two calls up): the header and the
 * entry-time reads at sys_enter, the return value and exit-time reads at sys_exit, then one
 * copy into the ring buffer. User space decodes the raw user-ABI bytes.
 *
 * sched_process_fork / sched_process_exit give the process lifecycle events and let a --pid
 * scope follow children.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "moonwatch_wire.h"
#include "user_abi.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define TS_COMPAT 0x0002
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFIFO 0010000
#define SOCKFS_MAGIC 0x534F434B
#define PIPEFS_MAGIC 0x50495045
#define ANON_INODE_FS_MAGIC 0x09041934

#define USER32_CS 0x23 /* GDT_ENTRY_DEFAULT_USER32_CS * 8 + 3 */
#define USER64_CS 0x33 /* GDT_ENTRY_DEFAULT_USER_CS * 8 + 3 */

#define NR_EXECVE_64 59
#define NR_EXECVE_32 11

#define IDX_IA32 MW_NR_SLOTS
#define IDX_SOCKETCALL (2 * MW_NR_SLOTS)
#define IDX_END (2 * MW_NR_SLOTS + MW_SOCKETCALL_SLOTS)

#define ROUND8(x) (((x) + 7) & ~7U)

/* Filled in by user space before load; frozen afterwards. */
const volatile struct mw_config mw_cfg SEC(".rodata.mwcfg");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 16 << 20); /* user space may resize before load */
} mw_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct mw_stats);
} mw_stats SEC(".maps");

/* Processes in --pid scope, by tgid; forks of a member join it. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, u32);
    __type(value, u8);
} mw_scope SEC(".maps");

#define TASK_IDLE 0
#define TASK_INFLIGHT 1

/* Per-task state: the syscall in flight and the record being built. */
struct mw_task {
    u64 exe_key;     /* exe_file last reported in a submitted record of this thread */
    u64 exe_pending; /* exe_file whose path the record being built carries */
    u32 state;     /* TASK_IDLE / TASK_INFLIGHT */
    u32 idx;       /* table index of the call in flight */
    u32 len;       /* bytes used in rec */
    u32 pidns;     /* cached: a task never changes pid namespace */
    u32 abi_nr;    /* syscall number as seen at entry (orig_ax) */
    u32 pad;
    u8 rec[MW_REC_BUF];
};

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct mw_task);
} mw_tasks SEC(".maps");

/* Number of u32 arguments of each ia32 socketcall sub-call (net/compat.c). */
static const u8 socketcall_nargs[32] = {0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5, 3, 3, 4, 5, 4};

static __always_inline struct mw_stats *stats(void)
{
    u32 zero = 0;
    return bpf_map_lookup_elem(&mw_stats, &zero);
}

#define STAT_INC(field)                                   \
    do {                                                  \
        struct mw_stats *__s = stats();                   \
        if (__s)                                          \
            __sync_fetch_and_add(&__s->field, 1);         \
    } while (0)

static __always_inline const volatile struct mw_syscall_cfg *cfg_at(u32 idx)
{
    if (idx < IDX_IA32)
        return &mw_cfg.x64[idx];
    if (idx < IDX_SOCKETCALL)
        return &mw_cfg.ia32[idx - IDX_IA32];
    if (idx < IDX_END)
        return &mw_cfg.socketcall[idx - IDX_SOCKETCALL];
    return 0;
}

static __always_inline struct mw_event_hdr *hdr_of(struct mw_task *t)
{
    return (struct mw_event_hdr *)t->rec;
}

/* ---------------------------------------------------------------- scope ---- */

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

/* ---------------------------------------------------------------- paths ---- */

/*
 * Encodes the path of (dentry, vfsmount) at rec[q]: components from the leaf up, each one
 * length byte and the name. Crosses mount points upwards; stops at the root of the topmost
 * mount, or at a pseudo dentry (its own parent: sockets, pipes, anon inodes, memfd). Returns
 * bytes written | status << 16.
 */
__noinline int mw_cap_path(struct mw_task *t, u32 q, u64 dentry_p, u64 vfsmnt_p)
{
    if (!t)
        return 0;
    struct dentry *dentry = (struct dentry *)dentry_p;
    struct vfsmount *vfsmnt = (struct vfsmount *)vfsmnt_p;
    struct mount *mnt = (struct mount *)(vfsmnt_p - bpf_core_field_offset(struct mount, mnt));
    u32 used = 0, status = MW_F_TRUNC;

    for (int i = 0; i < MW_MAX_DEPTH + 4; i++) {
        if (!dentry)
            break;
        struct dentry *root = BPF_CORE_READ(vfsmnt, mnt_root);
        if (dentry == root) {
            struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
            if (!up || up == mnt) {
                status = 0;
                break;
            }
            dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
            mnt = up;
            vfsmnt = (struct vfsmount *)((u64)up + bpf_core_field_offset(struct mount, mnt));
            continue;
        }
        struct qstr name = BPF_CORE_READ(dentry, d_name);
        u32 n = name.len;
        if (n > 255)
            n = 255;
        if (used + 1 + n > MW_MAX_PATH)
            break;
        u32 x = q + used;
        if (x > MW_REC_BUF - 256)
            break;
        t->rec[x] = n;
        if (bpf_probe_read_kernel(&t->rec[x + 1], n & 255, name.name) < 0) {
            status = MW_F_FAULT;
            break;
        }
        used += 1 + n;
        struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
        if (parent == dentry) {
            status = 0;
            break;
        }
        dentry = parent;
    }
    return used | (status << 16);
}

/* --------------------------------------------------------------- files ---- */

/*
 * Resolves descriptor `fd` of the current task to what it refers to and writes a struct mw_file
 * (plus path) at rec[q]. Returns the bytes written (padded), 0 when out of space.
 */
__noinline int mw_cap_file(struct mw_task *t, u32 q, s32 fd)
{
    if (!t)
        return 0;
    if (q > MW_REC_BUF - (sizeof(struct mw_file) + MW_MAX_PATH + 8))
        return 0;
    struct mw_file *f = (struct mw_file *)&t->rec[q];
    f->fd = fd;
    f->type = MW_FILE_NONE;
    f->status = 0;
    f->path_len = 0;
    f->ino = 0;

    struct task_struct *task = bpf_get_current_task_btf();
    struct fdtable *fdt = task->files->fdt;
    if (!fdt || fd < 0)
        return sizeof(struct mw_file);
    u32 max = fdt->max_fds;
    if ((u32)fd >= max)
        return sizeof(struct mw_file);
    struct file **arr = fdt->fd;
    struct file *file = 0;
    if (bpf_probe_read_kernel(&file, sizeof(file), &arr[fd]) < 0 || !file) {
        f->status = file ? MW_F_FAULT : 0;
        return sizeof(struct mw_file);
    }
    struct inode *inode = BPF_CORE_READ(file, f_inode);
    u32 mode = BPF_CORE_READ(inode, i_mode);
    u64 magic = BPF_CORE_READ(inode, i_sb, s_magic);
    f->ino = BPF_CORE_READ(inode, i_ino);

    u8 type;
    if (magic == SOCKFS_MAGIC || (mode & S_IFMT) == S_IFSOCK)
        type = MW_FILE_SOCKET;
    else if (magic == PIPEFS_MAGIC)
        type = MW_FILE_PIPE;
    else if (magic == ANON_INODE_FS_MAGIC)
        type = MW_FILE_ANON;
    else if ((mode & S_IFMT) == S_IFIFO)
        type = MW_FILE_PIPE;
    else if (mode & S_IFMT)
        type = MW_FILE_REGULAR;
    else
        type = MW_FILE_OTHER;
    f->type = type;

    if (type == MW_FILE_SOCKET || (type == MW_FILE_PIPE && magic == PIPEFS_MAGIC))
        return sizeof(struct mw_file);

    struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
    struct vfsmount *vfsmnt = BPF_CORE_READ(file, f_path.mnt);
    int r = mw_cap_path(t, q + sizeof(struct mw_file), (u64)dentry, (u64)vfsmnt);
    u32 plen = r & 0xffff;
    u8 st = (r >> 16) & 0xff;
    if (BPF_CORE_READ(dentry, d_hash.pprev) == 0 && BPF_CORE_READ(dentry, d_parent) == dentry &&
        type == MW_FILE_REGULAR)
        st |= MW_F_DELETED;
    if (q > MW_REC_BUF - (sizeof(struct mw_file) + MW_MAX_PATH + 8))
        return 0;
    f = (struct mw_file *)&t->rec[q];
    f->path_len = plen;
    f->status = st;
    return sizeof(struct mw_file) + ROUND8(plen & 0x1ff);
}

/*
 * Walks the control messages copied at rec[ctl .. ctl+len) and resolves every SCM_RIGHTS
 * descriptor (up to MW_MAX_FILES), writing struct mw_file entries from rec[q].
 * Returns bytes | nfiles << 16 | truncated << 24.
 */
__noinline int mw_resolve_fds(struct mw_task *t, u32 ctl, u32 len, u32 q, u32 compat)
{
    if (!t)
        return 0;
    u32 hsz = compat ? sizeof(struct mw_compat_cmsghdr) : sizeof(struct mw_cmsghdr);
    u32 coff = 0, written = 0, nfiles = 0, trunc = 0;

    /* Reads go through bpf_probe_read_kernel from our own copy: offsets stay inside
     * rec because ctl + len <= MW_REC_BUF, checked here. */
    if (ctl > MW_REC_BUF || len > MW_REC_BUF - ctl)
        return 0;
    for (int k = 0; k < MW_MAX_CMSG; k++) {
        if (coff + hsz > len)
            break;
        u64 clen;
        s32 level, type;
        if (compat) {
            struct mw_compat_cmsghdr h = {};
            bpf_probe_read_kernel(&h, sizeof(h), (void *)t->rec + ctl + coff);
            clen = h.cmsg_len;
            level = h.cmsg_level;
            type = h.cmsg_type;
        } else {
            struct mw_cmsghdr h = {};
            bpf_probe_read_kernel(&h, sizeof(h), (void *)t->rec + ctl + coff);
            clen = h.cmsg_len;
            level = h.cmsg_level;
            type = h.cmsg_type;
        }
        if (clen < hsz)
            break;
        u64 avail = len - coff;
        u64 body = (clen > avail ? avail : clen) - hsz;
        if (level == MW_SOL_SOCKET && type == MW_SCM_RIGHTS) {
            u32 nfd = body / 4;
            for (int j = 0; j < MW_MAX_FILES; j++) {
                if (j >= nfd || coff + hsz + 4 * j + 4 > len)
                    break;
                if (nfiles >= MW_MAX_FILES) {
                    trunc = 1;
                    break;
                }
                s32 fd = -1;
                bpf_probe_read_kernel(&fd, sizeof(fd), (void *)t->rec + ctl + coff + hsz + 4 * j);
                u32 w = mw_cap_file(t, (q + written) & 0xffff, fd);
                if (!w) {
                    trunc = 1;
                    break;
                }
                written += w;
                nfiles++;
            }
            if (nfd > MW_MAX_FILES)
                trunc = 1;
        }
        u32 step = compat ? ((clen + 3) & ~3ULL) : ((clen + 7) & ~7ULL);
        if (step == 0)
            break;
        coff += step;
    }
    return (written & 0xffff) | (nfiles << 16) | (trunc << 24);
}

/* ------------------------------------------------------------- msghdr ---- */

#define MSG_FIXED (sizeof(struct mw_msg) + MW_MSG_WINDOW)
#define PAGE_MASK_4K (~4095ULL)

/*
 * Copies the message header at user address `uptr` and what it points to (name, iovec array,
 * control) into a struct mw_msg at rec[p]. `resolve` also resolves SCM_RIGHTS descriptors.
 * Returns the bytes written (mw_msg.size), 0 when out of space.
 *
 * User reads are the dominant cost here (each one a few dozen ns of fixed overhead), so the
 * header is read as part of a window around it that often covers the iovec array as well.
 */
__noinline int mw_cap_msg(struct mw_task *t, u32 p, u64 uptr, u32 compat, u32 resolve)
{
    if (!t)
        return 0;
    if (p > MW_REC_BUF - MSG_FIXED)
        return 0;
    struct mw_msg *m = (struct mw_msg *)&t->rec[p];
    __builtin_memset(m, 0, sizeof(*m));
    u32 hsz = compat ? sizeof(struct mw_compat_msghdr) : sizeof(struct mw_user_msghdr);
    u32 w = p + sizeof(struct mw_msg);
    u8 status = 0;

    /* The window: up to MW_MSG_BACK bytes before the header, MW_MSG_WINDOW in all, never
     * outside the page(s) the header itself occupies, so it cannot fault where the header read
     * would not. Only the bytes up to the last one used stay in the record: every byte of a
     * record costs ring and cache traffic. */
    u64 page = uptr & PAGE_MASK_4K;
    u64 lo = uptr - MW_MSG_BACK;
    if (lo > uptr || lo < page)
        lo = page;
    u64 page_end = ((uptr + hsz - 1) & PAGE_MASK_4K) + 4096;
    u64 hi = lo + MW_MSG_WINDOW;
    if (hi > page_end)
        hi = page_end;
    u32 wlen = hi - lo;
    u32 hoff = uptr - lo;
    if (wlen > MW_MSG_WINDOW || hoff > MW_MSG_BACK || hoff + hsz > wlen) {
        lo = uptr;  /* cannot happen for sane input; read just the header */
        hoff = 0;
        wlen = hsz;
        hi = uptr + hsz;
    }
    if (wlen > MW_MSG_WINDOW)
        return 0;
    if (bpf_probe_read_user(&t->rec[w], wlen, (void *)lo) < 0) {
        /* Retry the header alone, in case the window touched something unreadable. */
        lo = uptr;
        hoff = 0;
        wlen = hsz;
        hi = uptr + hsz;
        if (bpf_probe_read_user(&t->rec[w], hsz & 63, (void *)uptr) < 0) {
            m->status = MW_M_HDR_FAULT;
            m->size = sizeof(struct mw_msg);
            return m->size;
        }
    }
    u32 hp = w + hoff;
    if (hp > MW_REC_BUF - 64)
        return 0;
    u64 name, iov, ctl, iovlen, ctllen;
    u32 namelen;
    if (compat) {
        struct mw_compat_msghdr *h = (struct mw_compat_msghdr *)&t->rec[hp];
        name = h->msg_name;
        namelen = h->msg_namelen;
        iov = h->msg_iov;
        iovlen = h->msg_iovlen;
        ctl = h->msg_control;
        ctllen = h->msg_controllen;
    } else {
        struct mw_user_msghdr *h = (struct mw_user_msghdr *)&t->rec[hp];
        name = h->msg_name;
        namelen = h->msg_namelen;
        iov = h->msg_iov;
        iovlen = h->msg_iovlen;
        ctl = h->msg_control;
        ctllen = h->msg_controllen;
    }
    u16 hdr_off = sizeof(struct mw_msg) + hoff, iov_off = 0, name_off = 0, ctl_off = 0, files_off = 0;
    u16 iov_n = 0, name_n = 0, ctl_n = 0, files_n = 0;
    u8 nfiles = 0;
    u32 used = hoff + hsz;  /* window bytes the record keeps */
    u32 q;

    q = w + ROUND8(used & 0x1ff);
    /* iovec array: inside the window, or its own read */
    if (iov && iovlen > 0) {
        u64 cnt = iovlen;
        if (cnt > MW_MAX_IOV) {
            cnt = MW_MAX_IOV;
            status |= MW_M_IOV_TRUNC;
        }
        u32 n = cnt * (compat ? sizeof(struct mw_compat_iovec) : sizeof(struct mw_iovec));
        if (iov >= lo && iov + n <= hi) {
            iov_off = sizeof(struct mw_msg) + (iov - lo);
            iov_n = n;
            if (iov - lo + n > used)
                used = iov - lo + n;
            q = w + ROUND8(used & 0x1ff);
        } else {
            q = w + ROUND8(used & 0x1ff);
            if (q > MW_REC_BUF - 2 * MW_MAX_IOV * sizeof(struct mw_iovec))
                goto full;
            if (bpf_probe_read_user(&t->rec[q], n & (MW_MAX_IOV * sizeof(struct mw_iovec) * 2 - 1), (void *)iov) < 0) {
                status |= MW_M_IOV_FAULT;
            } else {
                iov_off = q - p;
                iov_n = n;
                q += ROUND8(n);
            }
        }
    }

    /* name */
    if (name && namelen > 0) {
        u32 n = namelen > MW_MAX_NAME ? MW_MAX_NAME : namelen;
        if (q > MW_REC_BUF - 2 * MW_MAX_NAME)
            goto full;
        if (bpf_probe_read_user(&t->rec[q], n & (MW_MAX_NAME * 2 - 1), (void *)name) < 0) {
            status |= MW_M_NAME_FAULT;
        } else {
            name_off = q - p;
            name_n = n;
            q += ROUND8(n);
        }
    }

    /* control */
    if (ctl && ctllen > 0) {
        u64 c = ctllen;
        if (c > MW_MAX_CTL) {
            c = MW_MAX_CTL;
            status |= MW_M_CTL_TRUNC;
        }
        u32 n = c;
        if (q > MW_REC_BUF - 2 * MW_MAX_CTL)
            goto full;
        if (bpf_probe_read_user(&t->rec[q], n & (MW_MAX_CTL * 2 - 1), (void *)ctl) < 0) {
            status |= MW_M_CTL_FAULT;
        } else {
            u32 ctl_at = q;
            ctl_off = q - p;
            ctl_n = n;
            q += ROUND8(n);
            if (resolve) {
                int r = mw_resolve_fds(t, ctl_at, n, q, compat);
                files_n = r & 0xffff;
                nfiles = (r >> 16) & 0xff;
                if (r >> 24)
                    status |= MW_M_FILES_TRUNC;
                if (files_n)
                    files_off = q - p;
                q += files_n;
            }
        }
    }

    if (p > MW_REC_BUF - MSG_FIXED)
        return 0;
    m = (struct mw_msg *)&t->rec[p];
    m->hdr_off = hdr_off;
    m->hdr_len = hsz;
    m->win_len = used;
    m->iov_off = iov_off;
    m->iov_len = iov_n;
    m->name_off = name_off;
    m->name_len = name_n;
    m->ctl_off = ctl_off;
    m->ctl_len = ctl_n;
    m->files_off = files_off;
    m->files_len = files_n;
    m->nfiles = nfiles;
    m->status = status;
    m->size = q - p;
    return q - p;

full:
    return 0;
}

/*
 * An mmsghdr vector of `vlen` entries at `uptr`: struct mw_mmsg, then per entry
 * struct mw_mmsg_entry + struct mw_msg. Returns bytes written.
 */
__noinline int mw_cap_mmsg(struct mw_task *t, u32 p, u64 uptr, u64 vlen, u32 mode)
{
    u32 compat = mode & 1, resolve = mode >> 1;
    if (!t)
        return 0;
    if (p > MW_REC_BUF - sizeof(struct mw_mmsg))
        return 0;
    struct mw_mmsg *mm = (struct mw_mmsg *)&t->rec[p];
    mm->count = 0;
    mm->status = 0;
    u32 q = p + sizeof(struct mw_mmsg);
    u32 stride = compat ? sizeof(struct mw_compat_mmsghdr) : sizeof(struct mw_mmsghdr);
    u32 lenoff = compat ? __builtin_offsetof(struct mw_compat_mmsghdr, msg_len)
                        : __builtin_offsetof(struct mw_mmsghdr, msg_len);
    u32 count = 0, status = 0;

    for (int i = 0; i < MW_MAX_MMSG; i++) {
        if (i >= vlen)
            break;
        if (q > MW_REC_BUF - MSG_FIXED - sizeof(struct mw_mmsg_entry)) {
            status = MW_S_TRUNC;
            break;
        }
        struct mw_mmsg_entry *e = (struct mw_mmsg_entry *)&t->rec[q];
        u64 at = uptr + (u64)i * stride;
        u32 ml = 0;
        e->status = 0;
        if (bpf_probe_read_user(&ml, sizeof(ml), (void *)(at + lenoff)) < 0)
            e->status = MW_S_FAULT;
        e->msg_len = ml;
        int w = mw_cap_msg(t, q + sizeof(struct mw_mmsg_entry), at, compat, resolve);
        if (w <= 0) {
            status = MW_S_TRUNC;
            break;
        }
        q += sizeof(struct mw_mmsg_entry) + w;
        count++;
    }
    if (vlen > MW_MAX_MMSG)
        status = MW_S_TRUNC;
    if (p > MW_REC_BUF - sizeof(struct mw_mmsg))
        return 0;
    mm = (struct mw_mmsg *)&t->rec[p];
    mm->count = count;
    mm->status = status;
    return q - p;
}

/* ---------------------------------------------------------- strings ---- */

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

/* ---------------------------------------------------------- arguments ---- */

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
        if (p > MW_REC_BUF - MW_MAX_STR) {
            status = MW_S_TRUNC;
            break;
        }
        long n = bpf_probe_read_user_str(&t->rec[p], MW_MAX_STR, (void *)ptr);
        if (n <= 0) {
            status = MW_S_FAULT;
            break;
        }
        len = n;
        if (n == MW_MAX_STR)
            status = MW_S_TRUNC;
        break;
    }
    case MW_T_ARGV: {
        int r = mw_cap_argv(t, p, ptr, compat);
        len = r & 0xffff;
        status = (r >> 16) & 0xff;
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
    if (status & (MW_S_TRUNC))
        h->flags |= MW_EV_TRUNC;
    if (status & MW_S_FAULT)
        STAT_INC(faults);
    t->len = p + ROUND8(len & 0xffff);
    return 0;
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

/* -------------------------------------------------------------- header ---- */

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

/* The process's own ABI from the user code segment it entered the kernel from; int $0x80 from a
 * 64-bit program still has the 64-bit segment. */
static __always_inline u8 bits_of_cs(u16 cs)
{
    return cs == USER64_CS ? 64 : (cs == USER32_CS ? 32 : 0);
}

/*
 * Process context. Direct loads through the BTF task pointer instead of helper calls: each
 * helper (comm, uid/gid, cgroup id) costs tens of ns per call on the hot path.
 */
static __always_inline void fill_header(struct mw_task *t, struct task_struct *task, u16 kind, u16 flags,
                                        s32 nr, u8 bits)
{
    struct mw_event_hdr *h = hdr_of(t);
    h->version = MW_WIRE_VERSION;
    h->kind = kind;
    h->flags = flags;
    h->nblocks = 0;
    h->size = 0;
    h->nr = nr;
    h->ts_enter = bpf_ktime_get_ns();
    h->reserved = 0;
    h->ret = 0;
    h->pid = task->tgid;
    h->tid = task->pid;
    h->ppid = task->real_parent->tgid;
    const struct cred *cred = task->cred;
    h->uid = cred->uid.val;
    h->gid = cred->gid.val;
    h->cpu = bpf_get_smp_processor_id();
    h->bits = bits;
    h->pad0 = 0;
    h->cgroup = task->cgroups->dfl_cgrp->kn->id;
    h->mntns = task->nsproxy->mnt_ns->ns.inum;
    if (!t->pidns)
        t->pidns = task_pidns(task);
    h->pidns = t->pidns;
    /* comm, as two 8-byte loads (the helper would copy it byte by byte) */
    u64 *c = (u64 *)h->comm;
    c[0] = *(u64 *)&task->comm[0];
    c[1] = *(u64 *)&task->comm[8];
    t->len = MW_HDR_SIZE;
    t->exe_pending = 0;
}

/* Copies the finished record into the ring buffer. Only failures touch the counters: user
 * space counts what it receives. */
static __always_inline void submit(struct mw_task *t)
{
    u32 len = t->len;
    if (len > MW_REC_BUF || len < MW_HDR_SIZE)
        return;
    struct mw_event_hdr *h = hdr_of(t);
    h->size = len;
    u64 pending = bpf_ringbuf_query(&mw_events, BPF_RB_AVAIL_DATA);
    u64 flags = pending >= mw_cfg.wake_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
    if (bpf_ringbuf_output(&mw_events, t->rec, len, flags) < 0) {
        STAT_INC(drop_ring);
        return;
    }
    /* Only a delivered record teaches user space the exe path. */
    if (t->exe_pending)
        t->exe_key = t->exe_pending;
}

/* ------------------------------------------------------------ syscalls ---- */

static __always_inline void capture_args(struct mw_task *t, const volatile struct mw_syscall_cfg *c, u32 phase,
                                         u32 compat)
{
    if (!(phase == MW_P_ENTRY ? c->read_entry : c->read_exit))
        return;
    for (int i = 0; i < MW_MAX_ARGS; i++) {
        u32 type = c->type[i];
        if (!(c->phase[i] & phase) || type < MW_T_STRING)
            continue;
        mw_cap_arg(t, i | phase << 4 | type << 8 | (u32)c->aux[i] << 16, compat);
    }
}

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
    if (!c || !c->enabled)
        return 0;
    if (mw_cfg.version != MW_WIRE_VERSION)
        return 0;

    u32 tgid = task->tgid;
    if (tgid == mw_cfg.self_tgid)
        return 0;
    if (mw_cfg.filter && !in_scope(tgid, task->cred->uid.val))
        return 0;

    u64 a[MW_MAX_ARGS];
    u16 cs = btf ? regs->cs : BPF_CORE_READ(regs, cs);
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

    u16 flags = compat ? MW_EV_COMPAT : 0;
    s32 nr = id;
    if (c->flags & MW_CFG_SOCKETCALL) {
        /* ia32 socketcall(call, u32 *args): the real call and its arguments live in user memory. */
        u32 call = a[0];
        if (call == 0 || call > 20)
            return 0;
        idx = IDX_SOCKETCALL + call;
        c = cfg_at(idx);
        if (!c || !c->enabled)
            return 0;
        STAT_INC(socketcall);
        u32 ua[6] = {};
        u32 n = socketcall_nargs[call & 31] * 4;
        if (bpf_probe_read_user(ua, n & 31, (void *)a[1]) < 0)
            return 0;
        for (int i = 0; i < MW_MAX_ARGS; i++)
            a[i] = ua[i];
        flags |= MW_EV_SOCKETCALL;
        nr = call;
    }

    struct mw_task *t = bpf_task_storage_get(&mw_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!t) {
        STAT_INC(drop_storage);
        return 0;
    }
    fill_header(t, task, c->kind, flags, nr, bits_of_cs(cs));
    struct mw_event_hdr *h = hdr_of(t);
    for (int i = 0; i < MW_MAX_ARGS; i++)
        h->args[i] = i < c->nargs ? a[i] : 0;
    /* The exe path goes out once per thread and exec; the check is two loads. */
    struct mm_struct *mm = task->mm;
    if (mm && (u64)mm->exe_file != t->exe_key)
        mw_cap_exe(t);
    capture_args(t, c, MW_P_ENTRY, compat);
    t->idx = idx;
    t->abi_nr = id | (compat ? 0x80000000 : 0);
    t->state = TASK_INFLIGHT;
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
    if (!c->enabled && !exec_exit)
        return 0;

    struct mw_task *t = bpf_task_storage_get(&mw_tasks, task, 0, 0);
    if (!t || t->state != TASK_INFLIGHT)
        return 0;
    t->state = TASK_IDLE;
    const volatile struct mw_syscall_cfg *in = cfg_at(t->idx);
    if (!in)
        return 0;
    if (t->abi_nr != (id | (compat ? 0x80000000 : 0)) && !(exec_exit && (in->flags & MW_CFG_EXEC))) {
        STAT_INC(lost_exit);
        return 0;
    }
    struct mw_event_hdr *h = hdr_of(t);
    h->ret = ret;
    h->flags |= MW_EV_EXIT;
    if (!((in->flags & MW_CFG_EXEC) && ret == 0))
        capture_args(t, in, MW_P_EXIT, compat);
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

/* ------------------------------------------------------------ process ---- */

static __always_inline void process_event(struct task_struct *task, u16 kind, u64 a0, u64 a1)
{
    struct mw_task *t = bpf_task_storage_get(&mw_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!t) {
        STAT_INC(drop_storage);
        return;
    }
    /* Never inside a captured syscall: fork runs in clone(), exit after the last sys_exit. */
    t->state = TASK_IDLE;
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
    u16 cs = regs ? BPF_CORE_READ(regs, cs) : 0;
    fill_header(t, task, kind, MW_EV_PROCESS | MW_EV_EXIT, -1, bits_of_cs(cs));
    struct mw_event_hdr *h = hdr_of(t);
    h->args[0] = a0;
    h->args[1] = a1;
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
