/* blas.c — chooses the OpenBLAS kernels (the same ones on every machine, by default), and
 * reports which.
 *
 * Design note
 *   What determinism means across CPUs.  OpenBLAS (Debian 0.3.21, DYNAMIC_ARCH) picks a kernel
 *   set ("core") once, when the library is loaded, from cpuid or from the OPENBLAS_CORETYPE
 *   environment variable.  Different cores block and accumulate SGEMM differently, so the same
 *   run gives different last bits on a Cooperlake (AVX-512) machine than on a Zen or Haswell
 *   one, and after 1000 Adam steps those bits are different rounding decisions and a different
 *   top-1 (MLP W4 FlexRound 89.48 instead of 89.38).  frtui's promise is therefore: same bundle,
 *   seed, settings, thread count *and OpenBLAS core* give bit-identical results; and by default
 *   frtui chooses the core itself so that every x86-64 CPU with AVX2+FMA (Intel since Haswell,
 *   AMD since Zen, every AVX-512 CPU) runs the same one, Haswell.  The samples were trained and
 *   the README's tables were made with it.
 *
 *   FRTUI_BLAS_CORE selects the policy:
 *   - unset or "reproducible" (default): on a CPU with AVX2+FMA, if the library picked any core
 *     but Haswell, set OPENBLAS_CORETYPE=Haswell and re-exec ourselves once, before any BLAS
 *     call.  Without AVX2 the Haswell kernels cannot run: the library's own choice stays (raised
 *     from a generic core is not possible either), and is recorded like any other.
 *   - "native": speed first: the library's own detection, raised to the best core the CPU
 *     supports (SkylakeX with AVX-512, Haswell with AVX2) when the library fell back to a
 *     generic one (it does not know some recent CPUs and then runs "Prescott", 3-6x slower).
 *     Results then match only machines on which the same core is chosen.
 *   - anything else is refused at start-up (one line, exit status 2).
 *   A user-set OPENBLAS_CORETYPE always wins, in both modes (that is how tests force a core):
 *   we never touch it, and every record says it was set by the user.
 *
 *   The core in use is recorded everywhere a result is: run reports (JSON "blas_core", CSV
 *   column, the tables' header line), checkpoints (META, so replay shows the core the run had
 *   and resume refuses another one, as it refuses another thread count), bundles trained by
 *   `frtui-dev train-samples` (META key train_blas_core), the TUI header, `frtui info
 *   --verbose` and the bench.
 *
 *   Our own code is compiled for x86-64-v3 (Makefile), not -march=native: the same
 *   instructions on every AVX2 machine.  -march=native would not change results by itself
 *   (-std=c11 keeps fp-contract off, GCC never reorders float reductions without
 *   -ffast-math, and glibc's libm picks its FMA variants on every AVX2 CPU alike), but one
 *   binary for all of them removes the question.
 *
 *   - FRTUI_BLAS_REEXEC guards against loops; after the re-exec we run a small SGEMM self-check
 *     against a naive product, and if the chosen kernels disagree we step down (SkylakeX ->
 *     Haswell; Haswell -> the library's own choice) — a wrong answer is worse than a slow one.
 *   - fr_blas_describe() says how the core was chosen, e.g. "Haswell (reproducible default;
 *     library detected Zen)".
 *
 *   Threading decision (2-core machines; worker + UI + compute threads):
 *   - FRTUI_THREADS (default 2) is the number of *parts* every kernel region splits into
 *     (src/base/par.c): the worker thread runs part 0, a pool thread the others.  OpenBLAS itself
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
#include "frtui/conv.h"

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

static char g_desc[160] = "unknown";
static char g_how[16] = "library";
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

static int has_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
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
    if (core) setenv("OPENBLAS_CORETYPE", core, 1);
    else unsetenv("OPENBLAS_CORETYPE");
    setenv("FRTUI_BLAS_REEXEC", why, 1);
    /* The library we re-exec into records what it detected on its own (for the description). */
    execv("/proc/self/exe", argv);
    /* If exec fails we simply continue with the kernels we have; the records name them. */
}

/* The policy's answer on this CPU: the core to force, or NULL for the library's own choice. */
static const char *wanted_core(int native, const char *lib)
{
    if (!native) return has_avx2() ? "Haswell" : NULL;
    return lib && weak_core(lib) ? best_core() : NULL;
}

int fr_blas_init(char **argv, int threads, fr_err *e)
{
    /* FRTUI_KERNELS=legacy: the per-sample conv/linear kernels of frtui before 2 Dec 2026, to
     * reproduce an older run's bits (checkpoints record the choice and resume with it). */
    const char *kern = getenv("FRTUI_KERNELS");
    if (kern && *kern) {
        if (strcmp(kern, "legacy") != 0 && strcmp(kern, "chunked") != 0)
            return fr_err_set(e, FR_EINPUT, "FRTUI_KERNELS=%.60s: want 'chunked' (the default) or 'legacy' (the "
                              "per-sample kernels of runs made before 2 Dec 2026)", kern);
        fr_conv_set_legacy(strcmp(kern, "legacy") == 0);
    }
    const char *mode = getenv("FRTUI_BLAS_CORE");
    int native = 0;
    if (mode && *mode && strcmp(mode, "reproducible") != 0) {
        if (strcmp(mode, "native") != 0)
            return fr_err_set(e, FR_EINPUT, "FRTUI_BLAS_CORE=%.60s: want 'reproducible' (the default: Haswell kernels "
                              "on every AVX2 CPU) or 'native' (OpenBLAS's own choice, faster on some CPUs)", mode);
        native = 1;
    }
    const char *user = getenv("OPENBLAS_CORETYPE");
    const char *guard = getenv("FRTUI_BLAS_REEXEC");
    const char *core = openblas_get_corename();
    if (!guard && !user && argv) {
        const char *want = wanted_core(native, core);
        if (want && core && strcasecmp(core, want) != 0) {
            /* Tell the re-executed process what the library picked by itself. */
            setenv("FRTUI_BLAS_DETECTED", core, 1);
            reexec(argv, want, native ? "native" : "reproducible");
        }
    }
    if (guard) {
        const char *forced = getenv("OPENBLAS_CORETYPE");
        if (forced && !sgemm_selfcheck() && argv && strcmp(guard, "fallback") != 0) {
            /* SkylakeX -> Haswell; Haswell -> whatever the library picks itself. */
            reexec(argv, strcasecmp(forced, "Haswell") != 0 && has_avx2() ? "Haswell" : NULL, "fallback");
        }
        const char *det = getenv("FRTUI_BLAS_DETECTED");
        if (!det) det = "?";
        if (strcmp(guard, "fallback") == 0)
            snprintf(g_desc, sizeof g_desc, "%s (the chosen core failed the self-check; the library detected %.24s)",
                     fr_blas_core(), det);
        else if (native)
            snprintf(g_desc, sizeof g_desc, "%s (native: raised from the library's generic %.24s)", fr_blas_core(), det);
        else
            snprintf(g_desc, sizeof g_desc, "%s (reproducible default; the library detected %.24s)", fr_blas_core(), det);
        snprintf(g_how, sizeof g_how, "%s", strcmp(guard, "fallback") == 0 ? "fallback" : native ? "native" : "reproducible");
        /* Children we spawn redo the detection themselves (and honour the user's setting). */
        unsetenv("FRTUI_BLAS_REEXEC");
        unsetenv("FRTUI_BLAS_DETECTED");
        unsetenv("OPENBLAS_CORETYPE");
    } else if (user) {
        snprintf(g_desc, sizeof g_desc, "%s (OPENBLAS_CORETYPE=%.40s set by user)", core ? core : "?", user);
        snprintf(g_how, sizeof g_how, "user");
    } else {
        const char *c = core ? core : "?";
        if (native) snprintf(g_desc, sizeof g_desc, "%s (native: the library's own choice)", c);
        else if (has_avx2()) snprintf(g_desc, sizeof g_desc, "%s (reproducible default; also the library's choice)", c);
        else snprintf(g_desc, sizeof g_desc, "%s (the library's choice: no AVX2, so not the reproducible Haswell)", c);
        snprintf(g_how, sizeof g_how, "%s", native ? "native" : has_avx2() ? "reproducible" : "library");
    }
    fr_blas_set_threads(threads);
    return FR_OK;
}

void fr_blas_set_threads(int threads)
{
    if (threads < 1) threads = 1;
    g_threads = threads;
    fr_par_set_threads(threads);
    openblas_set_num_threads(1);
}

/* OpenBLAS stays on one thread from start-up: the constructor is in ops_impl.h, compiled into
 * the modules that call sgemm (conv.c, ops.c), so every program that can run a GEMM has it. */

void fr_blas_set_gemm_threads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }

int fr_blas_threads(void) { return g_threads; }

const char *fr_blas_core(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "?";
}

const char *fr_blas_describe(void) { return g_desc; }

const char *fr_blas_how(void) { return g_how; }
