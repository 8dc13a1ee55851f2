#ifndef MOONWATCH_SANDBOX_INTERNAL_H
#define MOONWATCH_SANDBOX_INTERNAL_H
#include "mw_lua.h"
#include <lua.h>
#include <lauxlib.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

/* A growable byte buffer outside the Lua heap (findings, logs, errors). With a limit, bytes that
 * would pass it are dropped and `over` is set: a value a signature hands over cannot grow host
 * memory past the limit, whatever its shape (a table that contains itself 4096 times, say); and
 * serializing stops after as many table keys as the limit has bytes, so it cannot take long. */
typedef struct mwbuf { char *p; size_t len, cap, limit, keys_left; int over; } mwbuf;
void mwbuf_limit(mwbuf *b, size_t limit);
int mwbuf_reserve(mwbuf *b, size_t extra);
void mwbuf_put(mwbuf *b, const char *s, size_t n);
void mwbuf_puts(mwbuf *b, const char *s);
void mwbuf_putc(mwbuf *b, char c);
void mwbuf_free(mwbuf *b);

typedef struct mw_finding_rec { size_t msg_off, msg_len, sev_off, sev_len, data_off, data_len, dedup_off, dedup_len; int has_dedup; } mw_finding_rec;

struct mw_sandbox {
    lua_State *L;
    lua_State *co;              /* the thread every on_event/on_finish runs on */
    mw_limits lim;
    int co_ref, sig_ref, state_ref, on_event_ref, on_finish_ref, event_ref, process_ref, kinds_ref, changed_ref, keys_ref;
    int changed_count;
    int late_ref, late_count;
    int truncated_ref, truncated_count;
    uint8_t exit_dirty[256];    /* per kind: the reused exit_args table holds values */

    /* allocator. A refusal ends the call (nothing in the script can catch it) unless it was
     * Lua's own retry after an emergency collection that then succeeded: refusals counts the
     * refusals not undone that way; retry_ptr/retry_size name the request Lua may retry. */
    size_t mem_used, mem_peak;
    int mem_refusals;
    int retry_pending;
    void *retry_ptr;
    size_t retry_size;

    /* instruction budget of the current call */
    int64_t count, budget;
    int killed;          /* the budget ran out or the watchdog stopped the call */
    /* watchdog: set from its signal handler; the hook then stops the call */
    volatile sig_atomic_t interrupted;
    int hook_hot;        /* the hook was set to fire every instruction */
    int timed_out;       /* the last call was stopped by the watchdog */
    int abandoned;       /* stuck in C and jumped out of: the lua_State is never touched again */

    mwbuf err, describe, log, scratch;
    size_t log_lines, log_dropped;

    mw_proctable *procs;        /* the session's process table (mw.process), or NULL */

    mwbuf findings_arena;
    mw_finding_rec *findings;
    size_t nfindings, findings_cap, findings_dropped, findings_cut;
};

#define MW_HOOK_STEP 1000

/* One per thread that calls into sandboxes (watchdog.c). */
typedef struct mw_slot {
    _Atomic uint64_t gen;          /* odd while a call runs */
    mw_sandbox *volatile sandbox;  /* the running call's sandbox */
    volatile int64_t limit_ms;     /* its time limit */
    pthread_t thread;
    clockid_t cpu;                 /* the thread's CPU-time clock */
    int has_cpu;
    sigjmp_buf escape;             /* where a stuck call is abandoned to */
    volatile sig_atomic_t armed;
    _Atomic uint64_t target;       /* the generation the watchdog is interrupting */
    _Atomic int stage;
    /* watchdog thread only */
    uint64_t seen_gen;
    int64_t seen_cpu, seen_wall, fired_wall;
    int fired;
    struct mw_slot *next;
} mw_slot;

/* Set while this thread is inside malloc/realloc/free or a libc call that may allocate: the
 * watchdog never jumps out of those (the heap lock would stay taken). */
extern _Thread_local volatile sig_atomic_t mw_tls_in_libc;
mw_slot *mw_slot_self(void);
void mw_slot_landed(void);
int mw_watchdog_stopping(void);
/* Signal handler side: makes the sandbox's running call stop at its next VM instruction. */
void mw_sandbox_interrupt(mw_sandbox *s);

/* The running call is over (budget, watchdog, memory cap): no pcall, xpcall or message handler
 * may catch or outlive it, and the hook stops whatever signature code would run next. */
static inline int mw_call_is_over(const mw_sandbox *s) { return s->killed || s->interrupted || s->mem_refusals > 0; }

/* Refuses an allocation the signature asked for that could never fit under the memory cap
 * (string.rep of 1 TiB), as if the allocator had refused it: the call ends with a memory error. */
int mw_refuse_memory(lua_State *L);

static inline mw_sandbox *mw_of(lua_State *L) { return *(mw_sandbox **)lua_getextraspace(L); }

/* JSON serialization of a Lua value at `idx` (sorted keys, bounded depth). */
void mw_json_value(lua_State *L, int idx, mwbuf *b, int depth, int describe);

/* Guards over stock library functions (string patterns, string.rep, table.move/sort, setmetatable). */
void mw_install_guards(lua_State *L);

/* mw.process / mw.ancestors (proctable.c) */
int mw_lua_process(lua_State *L);
int mw_lua_ancestors(lua_State *L);
int mw_lua_identity(lua_State *L);
int mw_lua_host_mntns(lua_State *L);
/* mw.errno(ret): the errno name of a failed call's return value */
int mw_lua_errno(lua_State *L);

#endif
