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
 *   Scheduling: parts are *claimed*, not assigned.  Part p's work is fixed by (p, nparts), so
 *   results never depend on which thread runs it, but whoever is free takes the next part —
 *   the owner included.  On a busy machine a descheduled pool thread therefore costs at most
 *   the part it already holds, instead of stalling the region for whole time slices (with fixed
 *   assignment, 2 threads ran 2x *slower* than 1 under load; measured).
 *   Threading: one 64-bit word holds (gen, nparts, next part).  The owner writes the job
 *   (fn, ctx) and then publishes a new gen with next = 0 (release).  A thread claims a part by
 *   CAS on that word, checking gen; only after a successful claim does it read the job
 *   (acquire), and the owner cannot finish the region, let alone write the next job, until
 *   every claimed part is done: `done` counts finished parts (acq_rel), the owner waits for
 *   done == nparts.  So job fields are never read while written, and all part writes
 *   happen-before the owner's return.  Waits spin a little (regions of one iteration come
 *   back-to-back within ~1 ms) and then sleep on condition variables, so an idle pool costs
 *   nothing and a paused worker frees the core.
 *   Invariants: every part of a region runs exactly once; `done` == nparts outside regions.
 *   After fork() the child has no helpers: the atfork handler resets the pool so the child
 *   starts its own.
 */
#include "frtui/par.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define PAR_MAX FR_PAR_MAX
/* Spin iterations before sleeping: with a pause of ~50-150 cycles about 1-3 ms, longer than the
 * serial stretches between regions of one iteration (a futex sleep/wake costs ~3 % there). */
#define SPIN 32768

/* The claim word: gen in bits 32-63, nparts in bits 16-31, next unclaimed part in bits 0-15. */
#define W_GEN(w) ((uint32_t)((w) >> 32))
#define W_N(w) ((int)(((w) >> 16) & 0xffff))
#define W_NEXT(w) ((int)((w) & 0xffff))

static struct {
    pthread_mutex_t busy;            /* held for a whole region */
    pthread_mutex_t m;               /* the sleeping side of word/done */
    pthread_cond_t go, fin;
    _Atomic uint64_t word;
    atomic_int done;
    fr_par_fn fn;                    /* the job: written by the owner before publishing gen */
    void *ctx;
    int started;                     /* helpers running (owner only) */
    atomic_int nthreads;
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
       0, 0, NULL, NULL, 0, 1};

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

/* Claims and runs parts of region `gen` until none is left (or the region is over). */
static void work(uint32_t gen)
{
    uint64_t w = atomic_load_explicit(&P.word, memory_order_acquire);
    for (;;) {
        if (W_GEN(w) != gen || W_NEXT(w) >= W_N(w)) return;
        if (!atomic_compare_exchange_weak_explicit(&P.word, &w, w + 1, memory_order_acq_rel, memory_order_acquire))
            continue;   /* w reloaded */
        const int p = W_NEXT(w), n = W_N(w);
        P.fn(P.ctx, p, n);
        if (atomic_fetch_add_explicit(&P.done, 1, memory_order_acq_rel) + 1 == n) {
            pthread_mutex_lock(&P.m);
            pthread_cond_signal(&P.fin);
            pthread_mutex_unlock(&P.m);
        }
        w = atomic_load_explicit(&P.word, memory_order_acquire);
    }
}

static void *helper(void *arg)
{
    (void)arg;
    uint32_t seen = 0;   /* gen 0 is never a region: the first one is gen 1 */
    for (;;) {
        uint32_t g;
        int k = 0;
        while ((g = W_GEN(atomic_load_explicit(&P.word, memory_order_acquire))) == seen && k < SPIN) { relax(); k++; }
        if (g == seen) {
            pthread_mutex_lock(&P.m);
            while ((g = W_GEN(atomic_load_explicit(&P.word, memory_order_acquire))) == seen)
                pthread_cond_wait(&P.go, &P.m);
            pthread_mutex_unlock(&P.m);
        }
        seen = g;
        work(g);
    }
    return NULL;
}

static void after_fork_child(void)
{
    pthread_mutex_init(&P.busy, NULL);
    pthread_mutex_init(&P.m, NULL);
    pthread_cond_init(&P.go, NULL);
    pthread_cond_init(&P.fin, NULL);
    P.started = 0;
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
        int ok = pthread_create(&t, &a, helper, NULL) == 0;
        pthread_attr_destroy(&a);
        if (!ok) break;   /* fewer helpers: the owner claims the remaining parts itself */
        P.started++;
    }
    const uint32_t gen = W_GEN(atomic_load_explicit(&P.word, memory_order_relaxed)) + 1;
    pthread_mutex_lock(&P.m);
    P.fn = fn;
    P.ctx = ctx;
    atomic_store_explicit(&P.done, 0, memory_order_relaxed);
    atomic_store_explicit(&P.word, (uint64_t)(gen ? gen : 1) << 32 | (uint64_t)n << 16, memory_order_release);
    pthread_cond_broadcast(&P.go);
    pthread_mutex_unlock(&P.m);

    work(gen ? gen : 1);

    int k = 0;
    while (atomic_load_explicit(&P.done, memory_order_acquire) < n && k < SPIN) { relax(); k++; }
    if (atomic_load_explicit(&P.done, memory_order_acquire) < n) {
        pthread_mutex_lock(&P.m);
        while (atomic_load_explicit(&P.done, memory_order_acquire) < n) pthread_cond_wait(&P.fin, &P.m);
        pthread_mutex_unlock(&P.m);
    }
    pthread_mutex_unlock(&P.busy);
}
