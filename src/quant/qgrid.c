/* qgrid.c — the initial quantization grid: the step (and zero point) searches that RTN,
 * AdaRound and FlexRound all start from, and that the activation quantizer uses.  Contract:
 * include/frtui/qgrid.h.
 *
 * Design note
 *   Pure functions of (weights, bits, init): no state, no allocation, no threads.  Scores
 *   accumulate in double in element order, so a search is deterministic and independent of
 *   the thread count.  The candidate sets and the L2.4 criterion are the spec's (flexround.md
 *   1.3/1.4, 3.1); decisions on its [I] points are noted at each function.
 */
#include "frtui/qgrid.h"

#include <math.h>

#include "frtui/quant.h"
#include "vmath.h"

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

/* Symmetric signed grid (spec 1.4): candidates δ_i = 2·max(|min_i|, max_i)/(2^b−1), min_i, max_i
 * shrunk by (1 − 0.01 i); the first strictly best L2.4 score wins.  MINMAX = candidate 0. */
float fr_qgrid_sym(const float *w, size_t m, int bits, int init)
{
    float xmin = w[0], xmax = w[0];
    for (size_t k = 1; k < m; k++) { xmin = fminf(xmin, w[k]); xmax = fmaxf(xmax, w[k]); }
    float L = (float)((1 << bits) - 1);
    float lo = -(float)(1 << (bits - 1)), hi = (float)((1 << (bits - 1)) - 1);
    int ncand = init == FR_QINIT_MINMAX ? 1 : 80;
    float best_d = FR_QSTEP_FLOOR;
    double best = INFINITY;
    for (int i = 0; i < ncand; i++) {
        float f = (float)(1.0 - 0.01 * i);
        float nmin = xmin * f, nmax = xmax * f;
        float d = 2.0f * fmaxf(fabsf(nmin), nmax) / L;
        if (!(d >= FR_QSTEP_FLOOR)) d = FR_QSTEP_FLOOR;
        double sc = ncand == 1 ? 0.0 : lp24_score(w, m, d, lo, hi, 0.0f);
        if (sc < best) { best = sc; best_d = d; }
    }
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
    int ncand = init == FR_QINIT_MINMAX ? 1 : 80;
    float best_d = FR_QSTEP_FLOOR, best_z = 0.0f;
    double best = INFINITY;
    for (int i = 0; i < ncand; i++) {
        float f = (float)(1.0 - 0.01 * i);
        float nmin = xmin * f, nmax = xmax * f;
        float d = (nmax - nmin) / L;
        if (!(d >= FR_QSTEP_FLOOR)) d = FR_QSTEP_FLOOR;
        float z = clampf(rintf(-nmin / d), 0.0f, L);
        double sc = ncand == 1 ? 0.0 : lp24_score(w, m, d, -z, L - z, z);
        if (sc < best) { best = sc; best_d = d; best_z = z; }
    }
    *zp_out = best_z;
    return best_d;
}
