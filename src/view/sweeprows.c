/* sweeprows.c — a sweep's rows as plot lines (sweeprows.h).
 *
 * Design note
 *   Pure functions of rows already read (src/app/sweepdata.c reads them), so the report's PNGs
 *   and the sweep view's cell plots aggregate the same way.  No state, no allocation.
 */
#include "frtui/sweeprows.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const fr_sweeprows_status_names[5] = {"pending", "running", "partial", "failed", "done"};
const char *const fr_sweeprows_cols[FR_SWC__N] = {"acc_fp", "acc_q", "ppl_fp", "ppl_q", "cosine", "rel_mse",
                                                  "top1_agreement", "kl", "aggressive_pct", "clipped_pct", "elapsed_s"};

double fr_sweeprows_col(const fr_sweep_row *r, int k)
{
    const double v[FR_SWC__N] = {r->acc_fp, r->acc_q, r->ppl_fp, r->ppl_q, r->cosine, r->rel_mse,
                                 r->agree,  r->kl,    r->aggr,   r->clip,  r->elapsed};
    return k >= 0 && k < FR_SWC__N ? v[k] : NAN;
}

int fr_sweeprows_same_group(const fr_sweep_row *a, const fr_sweep_row *b)
{
    return !strcmp(a->model, b->model) && !strcmp(a->grain, b->grain) && a->act_bits == b->act_bits &&
           !strcmp(a->lr, b->lr) && !strcmp(a->iters, b->iters);
}

int fr_sweeprows_metric(const fr_sweep_row *rs, int a, int b)
{
    int has_acc = 0, has_ppl = 0;
    for (int k = a; k < b; k++) { has_acc |= isfinite(rs[k].acc_q); has_ppl |= isfinite(rs[k].ppl_q); }
    return has_acc ? FR_SWC_ACC_Q : has_ppl ? FR_SWC_PPL_Q : FR_SWC_COSINE;
}

int fr_sweeprows_series(const fr_sweep_row *rs, int a, int b, int col, double scale, fr_sweep_series *out)
{
    int ns = 0;
    for (int i = a; i < b;) {   /* rows are sorted by method, then bits, then seed */
        int j = i;
        while (j < b && !strcmp(rs[j].method, rs[i].method)) j++;
        if (ns < FR_SWEEP_MAX_SERIES) {
            fr_sweep_series *s = &out[ns];
            memset(s, 0, sizeof *s);
            for (int k = i; k < j;) {   /* one bits value: [k, m) */
                int m = k, cnt = 0;
                double sum = 0, lo = INFINITY, hi = -INFINITY;
                while (m < j && rs[m].bits == rs[k].bits) {
                    double v = fr_sweeprows_col(&rs[m], col) * scale;
                    if (isfinite(v)) { sum += v; cnt++; lo = fmin(lo, v); hi = fmax(hi, v); }
                    m++;
                }
                if (cnt && s->n < FR_SWEEP_SERIES_PTS) {
                    s->x[s->n] = rs[k].bits;
                    s->y[s->n] = sum / cnt;
                    s->lo[s->n] = lo;
                    s->hi[s->n] = hi;
                    s->n++;
                    s->max_seeds = FR_MAX(s->max_seeds, cnt);
                }
                k = m;
            }
            if (s->n) { snprintf(s->method, sizeof s->method, "%s", rs[i].method); ns++; }
        }
        i = j;
    }
    return ns;
}

