/* par.c — a tiny fork-join pool for the kernels.  Contract: include/frtui/par.h.
 *
 * Design note
 *   Why our own threads instead of OpenBLAS's: the GEMMs of a reconstruction unit are small
 *   (a 32-channel 14x14 3x3 conv is 32 x 196 x 288 per sample).  OpenBLAS threads each call
 *   separately, hands off to its pool for ~10 % gain on such shapes, and everything between the
 *   calls (im2col, col2im, scatter) runs on one core while its pool thread spins in
 *   sched_yield.  Measured on the 2-core machines: a FlexRound iteration of that block took
 *   longer with 2 OpenBLAS threads than with 1.  Splitting the *batch* instead gives each core
 *   whole samples (im2col + single-threaded GEMM that stays in L2), one hand-off per layer
 *   instead of one per GEMM, and parallel im2col.  So OpenBLAS runs single-threaded inside
 *   regions and frtui owns the parallelism (see blas.c for the thread-count policy).
 *
 *   Ownership: one process-wide pool of fr_par_threads() - 1 helper threads, started on the
 *   first region that needs them and never stopped (they hold no memory).  A region is owned
 *   by whoever holds `busy`; a second thread that finds the pool busy runs its parts itself.
 *   Threading: the job (fn, ctx, nparts) is written before `gen` is bumped under `m`; helpers
 *   read it after seeing the new `gen` (mutex/acquire), run their part (if p < nparts) and
 *   decrement `pending` (acq_rel), so all part writes happen-before the caller's return.  All
 *   helpers acknowledge every region, so the job fields never change under a late reader.
 *   Waits spin a little (regions of one iteration come back-to-back within ~1 ms) and then
 *   sleep on a condition variable, so an idle pool costs nothing and a paused worker frees
 *   the core.
 *   Invariants: part p's work is fixed by (p, nparts), never by which thread runs it;
 *   `pending` is 0 outside regions.  After fork() the child has no helpers: the atfork handler
 *   resets the pool so the child starts its own.
 */
#include "frtui/par.h"

#include <pthread.h>
#include <stdatomic.h>

#define PAR_MAX FR_PAR_MAX
/* Spin iterations before sleeping: with a pause of ~50-150 cycles about 1-3 ms, longer than the
 * serial stretches between regions of one iteration (a futex sleep/wake costs ~3 % there). */
#define SPIN 32768

static struct {
    pthread_mutex_t busy;            /* held for a whole region */
    pthread_mutex_t m;               /* guards the sleeping side of gen/pending */
    pthread_cond_t go, done;
    atomic_uint gen;
    atomic_int pending;
    fr_par_fn fn;                    /* the job: written by the owner before gen++ */
    void *ctx;
    int nparts;
    int started;                     /* helpers running (owner only) */
    atomic_int nthreads;
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
       0, 0, NULL, NULL, 1, 0, 1};

static unsigned start_gen[PAR_MAX];   /* written by the owner before pthread_create */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

int fr_par_threads(void) { return atomic_load_explicit(&P.nthreads, memory_order_relaxed); }

void fr_par_set_threads(int n)
{
    if (n < 1) n = 1;
    if (n > PAR_MAX) n = PAR_MAX;
    atomic_store_explicit(&P.nthreads, n, memory_order_relaxed);
}

void fr_par_range(int count, int part, int nparts, int *lo, int *hi)
{
    *lo = (int)((long long)count * part / nparts);
    *hi = (int)((long long)count * (part + 1) / nparts);
}

static void *helper(void *arg)
{
    const int me = (int)(long)arg;
    /* The generation current when the owner created us, not when we got to run: the owner
     * bumps gen right after pthread_create, and reading it here could skip that region. */
    unsigned seen = start_gen[me];
    for (;;) {
        unsigned g;
        int k = 0;
        while ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen && k < SPIN) { relax(); k++; }
        if (g == seen) {
            pthread_mutex_lock(&P.m);
            while ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen) pthread_cond_wait(&P.go, &P.m);
            pthread_mutex_unlock(&P.m);
        }
        seen = g;
        if (me < P.nparts) P.fn(P.ctx, me, P.nparts);
        /* Every helper acknowledges every region, also when it has no part: the owner starts
         * the next region only after all have, so nobody can see one generation late. */
        if (atomic_fetch_sub_explicit(&P.pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&P.m);
            pthread_cond_signal(&P.done);
            pthread_mutex_unlock(&P.m);
        }
    }
    return NULL;
}

static void after_fork_child(void)
{
    pthread_mutex_init(&P.busy, NULL);
    pthread_mutex_init(&P.m, NULL);
    pthread_cond_init(&P.go, NULL);
    pthread_cond_init(&P.done, NULL);
    P.started = 0;
    atomic_store(&P.pending, 0);
}

static void install_atfork(void) { pthread_atfork(NULL, NULL, after_fork_child); }

void fr_par_run(fr_par_fn fn, void *ctx)
{
    const int n = fr_par_threads();
    if (n == 1 || pthread_mutex_trylock(&P.busy) != 0) {
        for (int p = 0; p < n; p++) fn(ctx, p, n);
        return;
    }
    pthread_once(&atfork_once, install_atfork);
    while (P.started < n - 1) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        start_gen[P.started + 1] = atomic_load_explicit(&P.gen, memory_order_relaxed);
        int ok = pthread_create(&t, &a, helper, (void *)(long)(P.started + 1)) == 0;
        pthread_attr_destroy(&a);
        if (!ok) break;
        P.started++;
    }
    const int helpers = P.started < n - 1 ? P.started : n - 1;
    if (helpers < n - 1) {   /* could not start enough threads: run the rest here, same parts */
        for (int p = 0; p < n; p++) fn(ctx, p, n);
        pthread_mutex_unlock(&P.busy);
        return;
    }
    pthread_mutex_lock(&P.m);
    P.fn = fn;
    P.ctx = ctx;
    P.nparts = n;
    atomic_store_explicit(&P.pending, P.started, memory_order_relaxed);
    atomic_fetch_add_explicit(&P.gen, 1, memory_order_release);
    pthread_cond_broadcast(&P.go);
    pthread_mutex_unlock(&P.m);

    fn(ctx, 0, n);

    int k = 0;
    while (atomic_load_explicit(&P.pending, memory_order_acquire) > 0 && k < SPIN) { relax(); k++; }
    if (atomic_load_explicit(&P.pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&P.m);
        while (atomic_load_explicit(&P.pending, memory_order_acquire) > 0) pthread_cond_wait(&P.done, &P.m);
        pthread_mutex_unlock(&P.m);
    }
    pthread_mutex_unlock(&P.busy);
}
