/* ops_impl.h — reductions shared by the kernel modules (conv.c, ops.c); not a public API.
 *
 * Fixed-width partial sums: the 16-lane inner loops vectorise without -ffast-math (a plain
 * float reduction would not), and the summation order depends only on n, so every kernel that
 * uses them is deterministic. */
#ifndef FRTUI_OPS_IMPL_H
#define FRTUI_OPS_IMPL_H

#include <stddef.h>

#include <cblas.h>

/* OpenBLAS threads on its own above a size threshold, which the chunked conv GEMMs pass; frtui
 * splits the work itself (par.h), so the library must stay on one thread in every program that
 * runs a kernel, also the test programs that never call fr_blas_init (their pool threads raced
 * with OpenBLAS's, TSan saw it).  A constructor, because a shared library's constructors
 * (OpenBLAS's) run before the program's; here, in the modules that call sgemm, because a static
 * library member nobody references (blas.c, in test_conv_chunk) is not linked, nor its
 * constructor run.  Each including module gets its own copy: setting 1 twice is harmless. */
__attribute__((constructor)) static void fr_blas_one_thread(void) { openblas_set_num_threads(1); }

/* -O2 in GCC 12 only vectorises loops whose trip count is a known multiple of the vector
 * width; the direct kernels need the dynamic cost model to vectorise at all.  Applies to every
 * function after this point in the including file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

/* Sum of a[i]*b[i] with 16 independent partial sums: the fixed-width inner loop vectorises
 * (a plain float reduction would not without -ffast-math) and the order is deterministic. */
static inline float dotf(const float *restrict a, const float *restrict b, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[i + j] * b[i + j];
    float t = 0.0f;
    for (; i < n; i++) t += a[i] * b[i];
    for (int j = 0; j < 16; j++) t += acc[j];
    return t;
}

static inline float sumf(const float *restrict a, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[i + j];
    float t = 0.0f;
    for (; i < n; i++) t += a[i];
    for (int j = 0; j < 16; j++) t += acc[j];
    return t;
}

/* Sum of (a[i] - mu)^2, same scheme. */
static inline float sqdevf(const float *restrict a, float mu, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) { float d = a[i + j] - mu; acc[j] += d * d; }
    float t = 0.0f;
    for (; i < n; i++) { float d = a[i] - mu; t += d * d; }
    for (int j = 0; j < 16; j++) t += acc[j];
    return t;
}

#endif
