/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* Paths of dentries, and what a descriptor refers to. */
#ifndef MW_PATHS_H
#define MW_PATHS_H
#include "common.h"

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

/*
 * Resolves descriptor `fd` of the current task to what it refers to and writes a struct mw_file
 * (plus path) at rec[q]. Returns the bytes written (padded), 0 when out of space.
 */
__noinline int mw_cap_file(struct mw_task *t, u32 q, s32 fd)
{
    if (!t)
        return 0;
    if (q > MW_REC_BUF - sizeof(struct mw_file))
        return 0;
    /* Without room for a whole path the entry still carries the identity (type, inode, device):
     * a descriptor passed late in a long list is never reduced to nothing. */
    u8 nopath = q > MW_REC_BUF - (sizeof(struct mw_file) + MW_MAX_PATH + 8);
    struct mw_file *f = (struct mw_file *)&t->rec[q];
    f->fd = fd;
    f->type = MW_FILE_NONE;
    f->status = 0;
    f->path_len = 0;
    f->ino = 0;
    f->dev = 0;
    f->magic = 0;

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
    f->dev = BPF_CORE_READ(inode, i_sb, s_dev);
    f->magic = magic;

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
    u8 st = 0;
    if (BPF_CORE_READ(dentry, d_hash.pprev) == 0 && BPF_CORE_READ(dentry, d_parent) == dentry &&
        type == MW_FILE_REGULAR)
        st |= MW_F_DELETED;
    if (nopath) {
        f->status = st | MW_F_NOPATH;
        return sizeof(struct mw_file);
    }
    struct vfsmount *vfsmnt = BPF_CORE_READ(file, f_path.mnt);
    int r = mw_cap_path(t, q + sizeof(struct mw_file), (u64)dentry, (u64)vfsmnt);
    u32 plen = r & 0xffff;
    st |= (r >> 16) & 0xff;
    if (q > MW_REC_BUF - (sizeof(struct mw_file) + MW_MAX_PATH + 8))
        return 0;
    f = (struct mw_file *)&t->rec[q];
    f->path_len = plen;
    f->status = st;
    return sizeof(struct mw_file) + ROUND8(plen & 0x1ff);
}
#endif
