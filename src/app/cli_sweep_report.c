/* cli_sweep_report.c — `frtui sweep-report DIR`: one table and the plots of a sweep's points.
 *
 * Design note
 *   Reads only files, through sweepdata.h (point.json, report.json: the rows, shared with the
 *   inspector's sweep view) and each finished point's run.frc (its loss curves), so it is also
 *   the merge step of a Slurm array (the tasks wrote their points, this collects them) and can
 *   run while a sweep is still going (unfinished points are listed with their state).
 *   Writes DIR/sweep-report.csv, DIR/sweep-report.json and the PNGs in DIR/plots/, each atomically;
 *   the plots are pngline.c's line plots.  Single-threaded.
 *   Rows are sorted by parameters, not by directory order, so the table of the same points is
 *   the same bytes wherever and however they were run (times and thread counts aside).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frtui/cli.h"
#include "frtui/json.h"
#include "frtui/opt.h"
#include "frtui/pngline.h"
#include "frtui/qdefs.h"
#include "frtui/sb.h"
#include "frtui/sweepdata.h"
#include "frtui/ckpt.h"

static int write_tables(const char *dir, const fr_sweep_row *rs, int n, fr_err *e)
{
    char p[4400];
    fr_sb b = {0};
    fr_sb_puts(&b, "name,model,method,bits,act_bits,grain,lr,iters,seed,threads,status");
    for (int k = 0; k < FR_SWC__N; k++) fr_sb_printf(&b, ",%s", fr_sweeprows_cols[k]);
    fr_sb_putc(&b, '\n');
    for (int i = 0; i < n; i++) {
        const fr_sweep_row *r = &rs[i];
        fr_sb_csv_field(&b, r->name);
        fr_sb_putc(&b, ',');
        fr_sb_csv_field(&b, r->model);
        fr_sb_printf(&b, ",%s,%d,%d,%s,%s,%s,%s,%d,%s", r->method, r->bits, r->act_bits, r->grain, r->lr, r->iters, r->seed,
                     r->threads, r->status);
        for (int k = 0; k < FR_SWC__N; k++) {
            fr_sb_putc(&b, ',');
            if (isfinite(fr_sweeprows_col(r, k))) fr_sb_printf(&b, "%.9g", fr_sweeprows_col(r, k));
        }
        fr_sb_putc(&b, '\n');
    }
    snprintf(p, sizeof p, "%s/sweep-report.csv", dir);
    int rc = fr_atomic_write(p, fr_sb_str(&b), b.n, e);
    fr_sb_reset(&b);
    fr_sb_printf(&b, "{\n  \"n_points\": %d,\n  \"points\": [", n);
    for (int i = 0; !rc && i < n; i++) {
        const fr_sweep_row *r = &rs[i];
        fr_sb_puts(&b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
        fr_sb_json_str(&b, r->name);
        fr_sb_puts(&b, ", \"model\": ");
        fr_sb_json_str(&b, r->model);
        fr_sb_printf(&b, ", \"method\": \"%s\", \"bits\": %d, \"act_bits\": %d, \"grain\": \"%s\", \"lr\": ", r->method,
                     r->bits, r->act_bits, r->grain);
        fr_sb_puts(&b, strcmp(r->lr, "def") ? r->lr : "null");
        fr_sb_printf(&b, ", \"iters\": %s, \"seed\": %s, \"threads\": %d, \"status\": \"%s\"",
                     strcmp(r->iters, "def") ? r->iters : "null", strcmp(r->seed, "def") ? r->seed : "null", r->threads,
                     r->status);
        for (int k = 0; k < FR_SWC__N; k++) {
            fr_sb_printf(&b, ", \"%s\": ", fr_sweeprows_cols[k]);
            fr_sb_json_num(&b, "%.9g", fr_sweeprows_col(r, k));
        }
        fr_sb_puts(&b, "}");
    }
    fr_sb_puts(&b, "\n  ]\n}\n");
    snprintf(p, sizeof p, "%s/sweep-report.json", dir);
    if (!rc) rc = fr_atomic_write(p, fr_sb_str(&b), b.n, e);
    fr_sb_free(&b);
    return rc;
}

/* One plot of a group's rows [a, b): `which` column against bits, one line per method, the mean
 * over seeds with min..max as the band. */
static int plot_group(const char *dir, const fr_sweep_row *rs, int a, int b, int which, const char *what, const char *ylabel,
                      double scale, int *n_plots, fr_err *e)
{
    fr_sweep_series sv[FR_SWEEP_MAX_SERIES];
    fr_lines_series ser[FR_SWEEP_MAX_SERIES];
    int ns = fr_sweeprows_series(rs, a, b, which, scale, sv), max_seeds = 0;
    for (int k = 0; k < ns; k++) {
        ser[k] = (fr_lines_series){sv[k].x, sv[k].y, sv[k].lo, sv[k].hi, sv[k].n, sv[k].method};
        max_seeds = FR_MAX(max_seeds, sv[k].max_seeds);
    }
    if (!ns) return FR_OK;   /* nothing finished (or no such metric) in this group */
    const fr_sweep_row *r = &rs[a];
    char title[256], note[160], path[4600], act[16] = "";
    if (r->act_bits) snprintf(act, sizeof act, "_A%d", r->act_bits);
    snprintf(title, sizeof title, "%s: %s vs weight bits", r->model, what);
    snprintf(note, sizeof note, "%s grid%s, lr %s, %s it/unit; line: mean of up to %d seed(s), band: min..max", r->grain,
             r->act_bits ? (r->act_bits == 8 ? ", A8" : ", act. quantized") : "", r->lr, r->iters, max_seeds);
    snprintf(path, sizeof path, "%s/plots/%s_%s%s_lr%s_it%s.%s.png", dir, r->model, r->grain, act, r->lr, r->iters,
             which == 8 ? "aggressive" : which == 1 ? "top1" : which == 3 ? "perplexity" : "cosine");
    fr_lines_in in = {ser, ns, 1, title, note, "weight bits", ylabel};
    int rc = fr_pngplot_lines(path, &in, e);
    *n_plots += !rc;
    return rc;
}

/* One point's loss curve: the reconstruction loss of its run's last unit, per iteration, from
 * run.frc (the report JSON has only each unit's final loss).  The last unit because it is the
 * one whose output is the model's output, and the same unit for every point of a plot, so the
 * lines compare like with like; only finished points, so no half-run unit enters a band.
 * Returns the iteration count (0: none, e.g. RTN, which has no iterations). */
static int point_curve(const char *dir, const fr_sweep_row *r, float **out)
{
    char p[4400];
    fr_ckpt c;
    fr_err e;
    *out = NULL;
    if (r->st != FR_SWP_DONE) return 0;
    snprintf(p, sizeof p, "%s/points/%s/run.frc", dir, r->name);
    if (access(p, F_OK) != 0 || fr_ckpt_load(p, &c, &e)) return 0;
    int n = 0;
    const fr_ckpt_unit *u = c.n_units > 0 ? &c.units[c.n_units - 1] : NULL;
    if (u && u->n_loss > 0 && u->loss_rec) {
        n = u->n_loss;
        *out = fr_xmalloc((size_t)n * sizeof **out);
        memcpy(*out, u->loss_rec, (size_t)n * sizeof **out);
    }
    fr_ckpt_free(&c);
    return n;
}

/* Loss against iterations for a group's rows [a, b) at each weight bit width: one line per
 * method (the mean over seeds of each point's curve, averaged into LOSS_PTS buckets so a
 * 20000-iteration run stays a readable line), min..max over seeds as the band. */
#define LOSS_PTS 200
static int plot_loss(const char *dir, const fr_sweep_row *rs, int a, int b, int *n_plots, fr_err *e)
{
    int bits_seen[64], nb = 0, rc = FR_OK;
    for (int i = a; i < b; i++) {
        int k = 0;
        while (k < nb && bits_seen[k] != rs[i].bits) k++;
        if (k == nb && nb < 64) bits_seen[nb++] = rs[i].bits;
    }
    double *buf = fr_xmalloc(sizeof(double) * FR_HIST_MAX_SERIES * 4 * LOSS_PTS);
    for (int bi = 0; !rc && bi < nb; bi++) {
        fr_lines_series ser[FR_HIST_MAX_SERIES];
        char labels[FR_HIST_MAX_SERIES][16];
        int ns = 0, max_seeds = 0, max_n = 0;
        for (int i = a; i < b;) {   /* one method: [i, j) */
            int j = i;
            while (j < b && !strcmp(rs[j].method, rs[i].method)) j++;
            float *cv[64];
            int nc = 0, len = 0;
            for (int k = i; k < j && nc < 64; k++) {
                if (rs[k].bits != bits_seen[bi]) continue;
                int m = point_curve(dir, &rs[k], &cv[nc]);
                if (m <= 0) continue;
                len = nc ? FR_MIN(len, m) : m;
                nc++;
            }
            if (nc && ns < FR_HIST_MAX_SERIES) {
                double *x = buf + (size_t)ns * 4 * LOSS_PTS, *y = x + LOSS_PTS, *lo = y + LOSS_PTS, *hi = lo + LOSS_PTS;
                int np = FR_MIN(len, LOSS_PTS);
                for (int q = 0; q < np; q++) {
                    int s0 = (int)((int64_t)q * len / np), s1 = (int)((int64_t)(q + 1) * len / np);
                    double sum = 0, l = INFINITY, h = -INFINITY;
                    int cnt = 0;
                    for (int c = 0; c < nc; c++) {
                        double v = 0;
                        int vn = 0;
                        for (int t = s0; t < s1; t++) if (isfinite(cv[c][t])) { v += cv[c][t]; vn++; }
                        if (!vn) continue;
                        v /= vn;
                        sum += v; cnt++; l = fmin(l, v); h = fmax(h, v);
                    }
                    x[q] = 0.5 * (s0 + s1);   /* iterations done at the bucket's centre */
                    y[q] = cnt ? sum / cnt : NAN;
                    lo[q] = cnt ? l : NAN;
                    hi[q] = cnt ? h : NAN;
                }
                snprintf(labels[ns], sizeof labels[ns], "%s", rs[i].method);
                ser[ns] = (fr_lines_series){x, y, lo, hi, np, labels[ns]};
                ns++;
                max_seeds = FR_MAX(max_seeds, nc);
                max_n = FR_MAX(max_n, len);
            }
            for (int c = 0; c < nc; c++) free(cv[c]);
            i = j;
        }
        if (!ns) continue;   /* no finished learned point at these bits (RTN has no curve) */
        const fr_sweep_row *r = &rs[a];
        char title[256], note[200], path[4600], act[16] = "";
        if (r->act_bits) snprintf(act, sizeof act, "_A%d", r->act_bits);
        snprintf(title, sizeof title, "%s W%d: last unit's reconstruction loss vs iteration", r->model, bits_seen[bi]);
        snprintf(note, sizeof note, "%s grid%s, lr %s, %d it; line: mean of up to %d seed(s), band: min..max; "
                 "mean over %d-iteration buckets", r->grain, r->act_bits ? ", act. quantized" : "", r->lr, max_n,
                 max_seeds, (max_n + LOSS_PTS - 1) / LOSS_PTS);
        snprintf(path, sizeof path, "%s/plots/%s_%s%s_lr%s_it%s_W%d.loss.png", dir, r->model, r->grain, act, r->lr,
                 r->iters, bits_seen[bi]);
        fr_lines_in in = {ser, ns, 0, title, note, "iteration", "reconstruction loss (last unit)"};
        rc = fr_pngplot_lines(path, &in, e);
        *n_plots += !rc;
    }
    free(buf);
    return rc;
}

int fr_cli_sweep_report(int argc, char **argv)
{
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui sweep-report DIR\n"
               "  the table of every point of the sweep in DIR (frtui sweep -o DIR), finished or not:\n"
               "  DIR/sweep-report.csv and DIR/sweep-report.json (parameters, top-1 or perplexity, fidelity,\n"
               "  aggressive-rounding fraction, time), and DIR/plots/*.png: the metric and the aggressive\n"
               "  fraction against bits, one line per method, the seed spread as a band, and\n"
               "  the last unit's reconstruction loss against iterations per bit width (from each run.frc).\n"
               "  Also the merge step of a Slurm array.\n");
        return 0;
    }
    fr_err e;
    fr_err_clear(&e);
    const char *dir = NULL;
    fr_opt t[] = {{.name = NULL}};
    if (fr_opt_parse(t, argc, argv, &dir, 1, NULL, &e)) return fr_cli_usage("sweep-report", &e);
    if (!dir) { fr_err_set(&e, FR_EINPUT, "needs the sweep's folder (frtui sweep-report DIR)"); return fr_cli_usage("sweep-report", &e); }
    char p[4400];
    int n = 0;
    fr_sweep_row *rs = NULL;
    if (fr_sweepdata_load(dir, &rs, &n, &e)) return fr_cli_usage("sweep-report", &e);
    int rc = write_tables(dir, rs, n, &e), n_plots = 0, done = 0;
    for (int i = 0; i < n; i++) done += !strcmp(rs[i].status, "done");
    snprintf(p, sizeof p, "%s/plots", dir);
    if (!rc && n && mkdir(p, 0777) != 0 && errno != EEXIST) rc = fr_err_set(&e, FR_EIO, "%s: cannot create: %s", p, strerror(errno));
    for (int i = 0; !rc && i < n;) {
        int j = i;
        while (j < n && fr_sweeprows_same_group(&rs[i], &rs[j])) j++;
        /* top-1 when the bundle has labels, else perplexity (language models), else feature cosine */
        int metric = fr_sweeprows_metric(rs, i, j);
        if (metric == FR_SWC_ACC_Q) rc = plot_group(dir, rs, i, j, 1, "top-1", "top-1 (%)", 100, &n_plots, &e);
        else if (metric == FR_SWC_PPL_Q) rc = plot_group(dir, rs, i, j, 3, "perplexity", "perplexity", 1, &n_plots, &e);
        else rc = plot_group(dir, rs, i, j, 4, "feature cosine", "cosine to full precision", 1, &n_plots, &e);
        if (!rc) rc = plot_group(dir, rs, i, j, 8, "aggressive rounding", "aggressively rounded weights (%)", 1, &n_plots, &e);
        if (!rc) rc = plot_loss(dir, rs, i, j, &n_plots, &e);
        i = j;
    }
    free(rs);
    if (rc) return fr_cli_fail(&e);
    printf("frtui sweep-report: %s: %d point(s), %d done, %d not yet; wrote sweep-report.csv, sweep-report.json and %d "
           "plot(s) in plots/\n", dir, n, done, n - done, n_plots);
    return 0;
}
