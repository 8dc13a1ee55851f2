/*
 * The process table behind mw.process() and mw.ancestors(): pid -> parent, uid, comm, exe, the
 * executable's identity and namespaces, fed by the engine from every event's process context.
 * One table per session (the engine owns it and points its signatures' sandboxes at it), used
 * from the session's pipeline thread only: two sessions in one process (tests, a replay beside a
 * live run) never see each other's processes. Open addressing, fixed size, allocated on the
 * first entry; when it fills up it is cleared and refills from the next events (lineage is best
 * effort).
 */
#include "sandbox_internal.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MW_PT_SIZE 16384          /* power of two */
#define MW_PT_MAX_LOAD (MW_PT_SIZE * 3 / 4)
#define MW_PT_COMM 16
#define MW_PT_EXE 192

typedef struct mw_proc {
    int32_t pid;                  /* 0 = empty slot, -1 = deleted */
    int32_t ppid;
    uint32_t uid;
    uint8_t comm_len, exe_len;
    char comm[MW_PT_COMM];
    char exe[MW_PT_EXE];
    uint64_t mntns, pidns;
    uint64_t exe_ino, exe_dev;
} mw_proc;

struct mw_proctable {
    mw_proc *slots;               /* MW_PT_SIZE entries, allocated on the first put */
    size_t used;
};

mw_proctable *mw_proctable_new(void) { return calloc(1, sizeof(mw_proctable)); }

void mw_proctable_free(mw_proctable *t) {
    if (!t) return;
    free(t->slots);
    free(t);
}

static inline size_t slot_of(int32_t pid) { return ((uint32_t)pid * 2654435761u) & (MW_PT_SIZE - 1); }

static mw_proc *find(mw_proctable *t, int32_t pid) {
    if (!t || !t->slots) return NULL;
    mw_proc *table = t->slots;
    for (size_t i = slot_of(pid), n = 0; n < MW_PT_SIZE; i = (i + 1) & (MW_PT_SIZE - 1), n++) {
        if (table[i].pid == pid) return &table[i];
        if (table[i].pid == 0) return NULL;
    }
    return NULL;
}

void mw_proctable_clear(mw_proctable *t) {
    if (t && t->slots) memset(t->slots, 0, MW_PT_SIZE * sizeof(mw_proc));
    if (t) t->used = 0;
}

size_t mw_proctable_count(mw_proctable *t) { return t ? t->used : 0; }

int mw_proctable_put(mw_proctable *t, int32_t pid, int32_t ppid, uint32_t uid, const char *comm, size_t comm_len,
                     const char *exe, size_t exe_len, uint64_t mntns, uint64_t pidns, uint64_t exe_ino,
                     uint64_t exe_dev) {
    if (!t || pid <= 0) return 0;
    if (!t->slots && !(t->slots = calloc(MW_PT_SIZE, sizeof(mw_proc)))) return 0;
    mw_proc *table = t->slots;
    if (comm_len > MW_PT_COMM) comm_len = MW_PT_COMM;
    if (exe_len > MW_PT_EXE) exe_len = MW_PT_EXE;   /* long paths keep their head */
    mw_proc *p = find(t, pid);
    if (p && p->ppid == ppid && p->uid == uid && p->comm_len == comm_len && p->exe_len == exe_len &&
        p->mntns == mntns && p->pidns == pidns && p->exe_ino == exe_ino && p->exe_dev == exe_dev && memcmp(p->comm, comm, comm_len) == 0 &&
        memcmp(p->exe, exe, exe_len) == 0) return 0;   /* unchanged: the common case */
    if (!p) {
        if (t->used >= MW_PT_MAX_LOAD) mw_proctable_clear(t);
        size_t i = slot_of(pid);
        while (table[i].pid > 0) i = (i + 1) & (MW_PT_SIZE - 1);
        p = &table[i];
        t->used++;
    }
    p->pid = pid; p->ppid = ppid; p->uid = uid; p->mntns = mntns; p->pidns = pidns;
    p->exe_ino = exe_ino; p->exe_dev = exe_dev;
    p->comm_len = (uint8_t)comm_len; memcpy(p->comm, comm, comm_len);
    p->exe_len = (uint8_t)exe_len; memcpy(p->exe, exe, exe_len);
    return 1;
}

void mw_proctable_remove(mw_proctable *t, int32_t pid) {
    mw_proc *p = find(t, pid);
    if (p) p->pid = -1;   /* tombstone keeps probe chains intact */
}

static void push_proc(lua_State *L, const mw_proc *p) {
    lua_createtable(L, 0, 9);
    lua_pushinteger(L, p->pid); lua_setfield(L, -2, "pid");
    lua_pushinteger(L, p->ppid); lua_setfield(L, -2, "ppid");
    lua_pushinteger(L, p->uid); lua_setfield(L, -2, "uid");
    lua_pushlstring(L, p->comm, p->comm_len); lua_setfield(L, -2, "comm");
    lua_pushlstring(L, p->exe, p->exe_len); lua_setfield(L, -2, "exe");
    lua_pushinteger(L, (lua_Integer)p->mntns); lua_setfield(L, -2, "mntns");
    lua_pushinteger(L, (lua_Integer)p->pidns); lua_setfield(L, -2, "pidns");
    lua_pushinteger(L, (lua_Integer)p->exe_ino); lua_setfield(L, -2, "exe_ino");
    lua_pushinteger(L, (lua_Integer)p->exe_dev); lua_setfield(L, -2, "exe_dev");
}

/* mw.process(pid) -> {pid, ppid, uid, comm, exe, mntns, pidns, exe_ino, exe_dev} or nil */
int mw_lua_process(lua_State *L) {
    lua_Integer pid = luaL_checkinteger(L, 1);
    mw_proctable *t = mw_of(L)->procs;
    const mw_proc *p = pid > 0 && pid <= INT32_MAX ? find(t, (int32_t)pid) : NULL;
    if (!p) { lua_pushnil(L); return 1; }
    push_proc(L, p);
    return 1;
}

/* mw.ancestors(pid [, max]) -> list of process tables, parent first; stops at unknown pids,
 * pid 1 or a loop. */
int mw_lua_ancestors(lua_State *L) {
    lua_Integer pid = luaL_checkinteger(L, 1);
    lua_Integer max = luaL_optinteger(L, 2, 16);
    if (max > 64) max = 64;
    lua_createtable(L, (int)(max < 8 ? max : 8), 0);
    mw_proctable *t = mw_of(L)->procs;
    const mw_proc *p = pid > 0 && pid <= INT32_MAX ? find(t, (int32_t)pid) : NULL;
    int n = 0;
    while (p && n < max && p->ppid > 0 && p->ppid != p->pid) {
        const mw_proc *parent = find(t, p->ppid);
        if (!parent) break;
        push_proc(L, parent);
        lua_rawseti(L, -2, ++n);
        if (parent->pid == 1) break;
        p = parent;
    }
    return 1;
}

/*
 * mw.identity(path) -> {ino=, dev=} of the file at `path` on this host (stat(2), following
 * symbolic links), or nil. What an allow-list keys on: a renamed copy or a bind mount over the
 * path is another file, with another identity. `dev` is encoded as stat reports it, the same as
 * event.process.exe_dev and the probes' file identities.
 */
int mw_lua_identity(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    if (stat(path, &st) != 0) { lua_pushnil(L); return 1; }
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)st.st_ino); lua_setfield(L, -2, "ino");
    lua_pushinteger(L, (lua_Integer)st.st_dev); lua_setfield(L, -2, "dev");
    return 1;
}

/* mw.host_mntns() -> the mount namespace of pid 1 (the host's, with a host pid namespace), or nil. */
int mw_lua_host_mntns(lua_State *L) {
    struct stat st;
    if (stat("/proc/1/ns/mnt", &st) != 0) { lua_pushnil(L); return 1; }
    lua_pushinteger(L, (lua_Integer)st.st_ino);
    return 1;
}
