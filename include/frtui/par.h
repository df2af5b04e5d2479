/* par.h — frtui's own fork-join parallelism for the compute kernels (src/base/par.c).
 *
 * A parallel region splits its work into exactly fr_par_threads() parts, and part p always does
 * the same work whichever OS thread runs it, so results depend on the part count only, never on
 * scheduling: same seed + same thread count gives bit-identical results.
 */
#ifndef FRTUI_PAR_H
#define FRTUI_PAR_H

#define FR_PAR_MAX 64   /* most parts a region can have */

/* Work of one part: part in [0, nparts). */
typedef void (*fr_par_fn)(void *ctx, int part, int nparts);

/* Parts per region (>= 1).  Set by fr_blas_set_threads(); scratch sized with one value must not
 * be used after raising it. */
int fr_par_threads(void);
void fr_par_set_threads(int n);

/* Runs fn(ctx, p, n) for every p in [0, n), n = fr_par_threads(), and returns when all are
 * done.  The caller runs part 0; pool threads run the others.  When the pool is busy (another
 * thread is inside a region) the caller runs all parts itself, in order: same results. */
void fr_par_run(fr_par_fn fn, void *ctx);

/* [*lo, *hi) of `count` items for `part` of `nparts`: contiguous, balanced, deterministic. */
void fr_par_range(int count, int part, int nparts, int *lo, int *hi);

#endif
