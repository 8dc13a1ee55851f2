#ifndef MOONWATCH_SANDBOX_INTERNAL_H
#define MOONWATCH_SANDBOX_INTERNAL_H
#include "mw_lua.h"
#include <lua.h>
#include <lauxlib.h>

/* A growable byte buffer outside the Lua heap (findings, logs, errors). */
typedef struct mwbuf { char *p; size_t len, cap; } mwbuf;
int mwbuf_reserve(mwbuf *b, size_t extra);
void mwbuf_put(mwbuf *b, const char *s, size_t n);
void mwbuf_puts(mwbuf *b, const char *s);
void mwbuf_putc(mwbuf *b, char c);
void mwbuf_free(mwbuf *b);

typedef struct mw_finding_rec { size_t msg_off, msg_len, sev_off, sev_len, data_off, data_len; } mw_finding_rec;

struct mw_sandbox {
    lua_State *L;
    lua_State *co;              /* the thread every on_event/on_finish runs on */
    mw_limits lim;
    int co_ref, sig_ref, state_ref, on_event_ref, on_finish_ref, event_ref, process_ref, kinds_ref, changed_ref, keys_ref;
    int changed_count;
    uint8_t exit_dirty[256];    /* per kind: the reused exit_args table holds values */

    /* allocator */
    size_t mem_used, mem_peak;
    int mem_refused;

    /* instruction budget of the current call */
    int64_t count, budget;
    int killed;

    mwbuf err, describe, log, scratch;
    size_t log_lines, log_dropped;

    mwbuf findings_arena;
    mw_finding_rec *findings;
    size_t nfindings, findings_cap, findings_dropped;
};

#define MW_HOOK_STEP 1000

static inline mw_sandbox *mw_of(lua_State *L) { return *(mw_sandbox **)lua_getextraspace(L); }

/* JSON serialization of a Lua value at `idx` (sorted keys, bounded depth). */
void mw_json_value(lua_State *L, int idx, mwbuf *b, int depth, int describe);

/* Guards over stock library functions (string patterns, string.rep, table.move/sort, setmetatable). */
void mw_install_guards(lua_State *L);

/* mw.process / mw.ancestors (proctable.c) */
int mw_lua_process(lua_State *L);
int mw_lua_ancestors(lua_State *L);

#endif
