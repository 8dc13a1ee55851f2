/*
 * Trimmed kernel types for moonwatch's BPF programs.
 *
 * Derived once from `bpftool btf dump file /sys/kernel/btf/vmlinux format c` (Linux 6.18,
 * x86_64) and cut down to the fields the programs dereference. Kernel-internal structs carry
 * preserve_access_index, so every field access is a CO-RE relocation that libbpf resolves
 * against the running kernel's BTF at load time: field order and the missing members here do
 * not matter, names do. Nothing at build time reads the build machine's BTF.
 *
 * UAPI values (map types, flags) are stable ABI and defined plainly at the end.
 */
#ifndef MOONWATCH_VMLINUX_H
#define MOONWATCH_VMLINUX_H

typedef unsigned char __u8;
typedef short int __s16;
typedef short unsigned int __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long int __s64;
typedef long long unsigned int __u64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
enum { false = 0, true = 1 };
typedef int pid_t;
typedef unsigned short umode_t;

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
    u32 val;
} kuid_t;

typedef struct {
    u32 val;
} kgid_t;

struct cred {
    kuid_t uid;
    kgid_t gid;
};

struct kernfs_node {
    u64 id;
};

struct cgroup {
    struct kernfs_node *kn;
};

struct css_set {
    struct cgroup *dfl_cgrp;
};

struct pt_regs {
    long unsigned int r15;
    long unsigned int r14;
    long unsigned int r13;
    long unsigned int r12;
    long unsigned int bp;
    long unsigned int bx;
    long unsigned int r11;
    long unsigned int r10;
    long unsigned int r9;
    long unsigned int r8;
    long unsigned int ax;
    long unsigned int cx;
    long unsigned int dx;
    long unsigned int si;
    long unsigned int di;
    long unsigned int orig_ax;
    long unsigned int ip;
    union {
        u16 cs;
        u64 csx;
    };
    long unsigned int flags;
    long unsigned int sp;
    union {
        u16 ss;
        u64 ssx;
    };
};

struct thread_info {
    long unsigned int flags;
    long unsigned int syscall_work;
    u32 status;  /* TS_COMPAT (0x2) while an ia32 syscall runs */
};

struct ns_common {
    unsigned int inum;
};

struct mnt_namespace {
    struct ns_common ns;
};

struct pid_namespace {
    struct ns_common ns;
};

struct nsproxy {
    struct mnt_namespace *mnt_ns;
};

struct upid {
    int nr;
    struct pid_namespace *ns;
};

struct pid {
    unsigned int level;
    struct upid numbers[1];
};

struct qstr {
    union {
        struct {
            u32 hash;
            u32 len;
        };
        u64 hash_len;
    };
    const unsigned char *name;
};

struct hlist_bl_node {
    struct hlist_bl_node *next;
    struct hlist_bl_node **pprev;
};

struct super_block {
    u32 s_dev;
    long unsigned int s_magic;
};

struct inode {
    umode_t i_mode;
    struct super_block *i_sb;
    long unsigned int i_ino;
};

struct dentry {
    struct hlist_bl_node d_hash;
    struct dentry *d_parent;
    struct qstr d_name;
    struct inode *d_inode;
};

struct vfsmount {
    struct dentry *mnt_root;
};

struct mount {
    struct mount *mnt_parent;
    struct dentry *mnt_mountpoint;
    struct vfsmount mnt;
};

struct path {
    struct vfsmount *mnt;
    struct dentry *dentry;
};

struct file {
    struct path f_path;
    struct inode *f_inode;
    void *private_data;
};

struct in6_addr {
    union {
        u8 u6_addr8[16];
    } in6_u;
};

struct sock_common {
    union {
        struct {
            __be32 skc_daddr;
            __be32 skc_rcv_saddr;
        };
    };
    union {
        struct {
            __be16 skc_dport;
            __u16 skc_num;
        };
    };
    unsigned short skc_family;
    struct in6_addr skc_v6_daddr;
    struct in6_addr skc_v6_rcv_saddr;
};

struct socket;

struct sock {
    struct sock_common __sk_common;
    u16 sk_type;
    struct socket *sk_socket;
};

struct socket {
    short type;
    struct file *file;
    struct sock *sk;
};

struct unix_sock {
    struct sock sk;
    struct sock *peer;
};

struct fdtable {
    unsigned int max_fds;
    struct file **fd;
};

struct files_struct {
    struct fdtable *fdt;
};

typedef struct {
    long unsigned int flags; /* bit 0, MM_CONTEXT_UPROBE_IA32: a 32-bit program's mm */
} mm_context_t;

struct mm_struct {
    struct file *exe_file;
    long unsigned int arg_start;
    long unsigned int arg_end;
    long unsigned int env_start;
    long unsigned int env_end;
    mm_context_t context;
};

struct linux_binprm {
    struct file *file;
    const char *filename;
    const char *interp;
};

struct task_struct {
    struct thread_info thread_info;
    unsigned int flags;
    struct mm_struct *mm;
    int exit_code;
    pid_t pid;
    pid_t tgid;
    struct task_struct *real_parent;
    struct task_struct *group_leader;
    struct pid *thread_pid;
    const struct cred *cred;
    char comm[16];
    struct files_struct *files;
    struct nsproxy *nsproxy;
    struct css_set *cgroups;
};


/* io_uring (its tracepoints carry the request; the per-operation state lives in req->cmd, an
 * overlay whose first member is the file, so each operation's struct is read at the same address) */
struct io_cqe {
    u64 user_data;
    s32 res;
    union {
        u32 flags;
        int fd;
    };
};

struct io_kiocb {
    struct file *file;
    u8 opcode;
    u64 flags;      /* REQ_F_*: bit 0, REQ_F_FIXED_FILE, the fd is an index into the fixed table */
    struct io_cqe cqe;
};

struct io_sr_msg {
    struct file *file;
    void *umsg;
};

struct io_connect {
    struct file *file;
    void *addr;
    int addr_len;
};

struct io_socket {
    struct file *file;
    int domain;
    int type;
    int protocol;
};

struct filename {
    const char *name;
    const char *uptr;
};

struct open_how {
    u64 flags;
    u64 mode;
    u64 resolve;
};

struct io_open {
    struct file *file;
    int dfd;
    struct filename *filename;
    struct open_how how;
};

struct io_uring_cqe {
    u64 user_data;
    s32 res;
    u32 flags;
};

#pragma clang attribute pop

/* ---- UAPI (include/uapi/linux/bpf.h): stable values ---- */
struct bpf_raw_tracepoint_args {
    __u64 args[0];
};

enum bpf_map_type {
    BPF_MAP_TYPE_HASH = 1,
    BPF_MAP_TYPE_ARRAY = 2,
    BPF_MAP_TYPE_PERCPU_ARRAY = 6,
    BPF_MAP_TYPE_LRU_HASH = 9,
    BPF_MAP_TYPE_RINGBUF = 27,
    BPF_MAP_TYPE_TASK_STORAGE = 29,
};

enum {
    BPF_ANY = 0,
    BPF_NOEXIST = 1,
    BPF_EXIST = 2,
};

enum {
    BPF_F_NO_PREALLOC = 1,
};

enum {
    BPF_RB_NO_WAKEUP = 1,
    BPF_RB_FORCE_WAKEUP = 2,
};

enum {
    BPF_RB_AVAIL_DATA = 0,
};

enum {
    BPF_LOCAL_STORAGE_GET_F_CREATE = 1,
};

#endif
