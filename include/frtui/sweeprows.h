/* sweeprows.h — one row per point of a sweep, and what the plots make of rows: the part of a
 * sweep's table that needs no files, shared by `frtui sweep-report` (through sweepdata.h, which
 * reads the rows) and the inspector's sweep view (sweepview.h).
 *
 * Design note
 *   In the view layer because the sweep view draws from it and the view sees no files; the
 *   reading lives in src/app/sweepdata.c.  A row owns no pointers.  The functions below take a
 *   run of rows sorted as fr_sweepdata_load sorts them (plot group, method, bits, seed).
 */
#ifndef FRTUI_SWEEPROWS_H
#define FRTUI_SWEEPROWS_H

#include "frtui/common.h"

/* status of a point, from its files and its directory lock (cli_sweep.c flocks it while the
 * child runs): pending (not started: a name in sweep.json, or point.json alone), running (locked), partial (a checkpoint, not locked:
 * interrupted), failed (the run's output but no report, not locked), done (report.json) */
enum { FR_SWP_PENDING = 0, FR_SWP_RUNNING, FR_SWP_PARTIAL, FR_SWP_FAILED, FR_SWP_DONE };
extern const char *const fr_sweeprows_status_names[5];

typedef struct fr_sweep_row {
    char name[256], model[64], method[16], grain[24], lr[24], iters[16], seed[24], status[12];
    int st;                 /* FR_SWP_* */
    int bits, act_bits, threads;
    double acc_fp, acc_q, ppl_fp, ppl_q, cosine, rel_mse, agree, kl, aggr, clip, elapsed;   /* NaN: not known */
} fr_sweep_row;

/* The metric columns by index (CSV/JSON names); fr_sweeprows_col(r, k) is column k's value. */
enum { FR_SWC_ACC_FP = 0, FR_SWC_ACC_Q, FR_SWC_PPL_FP, FR_SWC_PPL_Q, FR_SWC_COSINE, FR_SWC_REL_MSE, FR_SWC_AGREE,
       FR_SWC_KL, FR_SWC_AGGR, FR_SWC_CLIP, FR_SWC_ELAPSED, FR_SWC__N };
extern const char *const fr_sweeprows_cols[FR_SWC__N];
double fr_sweeprows_col(const fr_sweep_row *r, int k);

/* Rows a and b belong to the same plot (model, grain, act bits, lr, iterations). */
int fr_sweeprows_same_group(const fr_sweep_row *a, const fr_sweep_row *b);
/* The headline metric of a group [a, b): FR_SWC_ACC_Q when the bundle has labels, else
 * FR_SWC_PPL_Q (language models), else FR_SWC_COSINE. */
int fr_sweeprows_metric(const fr_sweep_row *rs, int a, int b);
/* One line of a "metric against bits" plot: a method's mean over seeds at each bit width, with
 * the min..max over seeds (the band).  Points whose metric is not known yet are left out. */
#define FR_SWEEP_SERIES_PTS 16
#define FR_SWEEP_MAX_SERIES 8
typedef struct fr_sweep_series {
    char method[16];
    int n, max_seeds;
    double x[FR_SWEEP_SERIES_PTS], y[FR_SWEEP_SERIES_PTS], lo[FR_SWEEP_SERIES_PTS], hi[FR_SWEEP_SERIES_PTS];
} fr_sweep_series;
/* The series of column `col` (times scale) over a group's rows [a, b) (sorted as loaded):
 * returns how many (<= FR_SWEEP_MAX_SERIES; methods without a known value give none). */
int fr_sweeprows_series(const fr_sweep_row *rs, int a, int b, int col, double scale, fr_sweep_series *out);


#endif
