#ifndef MOONWATCH_MW_LUA_H
#define MOONWATCH_MW_LUA_H
/*
 * The Lua side of moonwatch signatures.
 *
 * Swift never calls the Lua C API directly: every Lua call, every function Lua can call back
 * (report, print, the instruction hook, the allocator, the pattern guards) and every read of a
 * Lua value lives here, so a Lua error (a longjmp) never unwinds through a Swift frame.
 * Swift hands events over as a flat "tape" of nodes (mw_tape) that C turns into Lua tables
 * inside a protected call.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mw_sandbox mw_sandbox;

typedef struct mw_limits {
    size_t memory_bytes;            /* allocator cap for the whole lua_State */
    int64_t instructions_per_call;  /* VM instruction budget of one on_event/on_finish call */
    int64_t instructions_at_load;   /* budget of running the file itself */
    int64_t call_timeout_ms;        /* CPU time one call (or the load) may take before the watchdog stops it */
    size_t max_findings_per_call;   /* report{} calls beyond this in one call are counted, not kept */
    size_t max_finding_bytes;       /* serialized size cap of one finding's data */
    size_t max_message_bytes;       /* size cap of one finding's message (cut at a UTF-8 boundary) */
} mw_limits;

typedef enum mw_status {
    MW_OK = 0,
    MW_ERR_RUNTIME = 1,   /* a Lua error raised by the signature */
    MW_ERR_BUDGET = 2,    /* the instruction budget ran out; the call was cut off */
    MW_ERR_MEMORY = 3,    /* the memory cap was hit */
    MW_ERR_SYNTAX = 4,    /* the file does not compile (or is not text) */
    MW_ERR_CONTRACT = 5,  /* the file ran but did not return a table */
    MW_ERR_TIMEOUT = 6,   /* the watchdog stopped a call that ran past its time limit */
} mw_status;

/* Value nodes. Containers are followed by their children in pre-order; object children carry keys. */
enum { MW_NIL = 0, MW_BOOL = 1, MW_INT = 2, MW_DOUBLE = 3, MW_STRING = 4, MW_ARRAY = 5, MW_OBJECT = 6, MW_ABSENT = 7 };

typedef struct mw_node {
    uint8_t type;
    uint8_t _pad[3];
    uint32_t len;       /* string length, or number of children for containers */
    uint32_t key_off;   /* key bytes in the tape's byte arena (object children only) */
    uint32_t key_len;
    union { int64_t i; double d; uint64_t off; } u;   /* value, or string offset in the arena */
} mw_node;

/* One event. `nodes` holds nargs top-level argument values (MW_ABSENT when not captured), in
 * catalogue order, then nargs exit re-read values. Strings point into `bytes`. */
/* mw_tape.via (event.via in Lua) */
enum { MW_VIA_SYSCALL = 0, MW_VIA_SOCKETCALL = 1, MW_VIA_IO_URING = 2 };

typedef struct mw_tape {
    uint32_t kind;
    uint16_t compat;
    uint16_t bits;
    uint32_t has_exit;  /* some exit re-read node is present */
    uint32_t _pad;
    uint64_t time;
    int64_t ret;
    int64_t pid, tid, ppid, uid, gid;
    uint64_t cgroup, mntns, pidns;
    uint64_t changed;
    uint64_t late;       /* arguments whose value is the exit read (entry read failed) */
    uint64_t truncated;  /* arguments cut to the probe's limits */
    uint32_t via;        /* MW_VIA_*: how the call reached the kernel when not as its own syscall */
    uint32_t _pad2;
    uint64_t exe_ino, exe_dev;
    uint32_t comm_off, comm_len, exe_off, exe_len, container_off, container_len, exe_fs_off, exe_fs_len;
    const mw_node *nodes;
    uint32_t nnodes;
    const char *bytes;
    size_t nbytes;
} mw_tape;

typedef struct mw_finding {
    const char *message; size_t message_len;
    const char *severity; size_t severity_len;   /* empty: use the signature's default */
    const char *data_json; size_t data_len;      /* "{}" when no data was given */
    const char *dedup; size_t dedup_len;         /* report{ dedup = ... }, when has_dedup */
    int has_dedup;
} mw_finding;

/* Registers the catalogue's names once, before any sandbox runs an event. Copies the strings. */
void mw_register_kind(uint32_t kind, const char *event_name, uint32_t nargs, const char *const *arg_names);

mw_limits mw_default_limits(void);

/* lua_newstate with the capped allocator, base/string/table/math/utf8 only, the hook set
 * before any code loads. NULL only when the allocator cannot create a state at all. */
mw_sandbox *mw_sandbox_new(const mw_limits *limits);
void mw_sandbox_free(mw_sandbox *s);

/* Compiles `src` as text (never bytecode), runs it under the load budget and keeps the table it
 * returns as the signature. On failure returns the status and mw_sandbox_error() says why. */
mw_status mw_sandbox_load(mw_sandbox *s, const char *src, size_t len, const char *chunkname);

/* Installs a library table as global `name`: runs `src` (text) that must return a table. Used for
 * the shared helper library, which is compiled into the binary, never read from a path. */
mw_status mw_sandbox_install_library(mw_sandbox *s, const char *name, const char *src, size_t len, const char *chunkname);

/* The loaded table as JSON (functions as "<function>", other non-data values as "<type>"). The
 * string stays valid until the next call on this sandbox. */
const char *mw_sandbox_describe(mw_sandbox *s, size_t *len);

/* 1 when the loaded table's field is a function. */
int mw_sandbox_has_function(mw_sandbox *s, const char *field);

/* Calls on_event(event, state). */
mw_status mw_sandbox_on_event(mw_sandbox *s, const mw_tape *tape);
/* Calls on_finish(state) if the signature has one. */
mw_status mw_sandbox_on_finish(mw_sandbox *s);

const char *mw_sandbox_error(mw_sandbox *s);

/* 1 once a call was stuck inside a C function and abandoned: the state is gone for good. */
int mw_sandbox_abandoned(mw_sandbox *s);

/* The watchdog (watchdog.c). A stop request (async-signal-safe, for SIGINT/SIGTERM handlers)
 * shortens every running and later call to a short wall-clock limit, so shutdown never waits on
 * a stuck signature. */
int mw_watchdog_running(void);
void mw_watchdog_request_stop(void);
void mw_watchdog_reset_stop(void);
uint64_t mw_watchdog_interrupts(void);
uint64_t mw_watchdog_escapes(void);

size_t mw_sandbox_finding_count(mw_sandbox *s);
mw_finding mw_sandbox_finding(mw_sandbox *s, size_t i);
/* report{} calls in the last call that were dropped (over the per-call cap) or invalid. */
size_t mw_sandbox_findings_dropped(mw_sandbox *s);
/* Findings of the last call whose message or data was cut to the caps. */
size_t mw_sandbox_findings_cut(mw_sandbox *s);
void mw_sandbox_clear_findings(mw_sandbox *s);

/* Lines written with print() since the last clear, NUL-separated; count in *n. */
const char *mw_sandbox_log(mw_sandbox *s, size_t *len, size_t *n);
void mw_sandbox_clear_log(mw_sandbox *s);

size_t mw_sandbox_memory_used(mw_sandbox *s);
size_t mw_sandbox_memory_peak(mw_sandbox *s);
/* Instructions counted (in hook granularity) during the last call. */
int64_t mw_sandbox_last_instructions(mw_sandbox *s);

/* The process table behind mw.process()/mw.ancestors(), fed from events by the engine. One per
 * session, used from that session's pipeline thread only; a sandbox reads the table it was
 * pointed at (none: mw.process returns nil). put returns 1 when the entry was new or changed. */
typedef struct mw_proctable mw_proctable;
mw_proctable *mw_proctable_new(void);
void mw_proctable_free(mw_proctable *t);
int mw_proctable_put(mw_proctable *t, int32_t pid, int32_t ppid, uint32_t uid, const char *comm, size_t comm_len,
                     const char *exe, size_t exe_len, uint64_t mntns, uint64_t pidns, uint64_t exe_ino,
                     uint64_t exe_dev);
void mw_proctable_remove(mw_proctable *t, int32_t pid);
void mw_proctable_clear(mw_proctable *t);
size_t mw_proctable_count(mw_proctable *t);
void mw_sandbox_set_proctable(mw_sandbox *s, mw_proctable *t);

/* Sets global `name` to the value the tape's first node describes (the tape's event fields are
 * ignored): the signature's parameters, after the file has run. While the file runs, `params` is
 * a table whose fields raise an error that says so (defaults are only known once it returned). */
mw_status mw_sandbox_set_global(mw_sandbox *s, const char *name, const mw_tape *value);

#ifdef __cplusplus
}
#endif
#endif
