/* blas.c — makes sure OpenBLAS runs the right kernels, and reports which.
 *
 * Design note
 *   Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not recognise the CPUs of our machines and
 *   falls back to its generic "Prescott" kernels, which run SGEMM 3-6x slower than the
 *   Haswell/SkylakeX ones.  OpenBLAS picks its core once, when the library is loaded, from
 *   cpuid or from the OPENBLAS_CORETYPE environment variable.  So the only robust fix from
 *   inside the program is: detect the mismatch at start-up (before any BLAS call), set
 *   OPENBLAS_CORETYPE to the best core the CPU supports, and re-exec ourselves once.
 *
 *   - A user-set OPENBLAS_CORETYPE always wins: we never touch it.
 *   - FRTUI_BLAS_REEXEC guards against loops; after the re-exec we run a small SGEMM self-check
 *     against a naive product, and if the chosen kernels disagree we step down a level
 *     (SkylakeX -> Haswell -> leave it) — a wrong answer is worse than a slow one.
 *   - The decision is visible: fr_blas_describe() gives "SkylakeX (auto: cpu has avx512)" and
 *     the TUI status bar, `frtui info --verbose` and the bench print it.
 *
 *   Threading decision (2-core machines; worker + UI + compute threads):
 *   - FRTUI_THREADS (default 2) is the number of *parts* every kernel region splits into
 *     (src/par.c): the worker thread runs part 0, a pool thread the others.  OpenBLAS itself
 *     runs single-threaded, always: on the unit sizes PTQ reconstructs its own threading gained
 *     ~10 % per GEMM and lost more than that between GEMMs (a FlexRound iteration of a 32-ch
 *     BasicBlock ran 18.8 ms with 2 OpenBLAS threads vs 10.6 ms with 1 on an idle machine), and
 *     two thread pools would oversubscribe the cores.  Only `frtui-dev bench` raises OpenBLAS's
 *     count, to measure the sgemm peak the ratios are quoted against.
 *   - The UI thread gets no core of its own: it sleeps in poll() and wakes about every 100 ms
 *     (worker publication) or on a key; a frame builds in ~0.1 ms (160x48, `frtui-dev bench`), so it
 *     needs ~0.1 % of a core.  Linux wake-up preemption runs a woken sleeper promptly even with
 *     two busy compute threads, so keys and redraws stay immediate; the worker never waits on
 *     the UI (snapshots, non-blocking wake pipe).  The pool thread sleeps whenever the worker
 *     is paused or between units, so a paused run costs nothing.
 *   - Results are bit-identical for a given thread count (the part split is fixed by it, and
 *     the dW partial sums are added in part order), which is why checkpoints and bundles record
 *     it.
 */
#include "frtui/blas.h"

#include "frtui/par.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

static char g_desc[128] = "unknown";
static int g_threads = 1;

static const char *best_core(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

static int weak_core(const char *name)
{
    static const char *const weak[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge",
                                       "Atom", "Katmai", "Coppermine", "Northwood", "Banias", "Athlon", "Opteron",
                                       "Barcelona", "Bobcat", "Unknown", "generic", NULL};
    for (int i = 0; weak[i]; i++)
        if (strcasecmp(name, weak[i]) == 0) return 1;
    return 0;
}

/* A 37x29x41 product against a double-precision naive loop. */
static int sgemm_selfcheck(void)
{
    enum { M = 37, N = 29, K = 41 };
    static float A[M * K], B[K * N], C[M * N];
    fr_rng r;
    fr_rng_seed(&r, 7);
    for (int i = 0; i < M * K; i++) A[i] = fr_rng_uniform(&r) - 0.5f;
    for (int i = 0; i < K * N; i++) B[i] = fr_rng_uniform(&r) - 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)A[i * K + k] * B[k * N + j];
            if (fabs(s - C[i * N + j]) > 1e-4) return 0;
        }
    return 1;
}

static void reexec(char **argv, const char *core, const char *why)
{
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("FRTUI_BLAS_REEXEC", why, 1);
    execv("/proc/self/exe", argv);
    /* If exec fails we simply continue with the slow kernels. */
}

void fr_blas_init(char **argv, int threads)
{
    const char *user = getenv("OPENBLAS_CORETYPE");
    const char *guard = getenv("FRTUI_BLAS_REEXEC");
    const char *core = openblas_get_corename();
    const char *want = best_core();
    if (!guard && !user && want && core && weak_core(core) && argv) reexec(argv, want, "auto");
    if (guard) {
        if (!sgemm_selfcheck() && getenv("OPENBLAS_CORETYPE") && strcmp(getenv("OPENBLAS_CORETYPE"), "Haswell") != 0 &&
            strcmp(guard, "auto") == 0 && argv) {
            reexec(argv, "Haswell", "fallback");
        }
        snprintf(g_desc, sizeof g_desc, "%s (auto-selected: library detected a generic core%s)",
                 openblas_get_corename(), strcmp(guard, "fallback") == 0 ? ", SkylakeX failed self-check" : "");
        /* Children we spawn should redo the detection themselves. */
        unsetenv("FRTUI_BLAS_REEXEC");
        unsetenv("OPENBLAS_CORETYPE");
    } else if (user) {
        snprintf(g_desc, sizeof g_desc, "%s (OPENBLAS_CORETYPE=%s set by user)", core ? core : "?", user);
    } else {
        snprintf(g_desc, sizeof g_desc, "%s (library's own detection)", core ? core : "?");
    }
    fr_blas_set_threads(threads);
}

void fr_blas_set_threads(int threads)
{
    if (threads < 1) threads = 1;
    g_threads = threads;
    fr_par_set_threads(threads);
    openblas_set_num_threads(1);
}

void fr_blas_set_gemm_threads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }

int fr_blas_threads(void) { return g_threads; }

const char *fr_blas_core(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "?";
}

const char *fr_blas_describe(void) { return g_desc; }
