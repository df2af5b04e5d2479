/* contrast.c — `frtui-dev contrast`: the paper's "compact networks round more aggressively"
 * contrast from finished runs, as one Markdown table and one PNG (issue 15, item 3).
 *
 * Design note
 *   Input: checkpoints of FlexRound runs (`frtui run ... --checkpoint RUN.frc`), one per network,
 *   made with the same bits, iterations, batch and learning rate (the tool prints each run's
 *   settings and warns when they differ; it does not refuse, so a reduced run can still be shown).
 *   For each run the checkpoint's snapshot (fr_cli_load_replay) gives every unit's aggressive-
 *   rounding fraction (% of weights moved past the two nearest grid points, clipped ones not
 *   counted) and its name; "per block" means the BRECQ block units ("block:" names) in network
 *   order, and the first block is the paper's statistic (12.8 % MobileNetV2 vs 1.5 % ResNet-18).
 *   With --eval DATA.npy (one per checkpoint, same order) the run's fidelity is measured too:
 *   the quantized model of the checkpoint (fr_qmodel_build: finished units quantized, the rest
 *   full precision) against the bundle's full-precision graph on those held-out samples, at the
 *   "feature" node: the first global average pool after the last finished unit when no conv/
 *   linear lies between them (MobileNetV2 stopped at Conv_1: its 1280-d GAP features), else the
 *   last finished unit's output (the face ResNet run to its fc: the 128-d embedding).  Reported:
 *   mean cosine to full precision over samples, and relative MSE sum|q-f|^2 / sum|f|^2.
 *   The plot is frtui's own PNG histogram renderer (fr_pngplot_hist) with one bar series per
 *   network over block ordinal 1..N (translucent overlay, legend) — no new drawing code.
 *   Ownership: everything is loaded, measured and freed per run; outputs are written atomically
 *   (fr_atomic via fr_pngplot_hist and write_text).  Single-threaded apart from the engine's
 *   own BLAS threads; results do not depend on the thread count beyond what fr_exec guarantees.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/ckpt.h"
#include "frtui/cli.h"
#include "frtui/dataio.h"
#include "frtui/devtools.h"
#include "frtui/exec.h"
#include "frtui/export_model.h"
#include "frtui/opt.h"
#include "frtui/partition.h"
#include "frtui/pngplot.h"
#include "frtui/runcfg.h"
#include "frtui/sb.h"
#include "frtui/snapshot.h"

#define CT_MAX_RUNS 8

typedef struct ct_run {
    char label[160], settings[256];
    int n_blocks, n_units, n_done;
    char **bname;          /* block unit names */
    double *baggr, *bclip; /* % per block */
    double first_aggr, mean_aggr, all_aggr;   /* first block, mean over blocks, all done units weighted by size */
    int iters, batch, bits;
    float lr;
    int per_channel;
    int have_fid;
    double cos_mean, cos_min, rel_mse;
    int fid_n;
    char fid_node[96];
} ct_run;

typedef struct str_list { const char *v[CT_MAX_RUNS]; int n; } str_list;

static int opt_push(const char *name, const char *v, void *dst, fr_err *e)
{
    str_list *l = dst;
    if (l->n >= CT_MAX_RUNS) return fr_err_set(e, FR_EINPUT, "%s: at most %d", name, CT_MAX_RUNS);
    l->v[l->n++] = v;
    return FR_OK;
}

/* The node whose output is compared: see the design note.  last = last node of the last
 * finished unit in g. */
static int feature_node(const fr_graph *g, int last)
{
    for (int i = last + 1; i < g->n_nodes; i++) {
        if (fr_node_is_layer(&g->nodes[i])) break;
        if (g->nodes[i].op == FR_OP_GAP) return i;
    }
    return last;
}

static int fidelity(ct_run *r, const fr_ckpt *c, const fr_model *m, const fr_snapshot *s, const char *eval_path,
                    fr_err *e)
{
    fr_dataset d;
    int rc = fr_npy_read_dataset(eval_path, &d, e);
    if (rc) return rc;
    if (d.c != m->meta.in_c || d.h != m->meta.in_h || d.w != m->meta.in_w) {
        rc = fr_err_set(e, FR_EINPUT, "%s: samples are %dx%dx%d, %s expects %dx%dx%d", eval_path, d.c, d.h, d.w,
                        m->meta.name, m->meta.in_c, m->meta.in_h, m->meta.in_w);
        fr_dataset_free(&d);
        return rc;
    }
    fr_qmodel q;
    if ((rc = fr_qmodel_build(c, m, &q, NULL, e))) { fr_dataset_free(&d); return rc; }
    /* The full-precision graph, folded as the engine folds it, so node indices match q.g. */
    fr_graph fp;
    fr_graph_copy(&fp, &m->g);
    fr_graph_fold_bn(&fp);
    int last_done = -1;
    fr_partition p;
    if (fp.n_nodes != q.g.n_nodes) rc = fr_err_set(e, FR_EINPUT, "%s: quantized graph does not match its bundle", c->src);
    else if (!(rc = fr_partition_build(&fp, strcmp(s->info.granularity, "layer") == 0, (fr_unit_rule)c->cfg.unit_rule, &p, e))) {
        for (int k = 0; k < p.n && k < s->n_units; k++)
            if (s->units[k]->status == FR_UNIT_DONE) last_done = p.units[k].last;
        fr_partition_free(&p);
        if (last_done < 0) rc = fr_err_set(e, FR_EINPUT, "%s: no finished unit", c->src);
    }
    if (!rc) rc = fr_graph_infer_shapes(&fp, m->meta.in_c, m->meta.in_h, m->meta.in_w, e);
    int node = rc ? -1 : feature_node(&fp, last_done);
    const int B = 16;
    fr_exec *xf = NULL, *xq = NULL;
    if (!rc) {
        xf = fr_exec_new(&fp, 0, node, B, FR_EXEC_INFER, e);
        if (xf) xq = fr_exec_new(&q.g, 0, node, B, FR_EXEC_INFER, e);
        if (!xf || !xq) rc = e->code ? e->code : FR_ENOMEM;
    }
    if (!rc) {
        size_t per = (size_t)d.c * d.h * d.w, fdim = (size_t)fp.nodes[node].c * fp.nodes[node].h * fp.nodes[node].w;
        float *in = fr_xmalloc((size_t)B * per * sizeof(float));
        double cs = 0, cmin = 1, num = 0, den = 0;
        for (int i0 = 0; i0 < d.n; i0 += B) {
            int nb = d.n - i0 < B ? d.n - i0 : B;
            for (int i = 0; i < nb; i++) fr_dataset_sample(&d, &m->meta, i0 + i, in + (size_t)i * per);
            fr_exec_bind_input(xf, 0, in);
            fr_exec_bind_input(xq, 0, in);
            fr_exec_forward(xf, nb);
            fr_exec_forward(xq, nb);
            const float *yf = fr_exec_out(xf, node), *yq = fr_exec_out(xq, node);
            for (int i = 0; i < nb; i++) {
                double dot = 0, nf = 0, nq = 0, df = 0;
                for (size_t j = 0; j < fdim; j++) {
                    double a = yf[(size_t)i * fdim + j], b = yq[(size_t)i * fdim + j];
                    dot += a * b; nf += a * a; nq += b * b; df += (a - b) * (a - b);
                }
                double cosv = nf > 0 && nq > 0 ? dot / sqrt(nf * nq) : 0;
                cs += cosv;
                cmin = fmin(cmin, cosv);
                num += df;
                den += nf;
            }
        }
        free(in);
        r->have_fid = 1;
        r->fid_n = d.n;
        r->cos_mean = d.n ? cs / d.n : 0;
        r->cos_min = cmin;
        r->rel_mse = den > 0 ? num / den : 0;
        snprintf(r->fid_node, sizeof r->fid_node, "%s", fp.nodes[node].name);
    }
    fr_exec_free(xf);
    fr_exec_free(xq);
    fr_graph_free(&fp);
    fr_qmodel_free(&q);
    fr_dataset_free(&d);
    return rc;
}

static int load_run(ct_run *r, const char *path, const char *eval_path, fr_err *e)
{
    memset(r, 0, sizeof *r);
    fr_ckpt c;
    fr_model m;
    fr_snapshot *s = NULL;
    if (fr_cli_load_replay(path, NULL, &c, &m, &s)) return -1;   /* its one line is printed */
    const fr_run_info *in = &s->info;
    snprintf(r->label, sizeof r->label, "%s", m.meta.name);
    r->iters = in->iters;
    r->batch = in->batch;
    r->bits = in->bits;
    r->lr = fr_run_config_lr(&c.cfg, in->method);
    r->per_channel = c.cfg.per_channel;
    snprintf(r->settings, sizeof r->settings, "%s W%d (first/last W%d), %s, %s, %d it/unit, batch %d, lr %g, %d calib",
             fr_method_name(in->method), in->bits, c.cfg.first_last_bits ? c.cfg.first_last_bits : in->bits,
             c.cfg.per_channel ? "per-channel" : "per-tensor", in->granularity, in->iters, in->batch,
             (double)fr_run_config_lr(&c.cfg, in->method),
             c.n_calib);
    r->n_units = s->n_units;
    r->bname = fr_xcalloc((size_t)s->n_units + 1, sizeof *r->bname);
    r->baggr = fr_xcalloc((size_t)s->n_units + 1, sizeof *r->baggr);
    r->bclip = fr_xcalloc((size_t)s->n_units + 1, sizeof *r->bclip);
    double agg_w = 0, n_w = 0, sum_b = 0;
    for (int u = 0; u < s->n_units; u++) {
        const fr_unit_view *v = s->units[u];
        if (v->status != FR_UNIT_DONE) continue;
        r->n_done++;
        int64_t n = 0;
        for (int l = 0; l < v->n_layers; l++) n += v->layers[l].n;
        agg_w += v->aggressive * (double)n;
        n_w += (double)n;
        if (strncmp(v->name, "block:", 6) != 0) continue;
        r->bname[r->n_blocks] = fr_xstrdup(v->name + 6);
        r->baggr[r->n_blocks] = 100 * v->aggressive;
        r->bclip[r->n_blocks] = 100 * v->clipped;
        sum_b += r->baggr[r->n_blocks];
        r->n_blocks++;
    }
    r->first_aggr = r->n_blocks ? r->baggr[0] : NAN;
    r->mean_aggr = r->n_blocks ? sum_b / r->n_blocks : NAN;
    r->all_aggr = n_w > 0 ? 100 * agg_w / n_w : NAN;
    int rc = FR_OK;
    if (eval_path) rc = fidelity(r, &c, &m, s, eval_path, e);
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
    fr_model_free(&m);
    return rc;
}

static void run_free(ct_run *r)
{
    for (int k = 0; k < r->n_blocks; k++) free(r->bname[k]);
    free(r->bname);
    free(r->baggr);
    free(r->bclip);
}

static void table(fr_sb *b, const ct_run *r, int n)
{
    fr_sb_puts(b, "| network | run | units done | blocks | **first block aggr %** | mean over blocks % | all quantized weights % |"
                  " fidelity to FP (held-out) |\n|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < n; k++) {
        fr_sb_printf(b, "| %s | %s | %d/%d | %d | **%.2f** | %.2f | %.2f | ", r[k].label, r[k].settings, r[k].n_done,
                     r[k].n_units, r[k].n_blocks, r[k].first_aggr, r[k].mean_aggr, r[k].all_aggr);
        if (r[k].have_fid)
            fr_sb_printf(b, "cosine %.4f (min %.4f), rel. MSE %.4f at %s, %d samples |\n", r[k].cos_mean, r[k].cos_min,
                         r[k].rel_mse, r[k].fid_node, r[k].fid_n);
        else
            fr_sb_puts(b, "- |\n");
    }
    int rows = 0;
    for (int k = 0; k < n; k++) rows = r[k].n_blocks > rows ? r[k].n_blocks : rows;
    fr_sb_puts(b, "\nAggressive rounding per BRECQ block (% of the block's weights moved past the two nearest grid "
                  "points; clip = % pinned at a grid end, not counted)\n\n| block |");
    for (int k = 0; k < n; k++) fr_sb_printf(b, " %s | aggr %% | clip %% |", r[k].label);
    fr_sb_puts(b, "\n|---|");
    for (int k = 0; k < n; k++) fr_sb_puts(b, "---|---|---|");
    for (int i = 0; i < rows; i++) {
        fr_sb_printf(b, "\n| %d |", i + 1);
        for (int k = 0; k < n; k++)
            if (i < r[k].n_blocks) fr_sb_printf(b, " %s | %.2f | %.2f |", r[k].bname[i], r[k].baggr[i], r[k].bclip[i]);
            else fr_sb_puts(b, " | | |");
    }
    fr_sb_puts(b, "\n");
}

static int plot(const char *path, const ct_run *r, int n, fr_err *e)
{
    fr_hist_series ser[CT_MAX_RUNS];
    float *edges[CT_MAX_RUNS];
    char labels[CT_MAX_RUNS][256];
    int ok = 0;
    int same_gran = 1;   /* granularity in the title when shared, else in each legend entry */
    for (int k = 1; k < n; k++) same_gran &= r[k].per_channel == r[0].per_channel;
    for (int k = 0; k < n; k++) {
        if (!r[k].n_blocks) continue;
        edges[ok] = fr_xmalloc(((size_t)r[k].n_blocks + 1) * sizeof(float));
        for (int i = 0; i <= r[k].n_blocks; i++) edges[ok][i] = (float)i + 0.5f;
        snprintf(labels[ok], sizeof labels[ok], "%.100s%s: first %.2f%%, mean %.2f%%", r[k].label,
                 same_gran ? "" : r[k].per_channel ? " per-channel" : " per-tensor", r[k].first_aggr, r[k].mean_aggr);
        ser[ok] = (fr_hist_series){.edges = edges[ok], .counts = r[k].baggr, .nbins = r[k].n_blocks, .label = labels[ok]};
        ok++;
    }
    if (!ok) return fr_err_set(e, FR_EINPUT, "no run has a finished BRECQ block to plot");
    char title[256];
    snprintf(title, sizeof title, "FlexRound W%d aggressive rounding per BRECQ block (%s%d it/unit, batch %d)", r[0].bits,
             !same_gran ? "" : r[0].per_channel ? "per-channel, " : "per-tensor, ", r[0].iters, r[0].batch);
    fr_hist_in h = {.series = ser, .nseries = ok, .title = title, .xlabel = "block (network order)",
                    .ylabel = "% of weights rounded aggressively"};
    int rc = fr_pngplot_hist(path, &h, e);
    for (int k = 0; k < ok; k++) free(edges[k]);
    return rc;
}

int fr_dev_contrast(int argc, char **argv)
{
    static const char help[] =
        "usage: frtui-dev contrast [--eval DATA.npy]... [--label NAME]... [--md OUT.md] [--png OUT.png] RUN.frc...\n"
        "  FlexRound's aggressive rounding per BRECQ block of each run (checkpoints of `frtui run\n"
        "  --checkpoint`), as a Markdown table (stdout, or --md) and one PNG bar chart (--png).\n"
        "  --eval: held-out samples per checkpoint, in the same order: adds the feature cosine and\n"
        "  relative MSE of the quantized model against full precision.\n"
        "  --label: a name per checkpoint, same order (default: the bundle's model name).\n"
        "  Checkpoints of unfinished runs are accepted: only their finished units are shown.\n";
    if (fr_opt_wants_help(argc, argv)) { fputs(help, stdout); return 0; }
    const char *md = NULL, *png = NULL, *files[CT_MAX_RUNS];
    str_list ev = {.n = 0}, lab = {.n = 0};
    fr_opt t[] = {
        {.name = "--md", .kind = FR_OPT_STR, .dst = &md},
        {.name = "--png", .kind = FR_OPT_STR, .dst = &png},
        {.name = "--eval", .kind = FR_OPT_FN, .fn = opt_push, .dst = &ev},
        {.name = "--label", .kind = FR_OPT_FN, .fn = opt_push, .dst = &lab},
        {.name = NULL},
    };
    fr_err e;
    fr_err_clear(&e);
    int nf = 0;
    if (fr_opt_parse(t, argc, argv, files, CT_MAX_RUNS, &nf, &e)) { fprintf(stderr, "frtui-dev contrast: %s\n", e.msg); return 2; }
    if (nf < 1) { fputs(help, stderr); return 2; }
    if (lab.n && lab.n != nf) {
        fprintf(stderr, "frtui-dev contrast: %d --label names for %d checkpoints (give one per checkpoint or none)\n", lab.n, nf);
        return 2;
    }
    if (ev.n && ev.n != nf) {
        fprintf(stderr, "frtui-dev contrast: %d --eval files for %d checkpoints (give one per checkpoint or none)\n", ev.n, nf);
        return 2;
    }
    for (int k = 0; k < nf; k++)
        for (int j = 0; j < 2; j++) {
            const char *o = j ? png : md;
            if (o && fr_cli_same_file(o, files[k])) {
                fprintf(stderr, "frtui-dev contrast: %s %s: is also an input\n", j ? "--png" : "--md", o);
                return 2;
            }
        }
    ct_run r[CT_MAX_RUNS];
    int rc = 0, nr = 0;
    for (int k = 0; k < nf && !rc; k++) {
        int lr = load_run(&r[k], files[k], ev.n ? ev.v[k] : NULL, &e);
        if (lr < 0) { rc = 2; break; }   /* nothing allocated in r[k] */
        if (lr) rc = fr_cli_fail(&e);
        else if (lab.n) snprintf(r[k].label, sizeof r[k].label, "%s", lab.v[k]);
        nr = k + 1;
    }
    if (!rc)
        for (int k = 1; k < nr; k++)
            if (r[k].iters != r[0].iters || r[k].batch != r[0].batch || r[k].bits != r[0].bits || r[k].lr != r[0].lr ||
                r[k].per_channel != r[0].per_channel)
                fprintf(stderr, "contrast: warning: %s and %s ran with different settings\n", files[0], files[k]);
    fr_sb b = {0};
    if (!rc) {
        table(&b, r, nr);
        if (md) {
            fr_atomic a;
            if (fr_atomic_open(&a, md, &e) == FR_OK) {
                fputs(fr_sb_str(&b), a.f);
                if (fr_atomic_commit(&a, &e)) rc = fr_cli_fail(&e);
            } else {
                rc = fr_cli_fail(&e);
            }
        }
        fputs(fr_sb_str(&b), stdout);
        if (!rc && png) {
            if (plot(png, r, nr, &e)) rc = fr_cli_fail(&e);
            else fprintf(stderr, "contrast: wrote %s\n", png);
        }
    }
    fr_sb_free(&b);
    for (int k = 0; k < nr; k++) run_free(&r[k]);
    return rc;
}
