/* cli_sweep_report.c — `frtui sweep-report DIR`: one table and the plots of a sweep's points.
 *
 * Design note
 *   Reads only files: DIR/points/NAME/point.json (the parameters, written by the sweep before a
 *   point first starts) and report.json (the run's own --json, present once the point is done),
 *   so it is also the merge step of a Slurm array (the tasks wrote their points, this collects
 *   them) and can run while a sweep is still going (unfinished points are listed as pending).
 *   Writes DIR/sweep-report.csv, DIR/sweep-report.json and the PNGs in DIR/plots/, each atomically;
 *   the plots are pngplot.c's line plots.  Single-threaded; every row owns its strings.
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
#include "frtui/pngplot.h"
#include "frtui/qdefs.h"
#include "frtui/sb.h"

typedef struct row {
    char name[256], model[64], method[16], grain[24], lr[24], iters[16], seed[24], status[12];
    int bits, act_bits, threads;
    double acc_fp, acc_q, ppl_fp, ppl_q, cosine, rel_mse, agree, kl, aggr, clip, elapsed;   /* NaN: not known */
} row;

static fr_json_doc *load(const char *path)
{
    uint8_t *buf;
    size_t n;
    fr_err e;
    fr_json_doc *d = NULL;
    if (access(path, F_OK) != 0 || fr_read_file(path, 64 << 20, &buf, &n, &e)) return NULL;
    if (fr_json_parse((const char *)buf, n, path, &d, &e)) d = NULL;
    free(buf);
    return d;
}

static double num(const fr_json *o, const char *key)
{
    double v;
    return fr_json_num(fr_json_get(o, key), &v) ? v : NAN;
}

/* A parameter as the point name spells it: the number, or "def" for null (the default). */
static void param(const fr_json *o, const char *key, char *buf, size_t n)
{
    const fr_json *v = fr_json_get(o, key);
    double x;
    if (fr_json_num(v, &x)) snprintf(buf, n, "%.9g", x);
    else snprintf(buf, n, "def");
}

static void str(const fr_json *o, const char *key, char *buf, size_t n)
{
    const char *s = fr_json_str(fr_json_get(o, key));
    snprintf(buf, n, "%s", s ? s : "?");
}

static int read_row(const char *dir, const char *name, row *r)
{
    char p[4400];
    memset(r, 0, sizeof *r);
    snprintf(p, sizeof p, "%s/points/%s/point.json", dir, name);
    fr_json_doc *d = load(p);
    if (!d) return -1;
    const fr_json *o = fr_json_root(d);
    snprintf(r->name, sizeof r->name, "%s", name);
    str(o, "model", r->model, sizeof r->model);
    str(o, "method", r->method, sizeof r->method);
    str(o, "grain", r->grain, sizeof r->grain);
    param(o, "lr", r->lr, sizeof r->lr);
    param(o, "iters", r->iters, sizeof r->iters);
    param(o, "seed", r->seed, sizeof r->seed);
    r->bits = (int)num(o, "bits");
    r->act_bits = (int)num(o, "act_bits");
    r->threads = (int)num(o, "threads");
    fr_json_free(d);
    r->acc_fp = r->acc_q = r->ppl_fp = r->ppl_q = r->cosine = r->rel_mse = r->agree = r->kl = r->aggr = r->clip =
        r->elapsed = NAN;
    snprintf(p, sizeof p, "%s/points/%s/report.json", dir, name);
    if (!(d = load(p))) {
        snprintf(p, sizeof p, "%s/points/%s/run.frc", dir, name);
        snprintf(r->status, sizeof r->status, "%s", access(p, F_OK) == 0 ? "partial" : "pending");
        return 0;
    }
    o = fr_json_root(d);
    snprintf(r->status, sizeof r->status, "done");
    r->acc_fp = num(o, "acc_fp");
    r->acc_q = num(o, "acc_q");
    r->elapsed = num(o, "elapsed_s");
    double t = num(o, "threads");
    if (isfinite(t)) r->threads = (int)t;
    const fr_json *f = fr_json_get(o, "fidelity");
    r->cosine = num(f, "cosine");
    r->rel_mse = num(f, "rel_mse");
    r->agree = num(f, "top1_agreement");
    r->kl = num(f, "kl");
    const fr_json *lm = fr_json_get(f, "lm");
    r->ppl_fp = num(lm, "ppl_fp");
    r->ppl_q = num(lm, "ppl_q");
    /* the run's aggressive / clipped fraction: over every weight of every layer */
    double sa = 0, sc = 0, sn = 0;
    const fr_json *units = fr_json_get(o, "units");
    for (size_t u = 0; u < fr_json_len(units); u++) {
        const fr_json *ls = fr_json_get(fr_json_at(units, u), "layers");
        for (size_t l = 0; l < fr_json_len(ls); l++) {
            const fr_json *ly = fr_json_at(ls, l);
            double n = num(ly, "n"), a = num(ly, "aggressive_pct"), c = num(ly, "clipped_pct");
            if (!(n > 0) || !isfinite(a) || !isfinite(c)) continue;
            sa += a * n; sc += c * n; sn += n;
        }
    }
    if (sn > 0) { r->aggr = sa / sn; r->clip = sc / sn; }
    fr_json_free(d);
    return 0;
}

static int cmp_num_str(const char *a, const char *b)
{
    int da = strcmp(a, "def") == 0, db = strcmp(b, "def") == 0;
    if (da || db) return da - db;
    double x = atof(a), y = atof(b);
    return x < y ? -1 : x > y;
}

/* The plot group first (model, grain, A, lr, iters), then method (rtn, adaround, flexround: the
 * legend's order), bits, seed. */
static int row_cmp(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    int c;
    if ((c = strcmp(a->model, b->model)) || (c = strcmp(a->grain, b->grain)) || (c = a->act_bits - b->act_bits) ||
        (c = cmp_num_str(a->lr, b->lr)) || (c = cmp_num_str(a->iters, b->iters)) ||
        (c = fr_method_from_name(a->method) - fr_method_from_name(b->method)) || (c = strcmp(a->method, b->method)) ||
        (c = a->bits - b->bits) || (c = cmp_num_str(a->seed, b->seed)))
        return c;
    return strcmp(a->name, b->name);
}

static int same_group(const row *a, const row *b)
{
    return !strcmp(a->model, b->model) && !strcmp(a->grain, b->grain) && a->act_bits == b->act_bits &&
           !strcmp(a->lr, b->lr) && !strcmp(a->iters, b->iters);
}

#define NCOL 13
static const char *const cols[NCOL] = {"acc_fp", "acc_q", "ppl_fp", "ppl_q", "cosine", "rel_mse", "top1_agreement", "kl",
                                       "aggressive_pct", "clipped_pct", "elapsed_s", NULL, NULL};
static double col(const row *r, int k)
{
    const double v[] = {r->acc_fp, r->acc_q, r->ppl_fp, r->ppl_q, r->cosine, r->rel_mse, r->agree, r->kl, r->aggr, r->clip, r->elapsed};
    return v[k];
}

static int write_tables(const char *dir, const row *rs, int n, fr_err *e)
{
    char p[4400];
    fr_sb b = {0};
    fr_sb_puts(&b, "name,model,method,bits,act_bits,grain,lr,iters,seed,threads,status");
    for (int k = 0; cols[k]; k++) fr_sb_printf(&b, ",%s", cols[k]);
    fr_sb_putc(&b, '\n');
    for (int i = 0; i < n; i++) {
        const row *r = &rs[i];
        fr_sb_csv_field(&b, r->name);
        fr_sb_putc(&b, ',');
        fr_sb_csv_field(&b, r->model);
        fr_sb_printf(&b, ",%s,%d,%d,%s,%s,%s,%s,%d,%s", r->method, r->bits, r->act_bits, r->grain, r->lr, r->iters, r->seed,
                     r->threads, r->status);
        for (int k = 0; cols[k]; k++) {
            fr_sb_putc(&b, ',');
            if (isfinite(col(r, k))) fr_sb_printf(&b, "%.9g", col(r, k));
        }
        fr_sb_putc(&b, '\n');
    }
    snprintf(p, sizeof p, "%s/sweep-report.csv", dir);
    int rc = fr_atomic_write(p, fr_sb_str(&b), b.n, e);
    fr_sb_reset(&b);
    fr_sb_printf(&b, "{\n  \"n_points\": %d,\n  \"points\": [", n);
    for (int i = 0; !rc && i < n; i++) {
        const row *r = &rs[i];
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
        for (int k = 0; cols[k]; k++) {
            fr_sb_printf(&b, ", \"%s\": ", cols[k]);
            fr_sb_json_num(&b, "%.9g", col(r, k));
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
static int plot_group(const char *dir, const row *rs, int a, int b, int which, const char *what, const char *ylabel,
                      double scale, int *n_plots, fr_err *e)
{
    fr_lines_series ser[FR_HIST_MAX_SERIES];
    double buf[FR_HIST_MAX_SERIES][4][16];
    char labels[FR_HIST_MAX_SERIES][16];
    int ns = 0, max_seeds = 0;
    for (int i = a; i < b;) {
        int j = i;
        while (j < b && !strcmp(rs[j].method, rs[i].method)) j++;
        if (ns < FR_HIST_MAX_SERIES) {
            int np = 0;
            for (int k = i; k < j;) {   /* one bits value: [k, m) */
                int m = k, cnt = 0;
                double s = 0, lo = INFINITY, hi = -INFINITY;
                while (m < j && rs[m].bits == rs[k].bits) {
                    double v = col(&rs[m], which) * scale;
                    if (isfinite(v)) { s += v; cnt++; lo = fmin(lo, v); hi = fmax(hi, v); }
                    m++;
                }
                if (cnt && np < 16) {
                    buf[ns][0][np] = rs[k].bits;
                    buf[ns][1][np] = s / cnt;
                    buf[ns][2][np] = lo;
                    buf[ns][3][np] = hi;
                    np++;
                    max_seeds = FR_MAX(max_seeds, cnt);
                }
                k = m;
            }
            if (np) {
                snprintf(labels[ns], sizeof labels[ns], "%s", rs[i].method);
                ser[ns] = (fr_lines_series){buf[ns][0], buf[ns][1], buf[ns][2], buf[ns][3], np, labels[ns]};
                ns++;
            }
        }
        i = j;
    }
    if (!ns) return FR_OK;   /* nothing finished (or no such metric) in this group */
    const row *r = &rs[a];
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

int fr_cli_sweep_report(int argc, char **argv)
{
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui sweep-report DIR\n"
               "  the table of every point of the sweep in DIR (frtui sweep -o DIR), finished or not:\n"
               "  DIR/sweep-report.csv and DIR/sweep-report.json (parameters, top-1 or perplexity, fidelity,\n"
               "  aggressive-rounding fraction, time), and DIR/plots/*.png: the metric and the aggressive\n"
               "  fraction against bits, one line per method, the seed spread as a band.  Also the merge\n"
               "  step of a Slurm array.\n");
        return 0;
    }
    fr_err e;
    fr_err_clear(&e);
    const char *dir = NULL;
    fr_opt t[] = {{.name = NULL}};
    if (fr_opt_parse(t, argc, argv, &dir, 1, NULL, &e)) return fr_cli_usage("sweep-report", &e);
    if (!dir) { fr_err_set(&e, FR_EINPUT, "needs the sweep's folder (frtui sweep-report DIR)"); return fr_cli_usage("sweep-report", &e); }
    char p[4400];
    snprintf(p, sizeof p, "%s/points", dir);
    DIR *d = opendir(p);
    if (!d) {
        fr_err_set(&e, FR_EINPUT, "%s: not a sweep folder (no points/ in it: %s)", dir, strerror(errno));
        return fr_cli_usage("sweep-report", &e);
    }
    int n = 0, cap = 64;
    row *rs = fr_xmalloc((size_t)cap * sizeof *rs);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) rs = fr_xrealloc(rs, (size_t)(cap *= 2) * sizeof *rs);
        if (read_row(dir, de->d_name, &rs[n]) == 0) n++;
    }
    closedir(d);
    qsort(rs, (size_t)n, sizeof *rs, row_cmp);
    int rc = write_tables(dir, rs, n, &e), n_plots = 0, done = 0;
    for (int i = 0; i < n; i++) done += !strcmp(rs[i].status, "done");
    snprintf(p, sizeof p, "%s/plots", dir);
    if (!rc && n && mkdir(p, 0777) != 0 && errno != EEXIST) rc = fr_err_set(&e, FR_EIO, "%s: cannot create: %s", p, strerror(errno));
    for (int i = 0; !rc && i < n;) {
        int j = i;
        while (j < n && same_group(&rs[i], &rs[j])) j++;
        /* top-1 when the bundle has labels, else perplexity (language models), else feature cosine */
        int has_acc = 0, has_ppl = 0;
        for (int k = i; k < j; k++) { has_acc |= isfinite(rs[k].acc_q); has_ppl |= isfinite(rs[k].ppl_q); }
        if (has_acc) rc = plot_group(dir, rs, i, j, 1, "top-1", "top-1 (%)", 100, &n_plots, &e);
        else if (has_ppl) rc = plot_group(dir, rs, i, j, 3, "perplexity", "perplexity", 1, &n_plots, &e);
        else rc = plot_group(dir, rs, i, j, 4, "feature cosine", "cosine to full precision", 1, &n_plots, &e);
        if (!rc) rc = plot_group(dir, rs, i, j, 8, "aggressive rounding", "aggressively rounded weights (%)", 1, &n_plots, &e);
        i = j;
    }
    free(rs);
    if (rc) return fr_cli_fail(&e);
    printf("frtui sweep-report: %s: %d point(s), %d done, %d not yet; wrote sweep-report.csv, sweep-report.json and %d "
           "plot(s) in plots/\n", dir, n, done, n - done, n_plots);
    return 0;
}
