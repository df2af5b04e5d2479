/* blas.h — OpenBLAS core-type fix and thread control (see src/engine/blas.c for why). */
#ifndef FRTUI_BLAS_H
#define FRTUI_BLAS_H

#include "frtui/common.h"

/* Call first in main(), before any BLAS call.  May re-exec the program (once) with
 * OPENBLAS_CORETYPE set: by default to Haswell on every AVX2 CPU (the same results on every
 * machine), with FRTUI_BLAS_CORE=native to the best core when the library fell back to generic
 * kernels.  A user-set OPENBLAS_CORETYPE is respected.  argv must be main's NULL-terminated
 * argv.  FR_EINPUT for a bad FRTUI_BLAS_CORE. */
int fr_blas_init(char **argv, int threads, fr_err *e);
/* Compute threads: the part count of every kernel region (par.h); OpenBLAS stays at 1.  Size
 * scratch (fr_conv_scratch) after setting it. */
void fr_blas_set_threads(int threads);
/* OpenBLAS's own thread count, for measuring the raw sgemm peak only (bench); reset it to 1
 * with fr_blas_set_threads before running kernels. */
void fr_blas_set_gemm_threads(int threads);
int fr_blas_threads(void);
const char *fr_blas_core(void);       /* e.g. "SkylakeX" */
const char *fr_blas_describe(void);   /* core plus how it was chosen */
/* How: "reproducible" (frtui's default), "native", "user" (OPENBLAS_CORETYPE) or "fallback". */
const char *fr_blas_how(void);

#endif
