/* cli_report.c — `frtui report`: RTN / AdaRound / FlexRound of one or more bundles at one or more
 * bit widths, as the README's tables (Markdown), with the fidelity columns and a side-by-side
 * table of FlexRound's aggressive-rounding fractions when several bundles are given.
 *
 * Design note: each cell is an ordinary batch run (fr_cli_run_to_end in cli_run.c, the worker the
 * inspector uses); this file only lays out the results.  Split from cli_run.c when that passed
 * 1000 lines.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/cli.h"
#include "frtui/opt.h"
#include "frtui/qdefs.h"
#include "frtui/runcfg.h"
#include "frtui/sb.h"
#include "frtui/snapshot.h"
/* One column of the side-by-side table: FlexRound's aggressive-rounding fraction per unit of
 * one model and bit width.  The paper's statistic compares networks (12.8 % of MobileNetV2's
 * first block vs 1.5 % of ResNet-18's), so `report` with several bundles lines the models up
 * unit by unit instead of leaving the reader to match separate tables. */
typedef struct side_col {
    char title[160];
    int n, first_block;   /* first_block: index of the first "block:" unit, -1 if none */
    char **name;
    double *aggr, *clip, mean_blocks;
} side_col;

static void side_add(side_col *c, const char *model, int bits, const fr_snapshot *s)
{
    snprintf(c->title, sizeof c->title, "%s W%d", model, bits);
    c->n = s->n_units;
    c->name = fr_xcalloc((size_t)c->n + 1, sizeof *c->name);
    c->aggr = fr_xcalloc((size_t)c->n + 1, sizeof *c->aggr);
    c->clip = fr_xcalloc((size_t)c->n + 1, sizeof *c->clip);
    c->first_block = -1;
    double sum = 0;
    int nb = 0;
    for (int u = 0; u < c->n; u++) {
        c->name[u] = fr_xstrdup(s->units[u]->name);
        c->aggr[u] = s->units[u]->aggressive;
        c->clip[u] = s->units[u]->clipped;
        if (strncmp(c->name[u], "block:", 6) == 0) {
            if (c->first_block < 0) c->first_block = u;
            sum += c->aggr[u];
            nb++;
        }
    }
    c->mean_blocks = nb ? sum / nb : 0;
}

static void side_free(side_col *c)
{
    for (int u = 0; u < c->n; u++) free(c->name[u]);
    free(c->name);
    free(c->aggr);
    free(c->clip);
}

static void side_print(FILE *f, const side_col *c, int nc)
{
    fprintf(f, "\nFlexRound aggressive rounding side by side (%% of weights moved past the two nearest grid "
            "points; clip = %% clipped at a grid end, not counted as aggressive; per unit in network order)\n\n| |");
    for (int k = 0; k < nc; k++) fprintf(f, " %s unit | aggr %% | clip %% |", c[k].title);
    fprintf(f, "\n|---|");
    for (int k = 0; k < nc; k++) fprintf(f, "---|---|---|");
    fprintf(f, "\n| **first block** |");
    for (int k = 0; k < nc; k++) {
        if (c[k].first_block < 0) fprintf(f, " - | - | - |");
        else fprintf(f, " %s | **%.2f** | %.2f |", c[k].name[c[k].first_block], 100 * c[k].aggr[c[k].first_block],
                     100 * c[k].clip[c[k].first_block]);
    }
    fprintf(f, "\n| **mean over blocks** |");
    for (int k = 0; k < nc; k++) fprintf(f, " | **%.2f** | |", 100 * c[k].mean_blocks);
    int rows = 0;
    for (int k = 0; k < nc; k++) rows = c[k].n > rows ? c[k].n : rows;
    for (int u = 0; u < rows; u++) {
        fprintf(f, "\n| %d |", u + 1);   /* units as a person counts them */
        for (int k = 0; k < nc; k++) {
            if (u < c[k].n) fprintf(f, " %s | %.2f | %.2f |", c[k].name[u], 100 * c[k].aggr[u], 100 * c[k].clip[u]);
            else fprintf(f, " | | |");
        }
    }
    fprintf(f, "\n");
}

typedef struct report_bits { int v[8], n; } report_bits;

static int opt_report_bits(const char *name, const char *v, void *dst, fr_err *e)
{
    report_bits *b = dst;
    long long x;
    if (fr_opt_int(name, v, 2, 8, &x, e)) return e->code;
    if (b->n >= 8) return fr_err_set(e, FR_EINPUT, "%s: at most 8 bit widths", name);
    b->v[b->n++] = (int)x;
    return FR_OK;
}

/* Seconds a unit's iterations took (the last loss time stamp), "-" when not recorded. */
static void unit_secs(const fr_unit_view *u, char *out, size_t n)
{
    if (u->loss_t && u->n_loss > 0) snprintf(out, n, "%.1f", (double)u->loss_t[u->n_loss - 1]);
    else snprintf(out, n, "-");
}

int fr_cli_report(int argc, char **argv)
{
    /* frtui report [--bits N]... [run options] FILE... : accuracy of each method per bit width,
     * and mean aggressive-rounding fractions, as a Markdown table. */
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui report [--bits N]... [run options] FILE.frm...\n"
               "  RTN, AdaRound and FlexRound per bundle and bit width (default --bits 4) as Markdown tables:\n"
               "  top-1 accuracy, per-unit losses, and FlexRound's aggressive rounding side by side\n"
               "  run options: as `frtui run --help`; at most 16 bundles and 8 --bits\n");
        return 0;
    }
    report_bits rb = {.n = 0};
    const char *files[16];
    int nf = 0;
    fr_run_config c0;
    fr_err e0;
    fr_err_clear(&e0);
    fr_opt t[FR_CLI_RUN_NOPTS + 4];
    t[0] = (fr_opt){.name = "--bits", .kind = FR_OPT_FN, .fn = opt_report_bits, .dst = &rb};
    fr_cli_run_table(t, 1, &c0);
    if (fr_run_config_preset(&c0, "teaching", &e0) || fr_opt_parse(t, argc, argv, files, 16, &nf, &e0) ||
        fr_run_config_check(&c0, &e0))
        return fr_cli_usage("report", &e0);
    if (c0.step_mode) {   /* before any output: nobody could resume a paused batch run */
        fr_err_set(&e0, FR_EINPUT, "--step pauses after every unit and only the inspector can resume it (frtui FILE.frm --step); a batch run refuses it");
        return fr_cli_fail(&e0);
    }
    int *bits = rb.v, nb = rb.n;
    if (!nb) bits[nb++] = 4;
    if (!nf) { fprintf(stderr, "frtui report: needs bundle files\n"); return 2; }
    /* Per-unit aggressive-rounding fractions, printed after the summary table. */
    side_col cols[16 * 8];
    int ncol = 0;
    char *detail = NULL;
    size_t dlen = 0;
    FILE *dm = open_memstream(&detail, &dlen);
    fr_cli_print_kernel_line(stdout);
    /* Top-1 needs labels; the fidelity columns (fidelity.h) compare each method with the
     * full-precision network on the same eval samples and need none. */
    printf("\n| model | bits | FP top-1 (LMs: perplexity) | RTN | AdaRound | FlexRound | feature cosine RTN / Ada / Flex | rel. MSE RTN / "
           "Ada / Flex | top-1 agreement %% RTN / Ada / Flex | KL RTN / Ada / Flex | aggressive %% Ada / Flex (mean over "
           "units) | clipped %% RTN / Ada / Flex | time s RTN / Ada / Flex |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    int rc = 0;
    for (int f = 0; f < nf && !rc; f++)
        for (int b = 0; b < nb && !rc; b++) {
            fr_run_config c = c0;
            fr_err e;
            fr_err_clear(&e);
            c.bits = bits[b];
            if (fr_run_config_check(&c, &e)) { rc = fr_cli_fail(&e); break; }
            fr_model m;
            if (fr_cli_load(files[f], &m)) { rc = 2; break; }
            double acc[3] = {0}, agg[3] = {0}, clp[3] = {0}, fp = 0, secs[3] = {0};
            fr_snapshot *keep[3] = {0};
            for (int k = 0; k < FR_METHOD__COUNT && !rc; k++) {
                c.method = (fr_method)k;
                fprintf(stderr, "report: %s W%d %s\n", m.meta.name, c.bits, fr_method_name(c.method));
                fr_snapshot *s = fr_cli_run_to_end(&m, &c, 1, &e);
                if (!s) { rc = fr_cli_fail(&e); break; }
                acc[k] = s->acc_q;
                fp = s->acc_fp;
                secs[k] = s->elapsed_s;
                double a = 0, cl = 0;
                for (int u = 0; u < s->n_units; u++) { a += s->units[u]->aggressive; cl += s->units[u]->clipped; }
                agg[k] = s->n_units ? a / s->n_units : 0;
                clp[k] = s->n_units ? cl / s->n_units : 0;
                keep[k] = s;
            }
            if (!rc) {
                char a4[4][24], fd[4][64];
                const fr_fid_view *fv[3] = {&keep[0]->fid, &keep[1]->fid, &keep[2]->fid};
                for (int k = 0; k < 4; k++) {
                    double v = k ? acc[k - 1] : fp;
                    /* a language model has no top-1: its cells hold perplexity on the eval text */
                    if (fv[0]->lm_vocab && fv[k ? k - 1 : 0]->n > 0)
                        snprintf(a4[k], sizeof a4[k], "ppl %.4f", exp(k ? fv[k - 1]->nll_q : fv[0]->nll_fp));
                    else if (v >= 0) snprintf(a4[k], sizeof a4[k], "%.2f", 100 * v);
                    else snprintf(a4[k], sizeof a4[k], "n/a");
                }
                if (fv[0]->n > 0 && fv[1]->n > 0 && fv[2]->n > 0) {
                    snprintf(fd[0], sizeof fd[0], "%.4f / %.4f / %.4f", fv[0]->cos, fv[1]->cos, fv[2]->cos);
                    snprintf(fd[1], sizeof fd[1], "%.4g / %.4g / %.4g", fv[0]->rel_mse, fv[1]->rel_mse, fv[2]->rel_mse);
                    snprintf(fd[2], sizeof fd[2], "%.1f / %.1f / %.1f", 100 * fv[0]->agree, 100 * fv[1]->agree,
                             100 * fv[2]->agree);
                    snprintf(fd[3], sizeof fd[3], "%.4g / %.4g / %.4g", fv[0]->kl, fv[1]->kl, fv[2]->kl);
                } else {
                    for (int k = 0; k < 4; k++) snprintf(fd[k], sizeof fd[k], "n/a");
                }
                printf("| %s | W%d | %s | %s | %s | %s | %s | %s | %s | %s | %.2f / %.2f | %.2f / %.2f / %.2f | "
                       "%.0f / %.0f / %.0f |\n", m.meta.name, c.bits, a4[0], a4[1], a4[2], a4[3], fd[0], fd[1], fd[2],
                       fd[3], 100 * agg[1], 100 * agg[2], 100 * clp[0], 100 * clp[1], 100 * clp[2], secs[0], secs[1],
                       secs[2]);
                if (fv[0]->n > 0) {
                    char fname[96];
                    fprintf(dm, "\n%s, W%d: fidelity measured on %d eval %s at node %s (%d-d)%s\n", m.meta.name, c.bits,
                            fv[0]->n, fv[0]->lm_vocab ? "tokens" : "samples", fr_term_clean(fname, sizeof fname, fv[0]->feature),
                            fv[0]->dim, fv[0]->lm_vocab ? "; perplexity over the same text, next-token agreement" : "");
                }
                fflush(stdout);
                char kb[64] = "";
                if (c.keep_best) snprintf(kb, sizeof kb, " (FlexRound: best of %d iterates, --keep-best)", c.keep_best);
                fprintf(dm, "\n%s, W%d, %d it/unit%s: per-unit reconstruction loss, aggressive rounding (%% of weights "
                        "moved past the two nearest grid points) and clipping (%% pinned at a grid end)\n\n| unit | bits | "
                        "loss RTN | loss AdaRound | loss FlexRound | aggr %% AdaRound | aggr %% FlexRound | clip %% RTN | "
                        "clip %% FlexRound | s AdaRound | s FlexRound |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
                        m.meta.name, c.bits, c.iters, kb);
                for (int u = 0; u < keep[0]->n_units; u++) {
                    char bt[16];
                    fr_unit_view_bits_text(keep[2]->units[u], bt, sizeof bt);   /* first/last layers at 8 */
                    char ts[2][16];
                    for (int k = 1; k <= 2; k++) unit_secs(keep[k]->units[u], ts[k - 1], sizeof ts[k - 1]);
                    fprintf(dm, "| %s | %s | %.4g | %.4g | %.4g | %.2f | %.2f | %.2f | %.2f | %s | %s |\n",
                            keep[0]->units[u]->name, bt, keep[0]->units[u]->loss_after, keep[1]->units[u]->loss_after,
                            keep[2]->units[u]->loss_after, 100 * keep[1]->units[u]->aggressive,
                            100 * keep[2]->units[u]->aggressive, 100 * keep[0]->units[u]->clipped,
                            100 * keep[2]->units[u]->clipped, ts[0], ts[1]);
                }
                fprintf(dm, "\n%s, W%d: aggressive rounding per layer (mean |W| of the aggressively rounded FlexRound "
                        "weights against the layer's)\n\n| unit | layer | bits | weights | aggr %% AdaRound | aggr %% FlexRound | "
                        "clip %% FlexRound | mean abs W aggr. (Flex) | mean abs W layer |\n|---|---|---|---|---|---|---|---|---|\n",
                        m.meta.name, c.bits);
                for (int u = 0; u < keep[2]->n_units; u++) {
                    const fr_unit_view *va = keep[1]->units[u], *vf = keep[2]->units[u];
                    for (int l = 0; l < vf->n_layers; l++) {
                        const fr_layer_view *lf = &vf->layers[l];
                        double sa, sw;
                        int64_t na;
                        fr_cli_layer_abs_sums(lf, &sw, &sa, &na);
                        char un[64], ln[64], ma[32] = "-";
                        if (na) snprintf(ma, sizeof ma, "%.3g", sa / (double)na);
                        fprintf(dm, "| %d %s | %s | W%d | %lld | %.2f | %.2f | %.2f | %s | %.3g |\n", u + 1,
                                fr_term_clean(un, sizeof un, vf->name), fr_term_clean(ln, sizeof ln, lf->name), lf->bits,
                                (long long)lf->n, l < va->n_layers ? 100 * va->layers[l].st.aggressive : NAN,
                                100 * lf->st.aggressive, 100 * lf->st.clipped, ma, lf->n ? sw / (double)lf->n : NAN);
                    }
                }
                if (ncol < (int)(sizeof cols / sizeof cols[0])) side_add(&cols[ncol++], m.meta.name, c.bits, keep[2]);
            }
            for (int k = 0; k < 3; k++) fr_snapshot_release(keep[k]);
            fr_model_free(&m);
        }
    fclose(dm);
    if (!rc && detail) fputs(detail, stdout);
    if (!rc && ncol > 1) side_print(stdout, cols, ncol);
    for (int k = 0; k < ncol; k++) side_free(&cols[k]);
    free(detail);
    return rc;
}
