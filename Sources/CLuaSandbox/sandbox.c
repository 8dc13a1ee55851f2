/*
 * One sandboxed lua_State per signature: capped allocator, instruction budget enforced by a hook
 * that yields (uncatchable) or raises, a reduced library set, and host functions in C.
 */
#define _GNU_SOURCE   /* strerrorname_np */
#include "sandbox_internal.h"
#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

/* ---------------------------------------------------------------------------------------------
 * Catalogue names, registered once by the host before events flow.
 */
#define MW_MAX_KINDS 256
#define MW_MAX_ARGS 64

typedef struct kind_info { char *name; uint32_t nargs; char *args[MW_MAX_ARGS]; } kind_info;
static kind_info kinds[MW_MAX_KINDS];

void mw_register_kind(uint32_t kind, const char *event_name, uint32_t nargs, const char *const *arg_names) {
    if (kind >= MW_MAX_KINDS || nargs > MW_MAX_ARGS) return;
    kind_info *k = &kinds[kind];
    free(k->name);
    k->name = strdup(event_name);
    for (uint32_t i = 0; i < k->nargs; i++) free(k->args[i]);
    k->nargs = nargs;
    for (uint32_t i = 0; i < nargs; i++) k->args[i] = strdup(arg_names[i]);
}

/* Keys of the event and process tables, cached per sandbox as Lua strings. */
enum { K_NAME, K_TIME, K_RET, K_PROCESS, K_ARGS, K_EXIT_ARGS, K_CHANGED, K_PID, K_TID, K_PPID, K_UID, K_GID,
       K_COMM, K_EXE, K_CONTAINER, K_CGROUP, K_MNTNS, K_PIDNS, K_COMPAT, K_BITS, K_LATE, K_EXE_INO, K_EXE_DEV,
       K_EXE_FS, K_TRUNCATED, K_VIA, K_COUNT };
static const char *const key_names[K_COUNT] = {
    "name", "time", "ret", "process", "args", "exit_args", "changed", "pid", "tid", "ppid", "uid", "gid",
    "comm", "exe", "container", "cgroup", "mntns", "pidns", "compat", "bits", "late", "exe_ino", "exe_dev",
    "exe_fs", "truncated", "via",
};

mw_limits mw_default_limits(void) {
    mw_limits l;
    l.memory_bytes = 16u << 20;
    l.instructions_per_call = 1000000;
    l.instructions_at_load = 10000000;
    l.call_timeout_ms = 1000;
    l.max_findings_per_call = 64;
    l.max_finding_bytes = 64u << 10;
    l.max_message_bytes = 4u << 10;
    return l;
}

static void hook_hot(mw_sandbox *s);

/* ---------------------------------------------------------------------------------------------
 * Allocator. With ptr == NULL, osize is an object type tag, not a size. Only growth is refused.
 * A refusal makes the hook fire on the next instruction: Lua raises most refusals as errors that
 * a pcall would catch, and a few (a string table that could not grow) not at all, so the hook and
 * the pcall/xpcall replacements end the call instead. Lua retries a refused request once after an
 * emergency collection (no signature code runs in between); when that retry fits, the refusal is
 * undone and the call goes on.
 */
static void *mw_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    mw_sandbox *s = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        mw_tls_in_libc = 1;
        free(ptr);
        mw_tls_in_libc = 0;
        s->mem_used -= old;
        return NULL;
    }
    if (nsize > old && s->mem_used - old + nsize > s->lim.memory_bytes) {
        s->mem_refusals++;
        s->retry_pending = 1;
        s->retry_ptr = ptr;
        s->retry_size = nsize;
        hook_hot(s);
        return NULL;
    }
    mw_tls_in_libc = 1;
    void *p = realloc(ptr, nsize);
    mw_tls_in_libc = 0;
    if (!p) return NULL;
    if (nsize > old && s->retry_pending) {
        if (ptr == s->retry_ptr && nsize == s->retry_size && s->mem_refusals > 0) s->mem_refusals--;
        s->retry_pending = 0;
    }
    s->mem_used = s->mem_used - old + nsize;
    if (s->mem_used > s->mem_peak) s->mem_peak = s->mem_used;
    return p;
}

static int mw_panic(lua_State *L) {
    const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
    fprintf(stderr, "moonwatch: unprotected Lua error (a bug in moonwatch): %s\n", m);
    abort();
}

/* ---------------------------------------------------------------------------------------------
 * Ending a call: the instruction budget, the watchdog's interrupt and the memory cap.
 *
 * Where the running code can yield, the hook yields: nothing in the script can catch a yield, and
 * the thread is dropped, never resumed. Where it cannot (inside a C function such as table.sort's
 * comparator, a __tostring called by tostring, a message handler), it raises `fatal_key` (a light
 * userdata: no Lua code can make one), and the pcall/xpcall replacements re-raise it. Once the call
 * is over the hook fires before every instruction, so no signature code runs after the end: not a
 * message handler (the xpcall replacement skips it), not a __close method met while unwinding.
 *
 * Lua turns hooks off while a hook runs and turns them back on only when the hook returns or a
 * pcall catches the error; a message handler called for an error raised from the hook would run
 * with no hook at all (an endless handler would hang the call), and so would every later call on
 * a thread whose error ended its resume. Hence the handler is skipped, and that thread dropped.
 */
static const char fatal_key = 0;

static int is_fatal_error(lua_State *L, int idx) {
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == (void *)&fatal_key;
}

static int raise_fatal(lua_State *L) {
    lua_pushlightuserdata(L, (void *)&fatal_key);
    return lua_error(L);
}

static void mw_hook(lua_State *L, lua_Debug *ar);

static void set_hook_period(mw_sandbox *s, int period) {
    if (s->co) lua_sethook(s->co, mw_hook, LUA_MASKCOUNT, period);
    if (s->L) lua_sethook(s->L, mw_hook, LUA_MASKCOUNT, period);
}

/* Also from the allocator and the watchdog's signal handler (lua_sethook is signal-safe). */
static void hook_hot(mw_sandbox *s) {
    s->hook_hot = 1;
    set_hook_period(s, 1);
}

static void mw_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    mw_sandbox *s = mw_of(L);
    if (s->interrupted) {
        s->killed = 1;
        s->timed_out = 1;
    } else if (!s->killed && s->mem_refusals == 0) {
        s->count += s->hook_hot ? 1 : MW_HOOK_STEP;
        if (s->count <= s->budget) {
            if (s->hook_hot) {   /* a refusal that Lua's emergency collection made good */
                s->hook_hot = 0;
                set_hook_period(s, MW_HOOK_STEP);
            }
            return;
        }
        s->killed = 1;
    }
    if (!s->hook_hot) hook_hot(s);
    if (lua_isyieldable(L)) lua_yield(L, 0);
    (void)raise_fatal(L);
}

/* From the watchdog's signal handler, on the thread running the call. */
void mw_sandbox_interrupt(mw_sandbox *s) {
    s->interrupted = 1;
    hook_hot(s);
}

int mw_refuse_memory(lua_State *L) {
    mw_sandbox *s = mw_of(L);
    s->mem_refusals++;
    s->retry_pending = 0;
    hook_hot(s);
    return raise_fatal(L);
}

/* Between calls: back to the normal hook period after an interrupt. */
static void calm_hook(mw_sandbox *s) {
    s->interrupted = 0;
    s->timed_out = 0;
    if (!s->hook_hot) return;
    s->hook_hot = 0;
    set_hook_period(s, MW_HOOK_STEP);
}

/* ---------------------------------------------------------------------------------------------
 * Every entry point runs its body through here: the watchdog sees the call, and a call stuck
 * inside a C function lands back here (siglongjmp from the watchdog's handler) instead of
 * holding the thread forever. Only C frames lie between this frame and the stuck code.
 */
typedef mw_status (*guarded_body)(mw_sandbox *s, void *arg);
static void set_error(mw_sandbox *s, const char *msg, size_t len);

static mw_status abandoned_error(mw_sandbox *s) {
    const char *m = "the signature was abandoned after a call stuck inside a C function";
    set_error(s, m, strlen(m));
    return MW_ERR_TIMEOUT;
}

static mw_status guarded(mw_sandbox *s, const char *what, guarded_body body, void *arg) {
    if (s->abandoned) return abandoned_error(s);
    mw_slot *sl = mw_slot_self();
    if (!sl || (atomic_load_explicit(&sl->gen, memory_order_relaxed) & 1)) return body(s, arg);   /* nested: the outer call is watched */
    calm_hook(s);
    uint64_t g = atomic_load_explicit(&sl->gen, memory_order_relaxed);
    sl->sandbox = s;
    sl->limit_ms = s->lim.call_timeout_ms > 0 ? s->lim.call_timeout_ms : INT64_MAX / 2000000;
    if (sigsetjmp(sl->escape, 0) != 0) {
        /* The watchdog jumped here out of a call stuck in C. */
        atomic_store_explicit(&sl->gen, g + 2, memory_order_release);
        mw_slot_landed();
        s->abandoned = 1;
        s->killed = 1;
        s->timed_out = 1;
        char tmp[240];
        if (mw_watchdog_stopping())
            snprintf(tmp, sizeof tmp, "%s was stuck inside a C function at shutdown and was abandoned "
                     "(the watchdog stopped it; the signature's state is lost)", what);
        else
            snprintf(tmp, sizeof tmp, "%s was stuck inside a C function for more than %lld ms and was abandoned "
                     "(the watchdog stopped it; the signature's state is lost)", what, (long long)s->lim.call_timeout_ms);
        set_error(s, tmp, strlen(tmp));
        return MW_ERR_TIMEOUT;
    }
    sl->armed = 1;
    atomic_store_explicit(&sl->gen, g + 1, memory_order_release);
    mw_status r = body(s, arg);
    atomic_store_explicit(&sl->gen, g + 2, memory_order_release);
    sl->armed = 0;
    if (s->timed_out && r != MW_OK) {
        char tmp[200];
        if (mw_watchdog_stopping()) snprintf(tmp, sizeof tmp, "%s was still running at shutdown and was stopped", what);
        else snprintf(tmp, sizeof tmp, "%s ran for more than %lld ms and was stopped by the watchdog", what,
                      (long long)s->lim.call_timeout_ms);
        set_error(s, tmp, strlen(tmp));
        r = MW_ERR_TIMEOUT;
    }
    return r;
}

int mw_sandbox_abandoned(mw_sandbox *s) { return s->abandoned; }

static int finish_pcall(lua_State *L, int status, lua_KContext extra) {
    if (status != LUA_OK && status != LUA_YIELD) {
        if (mw_call_is_over(mw_of(L))) return raise_fatal(L);   /* keep unwinding, whatever was caught */
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int mw_pcall(lua_State *L) {
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
    return finish_pcall(L, status, 0);
}

/* The message handler xpcall installs: the signature's handler (upvalue 1), unless the call is
 * over. It runs inside the error (not yieldable), possibly with hooks off (see mw_hook). */
static int guarded_handler(lua_State *L) {
    if (mw_call_is_over(mw_of(L))) return 1;   /* the error object passes through untouched */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int mw_xpcall(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2);
    int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
    return finish_pcall(L, status, 2);
}

/* print() goes to the host's log, capped per call. */
#define MW_LOG_CAP (64u << 10)
#define MW_LOG_LINE_CAP 2048
#define MW_DESCRIBE_CAP (1 << 20)
static int mw_print(lua_State *L) {
    mw_sandbox *s = mw_of(L);
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *line = lua_tolstring(L, -1, &len);
    if (len > MW_LOG_LINE_CAP) {   /* one print() is one line of the host's log */
        len = MW_LOG_LINE_CAP;
        while (len > 0 && ((unsigned char)line[len] & 0xC0) == 0x80) len--;
    }
    if (s->log.len + len + 1 > MW_LOG_CAP) { s->log_dropped++; return 0; }
    mwbuf_put(&s->log, line, len);
    mwbuf_putc(&s->log, 0);
    s->log_lines++;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * report{ message = "...", severity = "high", data = { ... } }
 */
#define MW_DEDUP_KEY_CAP 512
static const char *const severities[] = { "info", "low", "medium", "high", "critical", NULL };

static int mw_report(lua_State *L) {
    mw_sandbox *s = mw_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushliteral(L, "message");
    if (lua_rawget(L, 1) != LUA_TSTRING) return luaL_error(L, "report{}: 'message' must be a string");
    lua_pushliteral(L, "severity");
    int st = lua_rawget(L, 1);
    if (st != LUA_TNIL) {
        if (st != LUA_TSTRING) return luaL_error(L, "report{}: 'severity' must be a string");
        const char *sv = lua_tostring(L, 3);
        int ok = 0;
        for (int k = 0; severities[k]; k++) if (strcmp(sv, severities[k]) == 0) ok = 1;
        if (!ok) return luaL_error(L, "report{}: severity '%s' is not one of info, low, medium, high, critical", sv);
    }
    lua_pushliteral(L, "data");
    int dt = lua_rawget(L, 1);
    if (dt != LUA_TNIL && dt != LUA_TTABLE) return luaL_error(L, "report{}: 'data' must be a table");
    lua_pushliteral(L, "dedup");
    int kt = lua_rawget(L, 1);   /* 5: the signature's own deduplication key */
    if (kt != LUA_TNIL && kt != LUA_TSTRING && kt != LUA_TNUMBER) return luaL_error(L, "report{}: 'dedup' must be a string");

    if (s->nfindings >= s->lim.max_findings_per_call) { s->findings_dropped++; return 0; }

    /* Serialize into a scratch buffer first so a failure leaves no half-written finding. The
     * buffer stops growing at the cap: what a signature reports never costs the host more. */
    mwbuf *data = &s->scratch;
    mwbuf_limit(data, s->lim.max_finding_bytes);
    if (dt == LUA_TTABLE) mw_json_value(L, 4, data, 0, 0); else mwbuf_puts(data, "{}");
    int cut = 0;
    if (data->over) {
        char tmp[96];
        snprintf(tmp, sizeof tmp, "{\"truncated\":true,\"limit_bytes\":%zu}", s->lim.max_finding_bytes);
        mwbuf_limit(data, 0);
        mwbuf_puts(data, tmp);
        cut = 1;
    }
    if (s->nfindings == s->findings_cap) {
        size_t cap = s->findings_cap ? s->findings_cap * 2 : 8;
        mw_finding_rec *g = realloc(s->findings, cap * sizeof *g);
        if (!g) { s->findings_dropped++; return 0; }
        s->findings = g; s->findings_cap = cap;
    }
    mw_finding_rec *r = &s->findings[s->nfindings++];
    size_t ml, sl = 0;
    const char *m = lua_tolstring(L, 2, &ml);
    const char *sv = st == LUA_TSTRING ? lua_tolstring(L, 3, &sl) : "";
    char note[64];
    size_t notelen = 0;
    if (ml > s->lim.max_message_bytes) {
        size_t keep = s->lim.max_message_bytes;
        while (keep > 0 && ((unsigned char)m[keep] & 0xC0) == 0x80) keep--;   /* never split a character */
        notelen = (size_t)snprintf(note, sizeof note, " [%zu bytes cut]", ml - keep);
        ml = keep;
        cut = 1;
    }
    if (cut) s->findings_cut++;
    r->msg_off = s->findings_arena.len; r->msg_len = ml + notelen; mwbuf_put(&s->findings_arena, m, ml);
    if (notelen) mwbuf_put(&s->findings_arena, note, notelen);
    r->sev_off = s->findings_arena.len; r->sev_len = sl; mwbuf_put(&s->findings_arena, sv, sl);
    r->data_off = s->findings_arena.len; r->data_len = data->len; mwbuf_put(&s->findings_arena, data->p ? data->p : "", data->len);
    size_t kl = 0;
    const char *k = kt != LUA_TNIL ? lua_tolstring(L, 5, &kl) : "";
    if (kl > MW_DEDUP_KEY_CAP) kl = MW_DEDUP_KEY_CAP;   /* a key groups findings; its head is enough */
    r->has_dedup = kt != LUA_TNIL;
    r->dedup_off = s->findings_arena.len; r->dedup_len = kl; mwbuf_put(&s->findings_arena, k, kl);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * State creation.
 */
/* A fresh thread for on_event/on_finish, replacing the current one. Threads inherit the main
 * thread's hook. Runs protected: it allocates. */
static int new_call_thread(lua_State *L) {
    mw_sandbox *s = mw_of(L);
    lua_State *co = lua_newthread(L);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    int old = s->co_ref;
    s->co = co;
    s->co_ref = ref;
    if (old != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, old);
    return 0;
}

static int open_libs(lua_State *L) {
    static const luaL_Reg libs[] = {
        { LUA_GNAME, luaopen_base }, { LUA_STRLIBNAME, luaopen_string }, { LUA_TABLIBNAME, luaopen_table },
        { LUA_MATHLIBNAME, luaopen_math }, { LUA_UTF8LIBNAME, luaopen_utf8 }, { NULL, NULL },
    };
    for (const luaL_Reg *l = libs; l->func; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    /* Whatever loads code, touches the collector or reaches the host is gone. */
    static const char *const removed[] = { "load", "loadfile", "dofile", "require", "collectgarbage", "loadstring", NULL };
    for (int k = 0; removed[k]; k++) { lua_pushnil(L); lua_setglobal(L, removed[k]); }
    lua_pushcfunction(L, mw_pcall); lua_setglobal(L, "pcall");
    lua_pushcfunction(L, mw_xpcall); lua_setglobal(L, "xpcall");
    lua_pushcfunction(L, mw_print); lua_setglobal(L, "print");
    lua_pushcfunction(L, mw_report); lua_setglobal(L, "report");
    mw_install_guards(L);

    mw_sandbox *s = mw_of(L);
    lua_newtable(L); s->state_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L); s->event_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L); s->process_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L); s->kinds_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L); s->changed_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L); s->late_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L); s->truncated_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* Field names as Lua strings, fetched by index while building events (no hashing per event). */
    lua_createtable(L, K_COUNT, 0);
    for (int k = 0; k < K_COUNT; k++) { lua_pushstring(L, key_names[k]); lua_rawseti(L, -2, k + 1); }
    s->keys_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return new_call_thread(L);
}

/* Error texts come from the signature (error("...") with any string): one line's worth is kept. */
#define MW_ERROR_CAP 2048
static void set_error(mw_sandbox *s, const char *msg, size_t len) {
    s->err.len = 0;
    if (len > MW_ERROR_CAP) {
        size_t keep = MW_ERROR_CAP;
        while (keep > 0 && ((unsigned char)msg[keep] & 0xC0) == 0x80) keep--;
        char note[48];
        int n = snprintf(note, sizeof note, " [%zu bytes cut]", len - keep);
        mwbuf_put(&s->err, msg, keep);
        mwbuf_put(&s->err, note, (size_t)n);
        return;
    }
    mwbuf_put(&s->err, msg, len);
}

/* Pops the error object on top of L (or of a thread) into s->err. */
static void take_error(mw_sandbox *s, lua_State *T) {
    if (is_fatal_error(T, -1)) {
        const char *m = s->mem_refusals > 0 && !s->killed ? "not enough memory" : "the call was stopped";
        set_error(s, m, strlen(m));
    } else if (lua_type(T, -1) == LUA_TSTRING) {
        size_t n;
        const char *m = lua_tolstring(T, -1, &n);
        set_error(s, m, n);
    } else {
        char tmp[80];
        snprintf(tmp, sizeof tmp, "(error object is a %s value)", lua_typename(T, lua_type(T, -1)));
        set_error(s, tmp, strlen(tmp));
    }
    lua_pop(T, 1);
}

/* Runs f(ud) on the main thread in protected mode; on error fills s->err. */
static int run_protected(mw_sandbox *s, lua_CFunction f, void *ud) {
    lua_State *L = s->L;
    int top = lua_gettop(L);
    lua_pushcfunction(L, f);
    lua_pushlightuserdata(L, ud);
    int st = lua_pcall(L, 1, 0, 0);
    if (st != LUA_OK) take_error(s, L);
    lua_settop(L, top);
    return st;
}

static int protected_open(lua_State *L) { (void)lua_touserdata(L, 1); lua_settop(L, 0); return open_libs(L); }

mw_sandbox *mw_sandbox_new(const mw_limits *limits) {
    mw_sandbox *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->lim = limits ? *limits : mw_default_limits();
    s->sig_ref = s->on_event_ref = s->on_finish_ref = s->co_ref = LUA_NOREF;
    lua_State *L = lua_newstate(mw_alloc, s);
    if (!L) { free(s); return NULL; }
    s->L = L;
    *(mw_sandbox **)lua_getextraspace(L) = s;
    lua_atpanic(L, mw_panic);
    lua_sethook(L, mw_hook, LUA_MASKCOUNT, MW_HOOK_STEP);
    s->budget = s->lim.instructions_at_load;
    if (run_protected(s, protected_open, NULL) != LUA_OK) {
        lua_close(L);
        mwbuf_free(&s->err);
        free(s);
        return NULL;
    }
    return s;
}

void mw_sandbox_free(mw_sandbox *s) {
    if (!s) return;
    /* An abandoned state may be mid-update (a table half resized, a collection half done):
     * walking it to free it could crash, so its memory (at most the cap) stays allocated. */
    if (!s->abandoned) lua_close(s->L);
    mwbuf_free(&s->err); mwbuf_free(&s->describe); mwbuf_free(&s->log); mwbuf_free(&s->findings_arena);
    mwbuf_free(&s->scratch);
    free(s->findings);
    free(s);
}

/* ---------------------------------------------------------------------------------------------
 * Loading.
 */
static int params_too_early(lua_State *L) {
    luaL_where(L, 1);   /* the code that read params (metamethods are called from it directly) */
    lua_pushstring(L, "params are set once the file has returned its table: read them inside on_event or on_finish");
    lua_concat(L, 2);
    return lua_error(L);
}

/* mw.errno(ret) -> "ENOSYS" for -38, nil for a return value that is not a failure. */
int mw_lua_errno(lua_State *L) {
    lua_Integer ret = luaL_checkinteger(L, 1);
    const char *name = ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : NULL;
    if (name) lua_pushstring(L, name); else lua_pushnil(L);
    return 1;
}

typedef struct load_args { const char *src; size_t len; const char *name; int syntax_failed; int not_table; const char *lib; } load_args;

static int protected_load(lua_State *L) {
    load_args *a = lua_touserdata(L, 1);
    mw_sandbox *s = mw_of(L);
    lua_settop(L, 0);
    if (luaL_loadbufferx(L, a->src, a->len, a->name, "t") != LUA_OK) { a->syntax_failed = 1; return lua_error(L); }
    if (!a->lib) {
        /* A signature's parameters are only known once its table (their defaults) exists. */
        lua_createtable(L, 0, 0);
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, params_too_early);
        lua_setfield(L, -2, "__index");
        lua_setmetatable(L, -2);
        lua_setglobal(L, "params");
    }
    lua_call(L, 0, 1);
    if (lua_type(L, 1) != LUA_TTABLE) {
        a->not_table = 1;
        return luaL_error(L, "%s: the file must return a table%s (it returned %s)", a->name[0] == '@' || a->name[0] == '=' ? a->name + 1 : a->name,
                          a->lib ? "" : " describing the signature", luaL_typename(L, 1));
    }
    if (a->lib) {
        if (strcmp(a->lib, "mw") == 0) {
            /* Host lookups live in C and join the helper library's table. */
            lua_pushcfunction(L, mw_lua_process); lua_setfield(L, 1, "process");
            lua_pushcfunction(L, mw_lua_ancestors); lua_setfield(L, 1, "ancestors");
            lua_pushcfunction(L, mw_lua_identity); lua_setfield(L, 1, "identity");
            lua_pushcfunction(L, mw_lua_host_mntns); lua_setfield(L, 1, "host_mntns");
            lua_pushcfunction(L, mw_lua_errno); lua_setfield(L, 1, "errno");
        }
        lua_setglobal(L, a->lib);
        return 0;
    }
    lua_pushvalue(L, 1);
    s->sig_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushliteral(L, "on_event");
    if (lua_rawget(L, 1) == LUA_TFUNCTION) s->on_event_ref = luaL_ref(L, LUA_REGISTRYINDEX); else lua_pop(L, 1);
    lua_pushliteral(L, "on_finish");
    if (lua_rawget(L, 1) == LUA_TFUNCTION) s->on_finish_ref = luaL_ref(L, LUA_REGISTRYINDEX); else lua_pop(L, 1);
    return 0;
}

static mw_status status_of(mw_sandbox *s, int st) {
    if (s->killed) return MW_ERR_BUDGET;
    if (st == LUA_ERRMEM || s->mem_refusals > 0) return MW_ERR_MEMORY;
    return MW_ERR_RUNTIME;
}

static mw_status load_body(mw_sandbox *s, void *arg) {
    load_args *a = arg;
    const char *chunkname = a->name;
    s->count = 0; s->budget = s->lim.instructions_at_load; s->killed = 0; s->mem_refusals = 0; s->retry_pending = 0;
    int st = run_protected(s, protected_load, a);
    if (st == LUA_OK) return MW_OK;
    if (s->timed_out) return MW_ERR_TIMEOUT;
    if (s->killed) {
        char tmp[160];
        snprintf(tmp, sizeof tmp, "%s: running the file used more than %lld instructions", chunkname,
                 (long long)s->lim.instructions_at_load);
        set_error(s, tmp, strlen(tmp));
        return MW_ERR_BUDGET;
    }
    if (a->syntax_failed) return MW_ERR_SYNTAX;
    if (a->not_table) return MW_ERR_CONTRACT;
    return status_of(s, st);
}

static mw_status load_common(mw_sandbox *s, const char *src, size_t len, const char *chunkname, const char *lib) {
    load_args a = { src, len, chunkname, 0, 0, lib };
    return guarded(s, "running the file", load_body, &a);
}

mw_status mw_sandbox_load(mw_sandbox *s, const char *src, size_t len, const char *chunkname) {
    return load_common(s, src, len, chunkname, NULL);
}

mw_status mw_sandbox_install_library(mw_sandbox *s, const char *name, const char *src, size_t len, const char *chunkname) {
    return load_common(s, src, len, chunkname, name);
}

static int protected_describe(lua_State *L) {
    mw_sandbox *s = mw_of(L);
    mwbuf_limit(&s->describe, MW_DESCRIBE_CAP);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->sig_ref);
    mw_json_value(L, -1, &s->describe, 0, 1);
    if (s->describe.over) return luaL_error(L, "the signature's table is larger than %d bytes as JSON", MW_DESCRIBE_CAP);
    return 0;
}

static mw_status describe_body(mw_sandbox *s, void *arg) {
    (void)arg;
    s->budget = INT64_MAX; s->killed = 0;
    return run_protected(s, protected_describe, NULL) == LUA_OK ? MW_OK : MW_ERR_RUNTIME;
}

const char *mw_sandbox_describe(mw_sandbox *s, size_t *len) {
    *len = 0;
    if (s->abandoned || s->sig_ref == LUA_NOREF) return NULL;
    if (guarded(s, "describing the signature", describe_body, NULL) != MW_OK) return NULL;
    *len = s->describe.len;
    return s->describe.p;
}

typedef struct field_query { const char *field; int result; } field_query;
static int protected_has_function(lua_State *L) {
    field_query *q = lua_touserdata(L, 1);
    mw_sandbox *s = mw_of(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->sig_ref);
    lua_pushstring(L, q->field);
    q->result = lua_rawget(L, -2) == LUA_TFUNCTION;
    return 0;
}

int mw_sandbox_has_function(mw_sandbox *s, const char *field) {
    if (s->abandoned || s->sig_ref == LUA_NOREF) return 0;
    field_query q = { field, 0 };
    run_protected(s, protected_has_function, &q);
    return q.result;
}

void mw_sandbox_set_proctable(mw_sandbox *s, mw_proctable *t) { s->procs = t; }

static void push_node(lua_State *L, const mw_tape *t, uint32_t *i, int depth);

typedef struct global_args { const char *name; const mw_tape *value; } global_args;
static int protected_set_global(lua_State *L) {
    global_args *a = lua_touserdata(L, 1);
    uint32_t i = 0;
    if (a->value->nnodes == 0) lua_pushnil(L); else push_node(L, a->value, &i, 0);
    lua_setglobal(L, a->name);
    return 0;
}

mw_status mw_sandbox_set_global(mw_sandbox *s, const char *name, const mw_tape *value) {
    if (s->abandoned) return abandoned_error(s);
    global_args a = { name, value };
    s->mem_refusals = 0; s->retry_pending = 0;
    int st = run_protected(s, protected_set_global, &a);
    return st == LUA_OK ? MW_OK : (st == LUA_ERRMEM || s->mem_refusals > 0 ? MW_ERR_MEMORY : MW_ERR_RUNTIME);
}

/* ---------------------------------------------------------------------------------------------
 * Events. The event table, its process table and each kind's args/exit_args tables are reused
 * per sandbox (signatures must not keep the event); every key is rewritten on every event.
 */
/* Cached key K (registry table at stack index `keys`) = value on top. */
#define SETK(t, k) do { lua_rawgeti(L, keys, (k) + 1); lua_insert(L, -2); lua_rawset(L, (t)); } while (0)

static void push_node(lua_State *L, const mw_tape *t, uint32_t *i, int depth) {
    if (*i >= t->nnodes || depth > 64) luaL_error(L, "moonwatch: malformed event tape");
    const mw_node *n = &t->nodes[(*i)++];
    luaL_checkstack(L, 4, "event nesting");
    switch (n->type) {
    case MW_BOOL: lua_pushboolean(L, n->u.i != 0); return;
    case MW_INT: lua_pushinteger(L, n->u.i); return;
    case MW_DOUBLE: lua_pushnumber(L, n->u.d); return;
    case MW_STRING:
        if (n->u.off + n->len > t->nbytes) luaL_error(L, "moonwatch: malformed event tape");
        lua_pushlstring(L, t->bytes + n->u.off, n->len);
        return;
    case MW_ARRAY:
        lua_createtable(L, (int)n->len, 0);
        for (uint32_t k = 1; k <= n->len; k++) { push_node(L, t, i, depth + 1); lua_rawseti(L, -2, k); }
        return;
    case MW_OBJECT:
        lua_createtable(L, 0, (int)n->len);
        for (uint32_t k = 0; k < n->len; k++) {
            if (*i >= t->nnodes) luaL_error(L, "moonwatch: malformed event tape");
            const mw_node *c = &t->nodes[*i];
            if (c->key_off + c->key_len > t->nbytes) luaL_error(L, "moonwatch: malformed event tape");
            lua_pushlstring(L, t->bytes + c->key_off, c->key_len);
            push_node(L, t, i, depth + 1);
            lua_rawset(L, -3);
        }
        return;
    default:
        lua_pushnil(L);
        return;
    }
}

/* Fetches (creating on first use) this sandbox's reused tables for a kind:
 * {args, exit_args, argument names as Lua strings}. */
static void kind_tables(lua_State *L, mw_sandbox *s, uint32_t kind) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->kinds_ref);
    if (lua_rawgeti(L, -1, kind + 1) != LUA_TTABLE) {
        lua_pop(L, 1);
        const kind_info *k = &kinds[kind];
        lua_createtable(L, 3, 0);
        lua_createtable(L, 0, (int)k->nargs); lua_rawseti(L, -2, 1);
        lua_createtable(L, 0, 2); lua_rawseti(L, -2, 2);
        lua_createtable(L, (int)k->nargs, 0);
        for (uint32_t a = 0; a < k->nargs; a++) { lua_pushstring(L, k->args[a]); lua_rawseti(L, -2, a + 1); }
        lua_rawseti(L, -2, 3);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, kind + 1);
    }
    lua_remove(L, -2);
}

/* event[key] = the names (stack index 7) of the arguments in `bits`, in the reused list table at
 * registry `ref` (whose previous length is *count). Keys table at stack index 1, event at 2. */
static void name_list(lua_State *L, mw_sandbox *s, int ref, int *count, uint64_t bits, uint32_t nargs, int key) {
    (void)s;
    const int keys = 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    int list = lua_gettop(L);
    int n = 0;
    for (uint32_t a = 0; a < nargs && a < 64; a++) {
        if (bits & ((uint64_t)1 << a)) { lua_rawgeti(L, 7, a + 1); lua_rawseti(L, list, ++n); }
    }
    for (int j = n + 1; j <= *count; j++) { lua_pushnil(L); lua_rawseti(L, list, j); }
    *count = n;
    SETK(2, key);
}

static int protected_build(lua_State *L) {
    const mw_tape *t = lua_touserdata(L, 1);
    mw_sandbox *s = mw_of(L);
    if (t->kind >= MW_MAX_KINDS || !kinds[t->kind].name) return luaL_error(L, "moonwatch: unregistered event kind %d", (int)t->kind);
    const kind_info *k = &kinds[t->kind];
    if (t->comm_off + t->comm_len > t->nbytes || t->exe_off + t->exe_len > t->nbytes ||
        t->container_off + t->container_len > t->nbytes || t->exe_fs_off + t->exe_fs_len > t->nbytes)
        return luaL_error(L, "moonwatch: malformed event tape");
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->keys_ref);                   /* 1: cached keys */
    const int keys = 1;

    lua_rawgeti(L, LUA_REGISTRYINDEX, s->event_ref);                  /* 2: event */
    lua_pushstring(L, k->name); SETK(2, K_NAME);
    lua_pushinteger(L, (lua_Integer)t->time); SETK(2, K_TIME);
    lua_pushinteger(L, t->ret); SETK(2, K_RET);

    lua_rawgeti(L, LUA_REGISTRYINDEX, s->process_ref);                /* 3: process */
    lua_pushinteger(L, t->pid); SETK(3, K_PID);
    lua_pushinteger(L, t->tid); SETK(3, K_TID);
    lua_pushinteger(L, t->ppid); SETK(3, K_PPID);
    lua_pushinteger(L, t->uid); SETK(3, K_UID);
    lua_pushinteger(L, t->gid); SETK(3, K_GID);
    lua_pushlstring(L, t->bytes + t->comm_off, t->comm_len); SETK(3, K_COMM);
    lua_pushlstring(L, t->bytes + t->exe_off, t->exe_len); SETK(3, K_EXE);
    lua_pushlstring(L, t->bytes + t->container_off, t->container_len); SETK(3, K_CONTAINER);
    lua_pushinteger(L, (lua_Integer)t->cgroup); SETK(3, K_CGROUP);
    lua_pushinteger(L, (lua_Integer)t->mntns); SETK(3, K_MNTNS);
    lua_pushinteger(L, (lua_Integer)t->pidns); SETK(3, K_PIDNS);
    lua_pushboolean(L, t->compat != 0); SETK(3, K_COMPAT);
    lua_pushinteger(L, t->bits); SETK(3, K_BITS);
    lua_pushinteger(L, (lua_Integer)t->exe_ino); SETK(3, K_EXE_INO);
    lua_pushinteger(L, (lua_Integer)t->exe_dev); SETK(3, K_EXE_DEV);
    lua_pushlstring(L, t->bytes + t->exe_fs_off, t->exe_fs_len); SETK(3, K_EXE_FS);
    lua_pushvalue(L, 3); SETK(2, K_PROCESS);

    kind_tables(L, s, t->kind);                                        /* 4: {args, exit_args, names} */
    lua_rawgeti(L, 4, 1);                                              /* 5: args */
    lua_rawgeti(L, 4, 2);                                              /* 6: exit_args */
    lua_rawgeti(L, 4, 3);                                              /* 7: names */
    uint32_t i = 0;
    for (uint32_t a = 0; a < k->nargs; a++) {
        lua_rawgeti(L, 7, a + 1);
        push_node(L, t, &i, 0);
        lua_rawset(L, 5);
    }
    /* Most events have no exit re-reads: leave an already empty exit_args table alone. */
    if (t->has_exit || s->exit_dirty[t->kind]) {
        for (uint32_t a = 0; a < k->nargs; a++) {
            lua_rawgeti(L, 7, a + 1);
            push_node(L, t, &i, 0);
            lua_rawset(L, 6);
        }
        s->exit_dirty[t->kind] = t->has_exit != 0;
    }
    lua_pushvalue(L, 5); SETK(2, K_ARGS);
    lua_pushvalue(L, 6); SETK(2, K_EXIT_ARGS);

    name_list(L, s, s->changed_ref, &s->changed_count, t->changed, k->nargs, K_CHANGED);
    name_list(L, s, s->late_ref, &s->late_count, t->late, k->nargs, K_LATE);
    name_list(L, s, s->truncated_ref, &s->truncated_count, t->truncated, k->nargs, K_TRUNCATED);
    if (t->via == MW_VIA_SOCKETCALL) lua_pushliteral(L, "socketcall");
    else if (t->via == MW_VIA_IO_URING) lua_pushliteral(L, "io_uring");
    else lua_pushnil(L);
    SETK(2, K_VIA);
    return 0;
}

static void reset_call(mw_sandbox *s) {
    s->count = 0; s->budget = s->lim.instructions_per_call; s->killed = 0; s->mem_refusals = 0; s->retry_pending = 0;
}

/* After a call that did not end normally, its thread is dropped for a new one (see mw_hook):
 * resetting it would run its pending __close methods, signature code, after the call is over,
 * and a thread whose resume ended in an error raised by the hook never runs the hook again.
 * When even a thread does not fit under the cap, whatever the dropped one held is collected
 * first; failing that, the sandbox has no thread and the next call tries again. */
static int drop_call_thread(lua_State *L) {
    mw_sandbox *s = mw_of(L);
    s->co = NULL;
    luaL_unref(L, LUA_REGISTRYINDEX, s->co_ref);
    s->co_ref = LUA_NOREF;
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}

static int call_quietly(mw_sandbox *s, lua_CFunction f) {
    int top = lua_gettop(s->L);
    lua_pushcfunction(s->L, f);
    int st = lua_pcall(s->L, 0, 0, 0);
    lua_settop(s->L, top);
    return st;
}

static void replace_call_thread(mw_sandbox *s) {
    if (call_quietly(s, new_call_thread) == LUA_OK) return;
    if (s->co) call_quietly(s, drop_call_thread);
    call_quietly(s, new_call_thread);
}

/* Pushes the function `ref` on the call thread, or says why there is none. */
static mw_status start_call(mw_sandbox *s, int ref, const char *what) {
    if (!s->co) replace_call_thread(s);
    if (!s->co) {
        char tmp[160];
        snprintf(tmp, sizeof tmp, "%s could not start: the signature's memory cap of %zu bytes leaves no room for a call",
                 what, s->lim.memory_bytes);
        set_error(s, tmp, strlen(tmp));
        return MW_ERR_MEMORY;
    }
    lua_rawgeti(s->co, LUA_REGISTRYINDEX, ref);
    return MW_OK;
}

/* co holds: function, nargs arguments. */
static mw_status resume_call(mw_sandbox *s, int nargs, const char *what) {
    int nres = 0;
    int st = lua_resume(s->co, s->L, nargs, &nres);
    if (st == LUA_OK) { lua_settop(s->co, 0); return MW_OK; }
    if (st == LUA_YIELD) {   /* only the hook yields */
        lua_pushlightuserdata(s->co, (void *)&fatal_key);
        st = LUA_ERRRUN;
    }
    take_error(s, s->co);
    mw_status r = status_of(s, st);
    if (r == MW_ERR_BUDGET) {
        char tmp[160];
        snprintf(tmp, sizeof tmp, "%s used more than its budget of %lld instructions and was stopped", what,
                 (long long)s->lim.instructions_per_call);
        set_error(s, tmp, strlen(tmp));
    } else if (r == MW_ERR_MEMORY && s->mem_refusals > 0) {
        char tmp[200];
        snprintf(tmp, sizeof tmp, "%s hit the memory cap of %zu bytes (%s)", what, s->lim.memory_bytes,
                 s->err.p ? s->err.p : "not enough memory");
        set_error(s, tmp, strlen(tmp));
    }
    replace_call_thread(s);
    return r;
}

static mw_status on_event_body(mw_sandbox *s, void *arg) {
    const mw_tape *tape = arg;
    reset_call(s);
    lua_State *L = s->L;
    /* Build on the main thread under pcall, leaving the event table on its stack. */
    lua_pushcfunction(L, protected_build);
    lua_pushlightuserdata(L, (void *)tape);
    int st = lua_pcall(L, 1, 0, 0);
    if (st != LUA_OK) { take_error(s, L); return status_of(s, st); }
    mw_status r = start_call(s, s->on_event_ref, "on_event");
    if (r != MW_OK) return r;
    lua_rawgeti(s->co, LUA_REGISTRYINDEX, s->event_ref);
    lua_rawgeti(s->co, LUA_REGISTRYINDEX, s->state_ref);
    return resume_call(s, 2, "on_event");
}

mw_status mw_sandbox_on_event(mw_sandbox *s, const mw_tape *tape) {
    if (s->on_event_ref == LUA_NOREF && !s->abandoned) { set_error(s, "signature has no on_event function", 34); return MW_ERR_CONTRACT; }
    return guarded(s, "on_event", on_event_body, (void *)tape);
}

static mw_status on_finish_body(mw_sandbox *s, void *arg) {
    (void)arg;
    reset_call(s);
    mw_status r = start_call(s, s->on_finish_ref, "on_finish");
    if (r != MW_OK) return r;
    lua_rawgeti(s->co, LUA_REGISTRYINDEX, s->state_ref);
    return resume_call(s, 1, "on_finish");
}

mw_status mw_sandbox_on_finish(mw_sandbox *s) {
    if (s->on_finish_ref == LUA_NOREF && !s->abandoned) return MW_OK;
    return guarded(s, "on_finish", on_finish_body, NULL);
}

const char *mw_sandbox_error(mw_sandbox *s) { return s->err.p ? s->err.p : ""; }

size_t mw_sandbox_finding_count(mw_sandbox *s) { return s->nfindings; }

mw_finding mw_sandbox_finding(mw_sandbox *s, size_t i) {
    mw_finding f = { "", 0, "", 0, "{}", 2, "", 0, 0 };
    if (i >= s->nfindings) return f;
    const mw_finding_rec *r = &s->findings[i];
    const char *a = s->findings_arena.p;
    f.message = a + r->msg_off; f.message_len = r->msg_len;
    f.severity = a + r->sev_off; f.severity_len = r->sev_len;
    f.data_json = a + r->data_off; f.data_len = r->data_len;
    f.dedup = a + r->dedup_off; f.dedup_len = r->dedup_len; f.has_dedup = r->has_dedup;
    return f;
}

size_t mw_sandbox_findings_dropped(mw_sandbox *s) { return s->findings_dropped; }
size_t mw_sandbox_findings_cut(mw_sandbox *s) { return s->findings_cut; }

void mw_sandbox_clear_findings(mw_sandbox *s) {
    s->nfindings = 0; s->findings_dropped = 0; s->findings_cut = 0; s->findings_arena.len = 0;
}

const char *mw_sandbox_log(mw_sandbox *s, size_t *len, size_t *n) { *len = s->log.len; *n = s->log_lines; return s->log.p; }
void mw_sandbox_clear_log(mw_sandbox *s) { s->log.len = 0; s->log_lines = 0; s->log_dropped = 0; }

size_t mw_sandbox_memory_used(mw_sandbox *s) { return s->mem_used; }
size_t mw_sandbox_memory_peak(mw_sandbox *s) { return s->mem_peak; }
int64_t mw_sandbox_last_instructions(mw_sandbox *s) { return s->count; }
