/* qgrid.c — the initial quantization grid: the step (and zero point) searches that RTN,
 * AdaRound and FlexRound all start from, and that the activation quantizer uses.  Contract:
 * include/frtui/qgrid.h.
 *
 * Design note
 *   Pure functions of (weights, bits, init): no state, no allocation.  Scores accumulate in
 *   double in element order, so a search is deterministic and independent of the thread
 *   count.  The candidates of a large tensor are scored in parallel (fr_par: each candidate's
 *   whole score is one part's sequential sum, the pick stays serial and in candidate order),
 *   so the threads change no bit: on MobileNetV2 at 224x224 these searches were ~6 % of a
 *   FlexRound run's CPU, all of it on one core.  The candidate sets and the L2.4 criterion are the spec's (flexround.md
 *   1.3/1.4, 3.1); decisions on its [I] points are noted at each function.
 */
#include "frtui/qgrid.h"

#include <math.h>

#include "frtui/par.h"
#include "frtui/quant.h"
#include "vmath.h"

#define NCAND 80   /* candidates of the MSE (L2.4) search: steps shrunk by 1 % each */

static double lp24_score(const float *w, size_t m, float d, float lo, float hi, float z)
{
    double acc = 0;
    for (size_t k = 0; k < m; k++) {
        float c = clampf(rintf(w[k] / d) + z, lo + z, hi + z) - z;
        float diff = fabsf(w[k] - c * d);
        acc += (double)powf(diff, 2.4f);
    }
    return acc / (double)m;
}

/* Candidate i's grid: step d[i], integer range [lo[i], hi[i]] around zero point z[i]. */
typedef struct cand_job {
    const float *w;
    size_t m;
    int n;
    float d[NCAND], lo[NCAND], hi[NCAND], z[NCAND];
    double sc[NCAND];
} cand_job;

static void cand_part(void *ctx, int part, int nparts)
{
    cand_job *j = ctx;
    int a, b;
    fr_par_range(j->n, part, nparts, &a, &b);
    for (int i = a; i < b; i++) j->sc[i] = lp24_score(j->w, j->m, j->d[i], j->lo[i], j->hi[i], j->z[i]);
}

/* Scores every candidate; below ~64 K element-candidates a region costs more than it saves. */
static void score_all(cand_job *j)
{
    if (j->n == 1) { j->sc[0] = 0.0; return; }
    if ((double)j->m * j->n >= 65536.0 && fr_par_threads() > 1) fr_par_run(cand_part, j);
    else cand_part(j, 0, 1);
}

/* Symmetric signed grid (spec 1.4): candidates δ_i = 2·max(|min_i|, max_i)/(2^b−1), min_i, max_i
 * shrunk by (1 − 0.01 i); the first strictly best L2.4 score wins.  MINMAX = candidate 0. */
float fr_qgrid_sym(const float *w, size_t m, int bits, int init)
{
    float xmin = w[0], xmax = w[0];
    for (size_t k = 1; k < m; k++) { xmin = fminf(xmin, w[k]); xmax = fmaxf(xmax, w[k]); }
    float L = (float)((1 << bits) - 1);
    float lo = -(float)(1 << (bits - 1)), hi = (float)((1 << (bits - 1)) - 1);
    cand_job j = {.w = w, .m = m, .n = init == FR_QINIT_MINMAX ? 1 : NCAND};
    for (int i = 0; i < j.n; i++) {
        float f = (float)(1.0 - 0.01 * i);
        float nmin = xmin * f, nmax = xmax * f;
        float d = 2.0f * fmaxf(fabsf(nmin), nmax) / L;
        if (!(d >= FR_QSTEP_FLOOR)) d = FR_QSTEP_FLOOR;
        j.d[i] = d, j.lo[i] = lo, j.hi[i] = hi, j.z[i] = 0.0f;
    }
    score_all(&j);
    float best_d = FR_QSTEP_FLOOR;
    double best = INFINITY;
    for (int i = 0; i < j.n; i++)
        if (j.sc[i] < best) { best = j.sc[i]; best_d = j.d[i]; }
    return best_d;
}

/* Asymmetric grid (spec 3.1, BRECQ/QDrop "mse"): range [min⁻, max⁺] (0 always included [I]
 * so the zero point lands in [0, 2^b−1] and 0 is exactly representable), candidates shrunk by
 * (1 − 0.01 i); δ = (max−min)/(2^b−1), z = rint(−min/δ), Ŵ = (clamp(rint(W/δ)+z, 0, 2^b−1) − z)·δ. */
float fr_qgrid_asym(const float *w, size_t m, int bits, int init, float *zp_out)
{
    float xmin = 0.0f, xmax = 0.0f;
    for (size_t k = 0; k < m; k++) { xmin = fminf(xmin, w[k]); xmax = fmaxf(xmax, w[k]); }
    float L = (float)((1 << bits) - 1);
    cand_job j = {.w = w, .m = m, .n = init == FR_QINIT_MINMAX ? 1 : NCAND};
    for (int i = 0; i < j.n; i++) {
        float f = (float)(1.0 - 0.01 * i);
        float nmin = xmin * f, nmax = xmax * f;
        float d = (nmax - nmin) / L;
        if (!(d >= FR_QSTEP_FLOOR)) d = FR_QSTEP_FLOOR;
        float z = clampf(rintf(-nmin / d), 0.0f, L);
        j.d[i] = d, j.lo[i] = -z, j.hi[i] = L - z, j.z[i] = z;
    }
    score_all(&j);
    float best_d = FR_QSTEP_FLOOR, best_z = 0.0f;
    double best = INFINITY;
    for (int i = 0; i < j.n; i++)
        if (j.sc[i] < best) { best = j.sc[i]; best_d = j.d[i]; best_z = j.z[i]; }
    *zp_out = best_z;
    return best_d;
}
