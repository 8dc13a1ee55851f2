/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/* Message headers (msghdr, mmsghdr vectors), their control messages and passed descriptors. */
#ifndef MW_MSGHDR_H
#define MW_MSGHDR_H
#include "common.h"
#include "paths.h"

/* Control messages in the copied control data, walked exactly as the user-space decoder walks
 * them (ArgDecode.cmsgs), so that the types found here are the types the filter sees there. */
#define MW_CMSG_WALK 48 /* > 512 / 12: every control message the copy can hold */
/* Chunks of MW_SCRATCH bytes read past the copy: each advances by at least MW_SCRATCH - 16, so
 * this covers optmem_max (128 KiB by default, the most control the kernel accepts). */
#define MW_BEYOND_CHUNKS 288

/*
 * Resolves the descriptors of one SCM_RIGHTS message: `nfd` ints at `at` in rec (src 0) or in
 * scratch (src 1), into struct mw_file entries from rec[q], at most `room` of them.
 * Returns bytes | resolved << 16 | truncated << 24.
 */
__noinline int mw_resolve_rights(struct mw_task *t, u32 at, u32 nfd, u32 q, u32 room_src)
{
    u32 room = room_src & 0xff, src = room_src >> 8;
    if (!t)
        return 0;
    u32 written = 0, n = 0, trunc = 0;
    u32 lim = src ? MW_SCRATCH : MW_REC_BUF;
    if (at > lim || nfd > MW_MAX_CTL / 4 || at + nfd * 4 > lim)
        return 0;
    u8 *base = src ? t->scratch : t->rec;
    for (int j = 0; j < MW_MAX_FILES; j++) {
        if (j >= nfd)
            break;
        if (j >= room) {
            trunc = 1;
            break;
        }
        s32 fd = -1;
        bpf_probe_read_kernel(&fd, sizeof(fd), (void *)base + at + 4 * j);
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

/* The control message header at `p` (our own copy: rec or scratch), in either ABI's layout. */
static __always_inline void cmsg_header(const void *p, u32 compat, u64 *clen, s32 *level, s32 *type)
{
    if (compat) {
        struct mw_compat_cmsghdr h = {};
        bpf_probe_read_kernel(&h, sizeof(h), p);
        *clen = h.cmsg_len;
        *level = h.cmsg_level;
        *type = h.cmsg_type;
    } else {
        struct mw_cmsghdr h = {};
        bpf_probe_read_kernel(&h, sizeof(h), p);
        *clen = h.cmsg_len;
        *level = h.cmsg_level;
        *type = h.cmsg_type;
    }
}

static __always_inline u32 cmsg_step(u64 clen, u32 compat)
{
    return compat ? ((clen + 3) & ~3ULL) : ((clen + 7) & ~7ULL);
}

/* Descriptors an SCM_RIGHTS message of cmsg_len `clen` at control offset `coff` carries, as the
 * kernel counts them: its length, within the control the caller gave. */
static __always_inline u32 rights_in(struct mw_task *t, u64 clen, u64 coff, u32 hsz)
{
    u64 avail = t->walk.total > coff ? t->walk.total - coff : 0;
    u64 l = clen > avail ? avail : clen;
    return l > hsz ? (l - hsz) / 4 : 0;
}

/*
 * Walks the control messages copied at rec[ctl .. ctl+len): records the MW_CTL_* types of all of
 * them and, when `resolve`, resolves SCM_RIGHTS descriptors (up to MW_MAX_FILES in all) into
 * struct mw_file entries from rec[q]. mode = compat | resolve << 1. t->walk.total is the caller's
 * controllen; t->walk gets the descriptor count and where a walk past the copy goes on.
 * Returns bytes | nfiles << 16 | truncated << 24 | types << 25.
 */
__noinline int mw_walk_cmsgs(struct mw_task *t, u32 ctl, u32 len, u32 q, u32 mode)
{
    u32 compat = mode & 1, resolve = (mode >> 1) & 1;
    if (!t)
        return 0;
    u32 hsz = compat ? sizeof(struct mw_compat_cmsghdr) : sizeof(struct mw_cmsghdr);
    u32 coff = 0, written = 0, nfiles = 0, trunc = 0, types = 0;
    u64 next = 0;

    t->walk.rights = 0;
    t->walk.unwalked = 0;
    /* Reads go through bpf_probe_read_kernel from our own copy: offsets stay inside rec because
     * ctl + len <= MW_REC_BUF, checked here. */
    if (ctl > MW_REC_BUF || len > MW_REC_BUF - ctl || len > MW_MAX_CTL) {
        t->walk.next = t->walk.total;
        return 0;
    }
    next = len;
    for (int k = 0; k < MW_CMSG_WALK; k++) {
        if (coff + hsz > len) {
            next = coff;
            break;
        }
        u64 clen;
        s32 level, type;
        cmsg_header((void *)t->rec + ctl + coff, compat, &clen, &level, &type);
        if (clen < hsz) {
            next = t->walk.total; /* malformed: the kernel stops here too (EINVAL) */
            break;
        }
        u64 avail = len - coff;
        u64 body = (clen > avail ? avail : clen) - hsz;
        if (level == MW_SOL_SOCKET && type == MW_SCM_RIGHTS) {
            types |= MW_CTL_RIGHTS;
            t->walk.rights += rights_in(t, clen, coff, hsz);
            if (resolve) {
                u32 room = nfiles < MW_MAX_FILES ? MW_MAX_FILES - nfiles : 0;
                int r = mw_resolve_rights(t, ctl + coff + hsz, body / 4, q + written, room);
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
        u32 step = cmsg_step(clen, compat);
        if (clen >= avail || step == 0) {
            next = step ? coff + (u64)step : t->walk.total;
            break;
        }
        coff += step;
        next = coff;
    }
    t->walk.next = next;
    t->walk.types = types;
    return (written & 0xffff) | (nfiles << 16) | (trunc << 24) | (types << 25);
}

struct mw_beyond_ctx {
    struct mw_task *t;
    u64 uctl;     /* the caller's control buffer */
    u32 compat;
};

/*
 * One chunk of control past the copy: reads MW_SCRATCH bytes at t->walk.next and walks the
 * control messages whose headers lie inside it (bpf_loop callback; its state lives in the task,
 * which the verifier does not track, so it verifies once). SCM_RIGHTS bodies are noted in
 * t->walk for mw_cap_msg to resolve: calling the resolver from here would take the vector path
 * past the verifier's eight call frames.
 */
static long mw_beyond_chunk(u64 i, struct mw_beyond_ctx *c)
{
    struct mw_task *t = c->t;
    if (!t)
        return 1;
    u32 compat = c->compat;
    u32 hsz = compat ? sizeof(struct mw_compat_cmsghdr) : sizeof(struct mw_cmsghdr);
    u64 off = t->walk.next, total = t->walk.total;
    if (off + hsz > total)
        return 1;
    u64 want = total - off;
    u32 n = want > MW_SCRATCH ? MW_SCRATCH : want;
    if (bpf_probe_read_user(t->scratch, n & (MW_SCRATCH * 2 - 1), (void *)(c->uctl + off)) < 0) {
        t->walk.unwalked = 1;
        return 1;
    }
    u32 coff = 0;
    for (int k = 0; k < MW_SCRATCH / 12 + 1; k++) {
        if (coff + hsz > n || coff > MW_SCRATCH - 16)
            break;
        u64 clen;
        s32 level, type;
        cmsg_header((void *)t->scratch + coff, compat, &clen, &level, &type);
        if (clen < hsz) {
            t->walk.next = total;
            return 1;
        }
        if (level == MW_SOL_SOCKET && type == MW_SCM_RIGHTS) {
            u32 nfd = rights_in(t, clen, off + coff, hsz);
            t->walk.types |= MW_CTL_RIGHTS;
            t->walk.rights += nfd;
            u32 b = t->walk.nbodies;
            if (b < MW_BODIES) {
                t->walk.body_off[b & (MW_BODIES - 1)] = off + coff + hsz;
                t->walk.body_n[b & (MW_BODIES - 1)] = nfd;
                t->walk.nbodies = b + 1;
            }
        } else if (level == MW_SOL_SOCKET && type == MW_SCM_CREDENTIALS) {
            t->walk.types |= MW_CTL_CREDENTIALS;
        } else {
            t->walk.types |= MW_CTL_OTHER;
        }
        u32 step = cmsg_step(clen, compat);
        if (step == 0 || off + coff + (u64)step >= total) {
            t->walk.next = total;
            return 1;
        }
        coff += step;
    }
    t->walk.next = off + coff;
    return 0;
}

/*
 * The control messages past t->walk.next (up to t->walk.total), read from the caller's memory at
 * `uctl` in chunks: types, descriptor counts and where the SCM_RIGHTS bodies are (t->walk).
 * Returns the MW_CTL_* types found; t->walk.unwalked when control was left.
 */
__noinline int mw_walk_beyond(struct mw_task *t, u64 uctl, u32 compat)
{
    if (!t)
        return 0;
    t->walk.types = 0;
    t->walk.nbodies = 0;
    struct mw_beyond_ctx c = {.t = t, .uctl = uctl, .compat = compat & 1};
    bpf_loop(MW_BEYOND_CHUNKS, mw_beyond_chunk, &c, 0);
    if (t->walk.next < t->walk.total)
        t->walk.unwalked = 1;
    return t->walk.types & 7;
}

/*
 * Resolves the SCM_RIGHTS bodies mw_walk_beyond noted, from rec[q], at most `room` descriptors.
 * Returns bytes | resolved << 16.
 */
__noinline int mw_resolve_beyond(struct mw_task *t, u64 uctl, u32 q, u32 room)
{
    if (!t)
        return 0;
    u32 written = 0, nfiles = 0;
    for (int b = 0; b < MW_BODIES; b++) {
        if (b >= t->walk.nbodies || nfiles >= room)
            break;
        u32 nfd = t->walk.body_n[b];
        u32 left = room - nfiles;
        if (nfd > left)
            nfd = left;
        if (nfd > MW_SCRATCH / 4)
            nfd = MW_SCRATCH / 4;
        if (!nfd)
            continue;
        if (bpf_probe_read_user(t->scratch, (nfd * 4) & (MW_SCRATCH * 2 - 1), (void *)(uctl + t->walk.body_off[b])) < 0)
            continue;
        int r = mw_resolve_rights(t, 0, nfd, (q + written) & 0xffff, (left & 0xff) | 1 << 8);
        written += r & 0xffff;
        nfiles += (r >> 16) & 0xff;
    }
    return (written & 0xffff) | ((nfiles & 0xff) << 16);
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
    u16 rights = 0;
    u8 beyond_types = 0;
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
            t->walk.total = ctllen;
            int r = mw_walk_cmsgs(t, ctl_at, n, q, compat | (resolve ? 2 : 0));
            files_n = r & 0xffff;
            nfiles = (r >> 16) & 0xff;
            ctl_types = (r >> 25) & 7;
            /* Control past the copy: an SCM_RIGHTS message there passes descriptors as surely as
             * one in the first bytes. Walked from the caller's memory. */
            if (ctllen > n && t->walk.next < ctllen) {
                beyond_types = mw_walk_beyond(t, ctl, compat);
                ctl_types |= beyond_types;
                if (t->walk.unwalked)
                    status |= MW_M_CTL_UNWALKED;
                if (resolve && t->walk.nbodies && nfiles < MW_MAX_FILES) {
                    int b = mw_resolve_beyond(t, ctl, q + files_n, MW_MAX_FILES - nfiles);
                    files_n += b & 0xffff;
                    nfiles += (b >> 16) & 0xff;
                }
            }
            rights = t->walk.rights > 0xffff ? 0xffff : t->walk.rights;
            if (resolve && rights > nfiles)
                status |= MW_M_FILES_TRUNC;
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
    m->beyond_types = beyond_types;
    m->rights = rights;
    m->status = status;
    m->size = q - p;
    return q - p;

full:
    return 0;
}

struct mw_scan_ctx {
    struct mw_task *t;
    u64 uptr;      /* the vector */
    u32 stride;
    u32 compat;
    u32 rights;    /* SCM_RIGHTS descriptors found */
    u32 types;     /* MW_CTL_* found */
    u32 status;    /* MW_M_* of what could not be read or walked */
    u32 scanned;
};

/* One entry of a vector past those decoded: its header, then its control messages (types and
 * descriptor counts only, nothing resolved or kept). */
static long mw_scan_entry(u64 i, struct mw_scan_ctx *c)
{
    struct mw_task *t = c->t;
    if (!t)
        return 1;
    u64 at = c->uptr + i * c->stride;
    u64 ctl, ctllen;
    if (c->compat) {
        struct mw_compat_msghdr h = {};
        if (bpf_probe_read_user(&h, sizeof(h), (void *)at) < 0) {
            c->status |= MW_M_HDR_FAULT;
            return 0;
        }
        ctl = h.msg_control;
        ctllen = h.msg_controllen;
    } else {
        struct mw_user_msghdr h = {};
        if (bpf_probe_read_user(&h, sizeof(h), (void *)at) < 0) {
            c->status |= MW_M_HDR_FAULT;
            return 0;
        }
        ctl = h.msg_control;
        ctllen = h.msg_controllen;
    }
    c->scanned++;
    if (!ctl || !ctllen)
        return 0;
    t->walk.total = ctllen;
    t->walk.next = 0;
    t->walk.rights = 0;
    t->walk.unwalked = 0;
    c->types |= mw_walk_beyond(t, ctl, c->compat);
    c->rights += t->walk.rights;
    if (t->walk.unwalked)
        c->status |= MW_M_CTL_UNWALKED;
    return 0;
}

/*
 * An mmsghdr vector of `vlen` entries at `uptr`: struct mw_mmsg, then per entry
 * struct mw_mmsg_entry + struct mw_msg, for as many as fit (MW_MAX_MMSG); the rest, up to the
 * kernel's own limit, are scanned for control messages (a descriptor passed in the ninth entry
 * is still counted). Returns bytes written.
 */
__noinline int mw_cap_mmsg(struct mw_task *t, u32 p, u64 uptr, u64 vlen, u32 mode)
{
    u32 compat = mode & 1, resolve = mode >> 1;
    if (!t)
        return 0;
    if (p > MW_REC_BUF - sizeof(struct mw_mmsg))
        return 0;
    struct mw_mmsg *mm = (struct mw_mmsg *)&t->rec[p];
    __builtin_memset(mm, 0, sizeof(*mm));
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
    u64 want = vlen > MW_MAX_MMSG_SCAN ? MW_MAX_MMSG_SCAN : vlen;
    struct mw_scan_ctx sc = {.t = t, .uptr = uptr + (u64)count * stride, .stride = stride, .compat = compat};
    if (want > count) {
        status = MW_S_TRUNC;
        bpf_loop(want - count, mw_scan_entry, &sc, 0);
        types |= sc.types;
    }
    if (p > MW_REC_BUF - sizeof(struct mw_mmsg))
        return 0;
    mm = (struct mw_mmsg *)&t->rec[p];
    mm->count = count;
    mm->status = status;
    mm->ctl_types = types;
    mm->scan_types = sc.types;
    mm->scanned = sc.scanned;
    mm->scan_rights = sc.rights > 0xffff ? 0xffff : sc.rights;
    mm->scan_status = sc.status;
    return q - p;
}
#endif
