/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * What every part of the probes shares: the maps, the two configurations (frozen scope and
 * catalogue tables in .rodata; the signatures' interest in mutable .data, swapped by user space on
 * reload), the per-task record buffer and the counters.
 */
#ifndef MW_COMMON_H
#define MW_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "moonwatch_wire.h"

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

/* Rewritten by user space while the programs run (one half at a time, see struct mw_live). */
struct mw_live mw_live SEC(".data.mwlive");

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

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct mw_kind_stats[MW_MAX_KINDS]);
} mw_kstats SEC(".maps");

/* Processes in --pid scope, by tgid; forks of a member join it. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, u32);
    __type(value, u8);
} mw_scope SEC(".maps");

/* mw_task.state */
#define TASK_IDLE 0
#define TASK_ACCEPTED 1 /* the record is being built and goes out at exit */
#define TASK_PENDING 2  /* entry could not decide: exit evaluates what is left (req[]) */

/*
 * What the clauses of a pending call still need at exit, as masks over the clauses (bit i =
 * clause i), copied from the kind's configuration at entry (a reload in between cannot change
 * how this call is decided), so that exit decides with a few logical operations.
 */
struct mw_plan {
    u8 alive;       /* clauses still possible */
    u8 succ_need;   /* need a success condition ... */
    u8 succ_ok;     /* ... that is ret >= 0 (bit clear: ret < 0) */
    u8 chg_need;    /* need a changed condition ... */
    u8 chg_yes;     /* ... that is "some TOCTOU argument changed" (bit clear: none did) */
    u8 ctl_need;    /* need a control message in the exit read, of a type they accept: */
    u8 ctl_rights;  /*   SCM_RIGHTS */
    u8 ctl_creds;   /*   SCM_CREDENTIALS */
    u8 ctl_other;   /*   anything else */
    u8 pad[7];
};

/* Results of walking control messages, beyond what one return value can carry. */
struct mw_walk {
    u64 total;   /* in: the caller's msg_controllen (what the kernel walks) */
    u64 next;    /* out: offset of the first control message not walked yet */
    u32 rights;  /* out: descriptors in the SCM_RIGHTS messages walked (from cmsg_len) */
    u8 types;    /* out: MW_CTL_* found */
    u8 unwalked; /* out: control left that the walk could not reach */
    u8 nbodies;  /* out: SCM_RIGHTS bodies found past the copy (first MW_BODIES) */
    u8 pad;
    u64 body_off[4]; /* their offsets in the control buffer */
    u32 body_n[4];   /* and descriptor counts */
};
#define MW_BODIES 4

/* A digest being computed (digest.h). In task storage, not on the stack: the verifier does not
 * track values in map memory, so the bpf_loop callbacks that advance it verify once. */
struct mw_dstate {
    u64 h;
    u64 ptr;      /* string: where the next chunk starts; vector: the pointer array; area: next byte */
    u64 cur;      /* vector: the string being hashed (0: take the next entry) */
    u64 end;      /* area: its end */
    u32 len;      /* bytes hashed */
    u32 limit;
    u32 entry;    /* vector: next entry index */
    u8 kernel;    /* string in kernel memory */
    u8 compat;    /* vector of 4-byte pointers */
    u8 partial;
    u8 done;
};

#define MW_SCRATCH 512 /* user memory read in chunks (control past the copy, long strings) */

/* Per-task state: the syscall in flight and the record being built. Task storage, so neither
 * preemption nor migration between entry and exit can mix two calls up. */
struct mw_task {
    u64 exe_key;     /* exe_file last reported in a submitted record of this thread */
    u64 exe_pending; /* exe_file whose path the record being built carries */
    u64 ts;          /* CLOCK_MONOTONIC at entry of the call in flight */
    u32 state;       /* TASK_* */
    u32 idx;         /* table index of the call in flight */
    u32 len;         /* bytes used in rec */
    u32 pidns;       /* cached: a task never changes pid namespace */
    u32 abi_nr;      /* syscall number as seen at entry (orig_ax), | 1 << 31 when compat */
    u16 kind;        /* catalogue index of the call in flight */
    u8 hdr_done;     /* the process context is already in the header */
    u8 late;         /* arguments whose entry read failed: read again at exit (bit i) */
    struct mw_plan plan; /* TASK_PENDING: what exit decides on */
    u16 eoff[MW_MAX_ARGS]; /* offset of each argument's entry block in rec, 0 when none */
    u16 xoff[MW_MAX_ARGS]; /* and of its exit block */
    struct mw_walk walk;
    struct mw_dstate dig;
    u8 scratch[MW_SCRATCH + 8];
    u8 rec[MW_REC_BUF];
};

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct mw_task);
} mw_tasks SEC(".maps");

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

static __always_inline struct mw_kind_stats *kstats(u32 kind)
{
    u32 zero = 0;
    struct mw_kind_stats *k = bpf_map_lookup_elem(&mw_kstats, &zero);
    return k ? &k[kind & (MW_MAX_KINDS - 1)] : 0;
}

/* seen and filtered: plain per-CPU increments (hot path); submitted and dropped: exact. */
#define KSTAT_ADD(kind, field)                            \
    do {                                                  \
        struct mw_kind_stats *__k = kstats(kind);         \
        if (__k)                                          \
            __k->field++;                                 \
    } while (0)

#define KSTAT_INC_EXACT(kind, field)                      \
    do {                                                  \
        struct mw_kind_stats *__k = kstats(kind);         \
        if (__k)                                          \
            __sync_fetch_and_add(&__k->field, 1);         \
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

/* The half of the interest tables in use right now; read once per program run. */
static __always_inline struct mw_filter *live_filter(void)
{
    return &mw_live.f[*(volatile u32 *)&mw_live.gen & 1];
}

static __always_inline struct mw_event_hdr *hdr_of(struct mw_task *t)
{
    return (struct mw_event_hdr *)t->rec;
}

/* The program's own word size, from its memory image: the kernel marks the mm of an ia32 program
 * (MM_CONTEXT_UPROBE_IA32) when it loads it. Not the code segment of the moment: a 64-bit program
 * can far-jump into a 32-bit segment and make its calls from there. 0 for kernel threads. */
static __always_inline u8 bits_of_task(struct task_struct *task)
{
    struct mm_struct *mm = task->mm;
    if (!mm)
        return 0;
    return (BPF_CORE_READ(mm, context.flags) & 1) ? 32 : 64;
}

#endif
