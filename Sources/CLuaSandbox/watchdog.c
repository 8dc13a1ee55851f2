/*
 * The watchdog: a bound on the time of every call into a sandbox, whatever the call does.
 *
 * The instruction hook only fires between VM instructions. A single C function (a backtracking
 * string.find, a plain find of a long needle in a long subject) or a single instruction on huge
 * data (comparing two 8 MiB strings) can run for seconds to hours without one, and no estimate of
 * "cost per call" is complete. So time itself is watched:
 *
 *  - Every thread that calls into a sandbox owns a slot. A call marks its slot busy by making the
 *    slot's generation odd (one atomic store on entry and one on exit: nothing else on the hot
 *    path, no clock read).
 *  - One watchdog thread wakes every MW_WATCH_PERIOD_MS. A generation it sees busy twice has been
 *    running since the first sighting; once that thread's CPU time since then passes the call's
 *    limit (or, after a stop request, once the wall time passes MW_STOP_LIMIT_MS), it interrupts
 *    the call with a signal to that thread:
 *      stage 1: the handler sets the sandbox's interrupt flag and makes the count hook fire on the
 *               next instruction (lua_sethook is documented as safe in a signal handler). Code
 *               running in the VM stops at once; the state stays intact.
 *      stage 2: if the call is still running MW_GRACE_MS later, it is stuck inside a C function.
 *               The handler jumps (siglongjmp) out of it, back to the C frame that entered the
 *               call, and the sandbox is marked abandoned: its lua_State is never touched again
 *               (not even freed: it may be mid-update), and the signature is disabled. The jump
 *               is never taken while the thread is inside the C allocator (it would leave the
 *               heap locked); it is retried on the next period.
 *    The jump only crosses C frames: Swift calls mw_sandbox_* and everything below is C.
 */
#define _GNU_SOURCE
#include "sandbox_internal.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MW_WATCH_PERIOD_MS 50
#define MW_GRACE_MS 250
#define MW_STOP_LIMIT_MS 100
#define MW_STOP_GRACE_MS 100

_Thread_local volatile sig_atomic_t mw_tls_in_libc;

static _Thread_local mw_slot *tls_slot;
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static mw_slot *slots;
static pthread_key_t slot_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int watch_signal;
static int started;

static _Atomic int stop_requested;
static _Atomic int64_t stop_wall_ns;
static _Atomic uint64_t interrupts_sent, escapes_taken;

static int64_t ns_of(clockid_t c) {
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0) return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mw_watchdog_request_stop(void) {
    /* Async-signal-safe: called from SIGINT/SIGTERM handlers. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    atomic_store(&stop_wall_ns, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    atomic_store(&stop_requested, 1);
}

void mw_watchdog_reset_stop(void) { atomic_store(&stop_requested, 0); }
int mw_watchdog_stopping(void) { return atomic_load(&stop_requested); }

uint64_t mw_watchdog_interrupts(void) { return atomic_load(&interrupts_sent); }
uint64_t mw_watchdog_escapes(void) { return atomic_load(&escapes_taken); }

static void on_signal(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)si; (void)uc;
    int saved = errno;
    mw_slot *sl = tls_slot;
    if (!sl) { errno = saved; return; }
    uint64_t g = atomic_load(&sl->gen);
    if (!(g & 1) || g != atomic_load(&sl->target)) { errno = saved; return; }   /* that call is over */
    mw_sandbox *s = sl->sandbox;
    mw_sandbox_interrupt(s);
    if (atomic_load(&sl->stage) >= 2 && sl->armed && !mw_tls_in_libc) {
        sl->armed = 0;
        atomic_fetch_add(&escapes_taken, 1);
        siglongjmp(sl->escape, 1);
    }
    errno = saved;
}

static void check_slot(mw_slot *sl, int64_t now) {
    uint64_t g = atomic_load(&sl->gen);
    if (!(g & 1)) { sl->seen_gen = 0; return; }
    if (g != sl->seen_gen) {
        sl->seen_gen = g;
        sl->seen_cpu = sl->has_cpu ? ns_of(sl->cpu) : -1;
        sl->seen_wall = now;
        sl->fired = 0;
        return;
    }
    int stopping = atomic_load(&stop_requested);
    int64_t limit = (int64_t)sl->limit_ms * 1000000;
    /* CPU time of that thread: a busy machine that preempts the pipeline does not count. */
    int64_t cpu = sl->has_cpu ? ns_of(sl->cpu) : -1;
    int over = cpu >= 0 && sl->seen_cpu >= 0 ? cpu - sl->seen_cpu >= limit : now - sl->seen_wall >= limit;
    int64_t grace = (int64_t)MW_GRACE_MS * 1000000;
    if (stopping) {
        int64_t since = atomic_load(&stop_wall_ns);
        if (since < sl->seen_wall) since = sl->seen_wall;
        if (now - since >= (int64_t)MW_STOP_LIMIT_MS * 1000000) over = 1;
        grace = (int64_t)MW_STOP_GRACE_MS * 1000000;
    }
    if (sl->fired == 0) {
        if (!over) return;
        sl->fired = 1;
        sl->fired_wall = now;
        atomic_store(&sl->target, g);
        atomic_store(&sl->stage, 1);
    } else if (now - sl->fired_wall >= grace) {
        sl->fired = 2;
        atomic_store(&sl->stage, 2);   /* re-sent every period until the call ends */
    } else {
        return;
    }
    atomic_fetch_add(&interrupts_sent, 1);
    pthread_kill(sl->thread, watch_signal);
}

static void *watch_loop(void *arg) {
    (void)arg;
    /* Signals stay deliverable here: run's privilege drop reaches every thread with one. */
    struct timespec period = { 0, MW_WATCH_PERIOD_MS * 1000000L };
    for (;;) {
        nanosleep(&period, NULL);
        int64_t now = ns_of(CLOCK_MONOTONIC);
        pthread_mutex_lock(&slots_lock);
        for (mw_slot *sl = slots; sl; sl = sl->next) check_slot(sl, now);
        pthread_mutex_unlock(&slots_lock);
    }
    return NULL;
}

/* A thread that ends takes its slot out of the list; holding the lock while signalling means
 * the watchdog never signals a thread that is gone. */
static void slot_gone(void *p) {
    mw_slot *sl = p;
    tls_slot = NULL;   /* first: a signal still in flight then finds no slot */
    pthread_mutex_lock(&slots_lock);
    for (mw_slot **q = &slots; *q; q = &(*q)->next) {
        if (*q == sl) { *q = sl->next; break; }
    }
    pthread_mutex_unlock(&slots_lock);
    free(sl);
}

static void init_once(void) {
    pthread_key_create(&slot_key, slot_gone);
    watch_signal = SIGRTMIN + 6;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(watch_signal, &sa, NULL);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    started = pthread_create(&t, &attr, watch_loop, NULL) == 0;
    pthread_attr_destroy(&attr);
}

int mw_watchdog_running(void) {
    pthread_once(&once, init_once);
    return started;
}

mw_slot *mw_slot_self(void) {
    mw_slot *sl = tls_slot;
    if (sl) return sl;
    pthread_once(&once, init_once);
    sl = calloc(1, sizeof *sl);
    if (!sl) return NULL;
    sl->thread = pthread_self();
    sl->has_cpu = pthread_getcpuclockid(sl->thread, &sl->cpu) == 0;
    pthread_mutex_lock(&slots_lock);
    sl->next = slots;
    slots = sl;
    pthread_mutex_unlock(&slots_lock);
    pthread_setspecific(slot_key, sl);
    tls_slot = sl;
    return sl;
}

void mw_slot_landed(void) {
    /* Back from an escape: the handler's signal is still blocked on this thread. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, watch_signal);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    mw_tls_in_libc = 0;
}
