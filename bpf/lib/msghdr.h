/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* Message headers (msghdr, mmsghdr vectors), their control messages and passed descriptors. */
#ifndef MW_MSGHDR_H
#define MW_MSGHDR_H
#include "common.h"
#include "paths.h"

/* Control messages in the copied control data, walked exactly as the user-space decoder walks
 * them (ArgDecode.cmsgs), so that the types found here are the types the filter sees there. */
#define MW_CMSG_WALK 48 /* > 512 / 12: every control message the copy can hold */

/*
 * Resolves the descriptors of one SCM_RIGHTS message: `nfd` ints at rec[at], into struct mw_file
 * entries from rec[q], at most `room` of them. Returns bytes | resolved << 16 | truncated << 24.
 */
__noinline int mw_resolve_rights(struct mw_task *t, u32 at, u32 nfd, u32 q, u32 room)
{
    if (!t)
        return 0;
    u32 written = 0, n = 0, trunc = 0;
    if (at > MW_REC_BUF || nfd > MW_MAX_CTL / 4 || at + nfd * 4 > MW_REC_BUF)
        return 0;
    for (int j = 0; j < MW_MAX_FILES; j++) {
        if (j >= nfd)
            break;
        if (j >= room) {
            trunc = 1;
            break;
        }
        s32 fd = -1;
        bpf_probe_read_kernel(&fd, sizeof(fd), (void *)t->rec + at + 4 * j);
        u32 w = mw_cap_file(t, (q + written) & 0xffff, fd);
        if (!w) {
            trunc = 1;
            break;
        }
        written += w;
        n++;
    }
    if (nfd > n && !trunc)
        trunc = 1;
    return (written & 0xffff) | (n << 16) | (trunc << 24);
}

/*
 * Walks the control messages copied at rec[ctl .. ctl+len): records the MW_CTL_* types of all of
 * them and, when `resolve`, resolves SCM_RIGHTS descriptors (up to MW_MAX_FILES in all) into
 * struct mw_file entries from rec[q]. mode = compat | resolve << 1.
 * Returns bytes | nfiles << 16 | truncated << 24 | types << 25.
 */
__noinline int mw_walk_cmsgs(struct mw_task *t, u32 ctl, u32 len, u32 q, u32 mode)
{
    u32 compat = mode & 1, resolve = (mode >> 1) & 1;
    if (!t)
        return 0;
    u32 hsz = compat ? sizeof(struct mw_compat_cmsghdr) : sizeof(struct mw_cmsghdr);
    u32 coff = 0, written = 0, nfiles = 0, trunc = 0, types = 0;

    /* Reads go through bpf_probe_read_kernel from our own copy: offsets stay inside rec because
     * ctl + len <= MW_REC_BUF, checked here. */
    if (ctl > MW_REC_BUF || len > MW_REC_BUF - ctl || len > MW_MAX_CTL)
        return 0;
    for (int k = 0; k < MW_CMSG_WALK; k++) {
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
            types |= MW_CTL_RIGHTS;
            if (resolve) {
                int r = mw_resolve_rights(t, ctl + coff + hsz, body / 4, q + written, MW_MAX_FILES - nfiles);
                written += r & 0xffff;
                nfiles += (r >> 16) & 0xff;
                trunc |= (r >> 24) & 1;
                if (nfiles > MW_MAX_FILES)
                    nfiles = MW_MAX_FILES;
            }
        } else if (level == MW_SOL_SOCKET && type == MW_SCM_CREDENTIALS && body >= sizeof(struct mw_ucred)) {
            types |= MW_CTL_CREDENTIALS;
        } else {
            types |= MW_CTL_OTHER;
        }
        if (clen >= avail)
            break;
        u32 step = compat ? ((clen + 3) & ~3ULL) : ((clen + 7) & ~7ULL);
        if (step == 0)
            break;
        coff += step;
    }
    return (written & 0xffff) | (nfiles << 16) | (trunc << 24) | (types << 25);
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
    u8 nfiles = 0, ctl_types = 0;
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
            int r = mw_walk_cmsgs(t, ctl_at, n, q, compat | (resolve ? 2 : 0));
            files_n = r & 0xffff;
            nfiles = (r >> 16) & 0xff;
            if ((r >> 24) & 1)
                status |= MW_M_FILES_TRUNC;
            ctl_types = (r >> 25) & 7;
            if (files_n)
                files_off = q - p;
            q += files_n;
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
    m->ctl_types = ctl_types;
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
    mm->ctl_types = 0;
    u32 q = p + sizeof(struct mw_mmsg);
    u32 stride = compat ? sizeof(struct mw_compat_mmsghdr) : sizeof(struct mw_mmsghdr);
    u32 lenoff = compat ? __builtin_offsetof(struct mw_compat_mmsghdr, msg_len)
                        : __builtin_offsetof(struct mw_mmsghdr, msg_len);
    u32 count = 0, status = 0, types = 0;

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
        u32 eo = q + sizeof(struct mw_mmsg_entry);
        if (eo <= MW_REC_BUF - sizeof(struct mw_msg)) {
            struct mw_msg *em = (struct mw_msg *)&t->rec[eo];
            types |= em->ctl_types;
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
    mm->ctl_types = types;
    return q - p;
}
#endif
