/*
 * User-space ABI structs, as the caller lays them out in its own memory. These are fixed by the
 * syscall ABI (not kernel-internal), so they are defined here plainly, outside the CO-RE
 * attribute: they must never be relocated against the kernel's BTF, where the compat variants
 * may not even exist. Shared by bpf/ and the Swift decoder (which takes every offset from here,
 * never from hand-typed numbers). Sizes are checked below.
 */
#ifndef __bpf__
#include <linux/types.h>
#endif
#ifndef MOONWATCH_USER_ABI_H
#define MOONWATCH_USER_ABI_H

struct mw_iovec {            /* struct iovec */
    __u64 iov_base;
    __u64 iov_len;
};

struct mw_compat_iovec {     /* struct compat_iovec */
    __u32 iov_base;
    __u32 iov_len;
};

struct mw_user_msghdr {      /* struct user_msghdr */
    __u64 msg_name;
    __s32 msg_namelen;
    __u32 pad0;
    __u64 msg_iov;
    __u64 msg_iovlen;
    __u64 msg_control;
    __u64 msg_controllen;
    __u32 msg_flags;
    __u32 pad1;
};

struct mw_compat_msghdr {    /* struct compat_msghdr */
    __u32 msg_name;
    __s32 msg_namelen;
    __u32 msg_iov;
    __u32 msg_iovlen;
    __u32 msg_control;
    __u32 msg_controllen;
    __u32 msg_flags;
};

struct mw_mmsghdr {          /* struct mmsghdr */
    struct mw_user_msghdr msg_hdr;
    __u32 msg_len;
    __u32 pad;
};

struct mw_compat_mmsghdr {   /* struct compat_mmsghdr */
    struct mw_compat_msghdr msg_hdr;
    __u32 msg_len;
};

struct mw_cmsghdr {          /* struct cmsghdr: 16 bytes, data 8-aligned */
    __u64 cmsg_len;
    __s32 cmsg_level;
    __s32 cmsg_type;
};

struct mw_compat_cmsghdr {   /* struct compat_cmsghdr: 12 bytes, data 4-aligned */
    __u32 cmsg_len;
    __s32 cmsg_level;
    __s32 cmsg_type;
};

struct mw_ucred {            /* struct ucred */
    __s32 pid;
    __u32 uid;
    __u32 gid;
};

struct mw_kernel_timespec {  /* struct __kernel_timespec */
    __s64 tv_sec;
    __s64 tv_nsec;
};

struct mw_old_timespec32 {   /* struct old_timespec32 */
    __s32 tv_sec;
    __s32 tv_nsec;
};

#define MW_SOL_SOCKET 1
#define MW_SCM_RIGHTS 1
#define MW_SCM_CREDENTIALS 2

_Static_assert(sizeof(struct mw_iovec) == 16, "iovec");
_Static_assert(sizeof(struct mw_compat_iovec) == 8, "compat_iovec");
_Static_assert(sizeof(struct mw_user_msghdr) == 56, "user_msghdr");
_Static_assert(sizeof(struct mw_compat_msghdr) == 28, "compat_msghdr");
_Static_assert(sizeof(struct mw_mmsghdr) == 64, "mmsghdr");
_Static_assert(sizeof(struct mw_compat_mmsghdr) == 32, "compat_mmsghdr");
_Static_assert(sizeof(struct mw_cmsghdr) == 16, "cmsghdr");
_Static_assert(sizeof(struct mw_compat_cmsghdr) == 12, "compat_cmsghdr");
_Static_assert(sizeof(struct mw_ucred) == 12, "ucred");
_Static_assert(sizeof(struct mw_old_timespec32) == 8, "old_timespec32");
_Static_assert(__builtin_offsetof(struct mw_user_msghdr, msg_controllen) == 40, "msg_controllen");
_Static_assert(__builtin_offsetof(struct mw_compat_msghdr, msg_flags) == 24, "compat msg_flags");

#endif
