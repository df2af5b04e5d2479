/* cli_run_report.c — what `frtui run` and `frtui compare` leave behind: the per-unit table and
 * the fidelity line on stdout, and the --json / --csv reports.
 *
 * Design note: split from cli_run.c, which drives the run; this file only formats a finished
 * snapshot, so its output can be read (and its bytes kept stable for scripts and the tests'
 * goldens) without the worker, the options or the checkpoint logic around it.
 */
#include <math.h>
#include <stdio.h>

#include "frtui/blas.h"
#include "frtui/cli.h"
#include "frtui/dp.h"
#include "frtui/fidelity.h"
#include "frtui/qdefs.h"
#include "frtui/runcfg.h"
#include "frtui/sb.h"
#include "frtui/snapshot.h"

static double view_sqnr(const fr_unit_view *v)
{
    double s = 0, n = 0;
    for (int l = 0; l < v->n_layers; l++) { s += v->layers[l].st.sqnr_db * (double)v->layers[l].n; n += (double)v->layers[l].n; }
    return n > 0 ? s / n : 0;
}

static double view_stat(const fr_unit_view *v, int which)
{
    double s = 0, n = 0;
    for (int l = 0; l < v->n_layers; l++) {
        const fr_layer_stats *st = &v->layers[l].st;
        double x = which == 0 ? st->aggressive_init : which == 1 ? st->changed_vs_rtn : st->undecided;
        s += x * (double)v->layers[l].n;
        n += (double)v->layers[l].n;
    }
    return n > 0 ? s / n : 0;
}

void fr_cli_layer_abs_sums(const fr_layer_view *lv, double *sw, double *sa, int64_t *na)
{
    *sw = *sa = 0;
    *na = 0;
    for (int64_t q = 0; lv->w && q < lv->n; q++) {
        *sw += fabs(lv->w[q]);
        if (lv->cls && lv->cls[q] == FR_WC_AGGRESSIVE) { *sa += fabs(lv->w[q]); (*na)++; }
    }
}

static const char *status_name(fr_unit_status s)
{
    return s == FR_UNIT_DONE ? "done" : s == FR_UNIT_FALLBACK ? "fallback" : s == FR_UNIT_RUNNING ? "running" : "pending";
}

/* Results are bit-identical only for the same OpenBLAS core and thread count (src/engine/blas.c),
 * so every table says which it was made with. */
void fr_cli_print_kernel_line(FILE *f)
{
    fprintf(f, "OpenBLAS core %s, %d compute thread(s)\n", fr_blas_describe(), fr_blas_threads());
}

void fr_cli_print_run_table(FILE *f, const fr_snapshot *s)
{
    fr_cli_print_kernel_line(f);
    fprintf(f, "%-3s %-26s %-9s %-5s %11s %11s %8s %7s %7s %7s %7s %s\n", "#", "unit", "status", "bits", "loss RTN",
            "loss final", "vs RTN", "SQNR", "aggr%", "clip%", "flip%", "note");
    for (int k = 0; k < s->n_units; k++) {
        const fr_unit_view *v = s->units[k];
        if (!v) continue;
        char name[64], note[sizeof v->note], bt[16];   /* names come from the file: no control bytes to the terminal */
        fr_unit_view_bits_text(v, bt, sizeof bt);   /* the width it ran at: first/last layers at 8 */
        fprintf(f, "%-3d %-26.26s %-9s %-5s %11.4g %11.4g %8.3f %6.1fdB %7.2f %7.2f %7.2f %s\n", k + 1,
                fr_term_clean(name, sizeof name, v->name), status_name(v->status), bt, v->loss_rtn, v->loss_after,
                v->rel_vs_rtn, view_sqnr(v), 100 * v->aggressive, 100 * v->clipped, 100 * view_stat(v, 1),
                fr_term_clean(note, sizeof note, v->note));
    }
}

/* The per-unit report.  Every string goes through the one escaper (names come from imported
 * files) and every number through fr_sb_json_num, so a NaN (e.g. every unit fell back to RTN
 * and a ratio is 0/0) is written as null, never as "-nan". */
static void json_kv_str(fr_sb *b, const char *sep, const char *key, const char *v)
{
    fr_sb_printf(b, "%s\"%s\": ", sep, key);
    fr_sb_json_str(b, v);
}

static void json_kv_num(fr_sb *b, const char *sep, const char *key, const char *fmt, double v)
{
    fr_sb_printf(b, "%s\"%s\": ", sep, key);
    fr_sb_json_num(b, fmt, v);
}

static void csv_num(fr_sb *b, const char *fmt, double v)
{
    fr_sb_putc(b, ',');
    if (isfinite(v)) fr_sb_printf(b, fmt, v);   /* an empty field for NaN, as spreadsheets read it */
}

static int write_file(const char *path, const fr_sb *b, fr_err *e)
{
    fr_atomic a;
    if (fr_atomic_open(&a, path, e)) return e->code;
    fputs(fr_sb_str(b), a.f);
    return fr_atomic_commit(&a, e);
}

int fr_cli_write_run_reports(const fr_snapshot *s, const char *json, const char *csv, const char *file, fr_err *e)
{
    fr_sb b = {0};
    int rc = FR_OK;
    if (json) {
        const fr_run_info *in = &s->info;
        json_kv_str(&b, "{\n  ", "model", in->model);
        json_kv_str(&b, ", ", "file", file);
        json_kv_str(&b, ", ", "method", fr_method_name(in->method));
        fr_sb_printf(&b, ", \"bits\": %d, \"act_bits\": %d,\n", in->bits, in->act_bits);
        if (in->act_bits) fr_sb_printf(&b, "  \"act_granularity\": \"%s\",\n", in->act_token > 0 ? "token" : "tensor");
        fr_sb_printf(&b, "  \"iters\": %d, \"batch\": %d, \"seed\": %llu, \"threads\": %d", in->iters, in->batch,
                     (unsigned long long)in->seed, in->threads);
        /* only when data parallel: a one-rank report stays the single process's, byte for byte */
        if (fr_dp_size() > 1) fr_sb_printf(&b, ", \"ranks\": %d", fr_dp_size());
        {   /* the lr the method actually used, and FlexRound's shared-scale multiplier */
            fr_run_config lc = {.method = in->method, .lr = in->lr};
            fr_sb_printf(&b, ", \"lr\": %.9g, \"scale_lr\": %.9g, \"keep_best\": %d, \"s1_param\": \"%s\"",
                         (double)fr_run_config_lr(&lc, in->method), (double)in->scale_lr, in->keep_best,
                         in->s1_direct ? "direct" : "log");
        }
        json_kv_str(&b, ", ", "preset", in->preset);
        json_kv_str(&b, ", ", "granularity", in->granularity);
        json_kv_str(&b, ", ", "unit_rule", in->unit_rule);
        json_kv_str(&b, ", ", "blas_core", in->blas_core);
        json_kv_str(&b, ", ", "blas_choice", fr_blas_how());
        /* acc < 0: the bundle has no evaluation set; null, not a made-up -1. */
        json_kv_num(&b, ",\n  ", "acc_fp", "%.6f", s->acc_fp >= 0 ? s->acc_fp : NAN);
        json_kv_num(&b, ", ", "acc_q", "%.6f", s->acc_q >= 0 ? s->acc_q : NAN);
        json_kv_num(&b, ", ", "elapsed_s", "%.3f", s->elapsed_s);
        /* Fidelity to the full-precision network on the eval set (fidelity.h); null when the
         * run did not reach the evaluation. */
        if (s->fid.n > 0) {
            fr_sb_printf(&b, ",\n  \"fidelity\": {\"n\": %d", s->fid.n);
            json_kv_str(&b, ", ", "feature", s->fid.feature);
            fr_sb_printf(&b, ", \"feature_dim\": %d", s->fid.dim);
            json_kv_num(&b, ", ", "cosine", "%.6f", s->fid.cos);
            json_kv_num(&b, ", ", "rel_mse", "%.6g", s->fid.rel_mse);
            json_kv_num(&b, ", ", "top1_agreement", "%.6f", s->fid.agree);
            json_kv_num(&b, ", ", "kl", "%.6g", s->fid.kl);
            fr_sb_printf(&b, ", \"zero_features\": %d", s->fid.zero_q);
            if (s->fid.lm_vocab) {
                fr_sb_printf(&b, ", \"lm\": {\"vocab\": %d, \"tokens\": %ld", s->fid.lm_vocab, s->fid.lm_tokens);
                json_kv_num(&b, ", ", "nll_fp", "%.6f", s->fid.nll_fp);
                json_kv_num(&b, ", ", "nll_q", "%.6f", s->fid.nll_q);
                json_kv_num(&b, ", ", "ppl_fp", "%.6f", exp(s->fid.nll_fp));
                json_kv_num(&b, ", ", "ppl_q", "%.6f", exp(s->fid.nll_q));
                fr_sb_puts(&b, "}");
            }
            fr_sb_puts(&b, "}");
        } else {
            fr_sb_puts(&b, ",\n  \"fidelity\": null");
        }
        fr_sb_puts(&b, ",\n  \"units\": [\n");
        for (int k = 0; k < s->n_units; k++) {
            const fr_unit_view *v = s->units[k];
            fr_sb_printf(&b, "    {\"index\": %d", k);
            json_kv_str(&b, ", ", "name", v->name);
            int lo, hi;
            fr_unit_view_bits(v, &lo, &hi);
            fr_sb_printf(&b, ", \"bits\": %d, \"layer_bits\": [", hi);
            for (int l = 0; l < v->n_layers; l++) fr_sb_printf(&b, "%s%d", l ? ", " : "", v->layers[l].bits);
            fr_sb_puts(&b, "]");
            json_kv_str(&b, ", ", "ops", v->ops);
            json_kv_str(&b, ", ", "status", status_name(v->status));
            fr_sb_printf(&b, ", \"iters\": %d", v->n_loss);
            json_kv_num(&b, ", ", "loss_rtn", "%.9g", v->loss_rtn);
            json_kv_num(&b, ", ", "loss_before", "%.9g", v->loss_before);
            json_kv_num(&b, ", ", "loss_after", "%.9g", v->loss_after);
            json_kv_num(&b, ", ", "rel_vs_rtn", "%.6f", v->rel_vs_rtn);
            json_kv_num(&b, ", ", "sqnr_db", "%.4f", view_sqnr(v));
            json_kv_num(&b, ", ", "aggressive_pct", "%.4f", 100 * v->aggressive);
            json_kv_num(&b, ", ", "clipped_pct", "%.4f", 100 * v->clipped);
            json_kv_num(&b, ", ", "aggressive_init_pct", "%.4f", 100 * view_stat(v, 0));
            json_kv_num(&b, ", ", "flip_pct", "%.4f", 100 * view_stat(v, 1));
            json_kv_num(&b, ", ", "undecided_pct", "%.4f", 100 * view_stat(v, 2));
            json_kv_str(&b, ", ", "note", v->note);
            /* Per layer: the paper's statistic is per layer too, with the size of the weights
             * that were rounded aggressively (mean |W|) against the layer's mean |W|. */
            fr_sb_puts(&b, ", \"layers\": [");
            for (int l = 0; l < v->n_layers; l++) {
                const fr_layer_view *lv = &v->layers[l];
                double sa, sw;
                int64_t na;
                fr_cli_layer_abs_sums(lv, &sw, &sa, &na);
                json_kv_str(&b, l ? ", {" : "{", "name", lv->name);
                fr_sb_printf(&b, ", \"bits\": %d, \"n\": %lld", lv->bits, (long long)lv->n);
                json_kv_num(&b, ", ", "aggressive_pct", "%.4f", 100 * lv->st.aggressive);
                json_kv_num(&b, ", ", "clipped_pct", "%.4f", 100 * lv->st.clipped);
                json_kv_num(&b, ", ", "mean_abs_w", "%.6g", lv->w && lv->n ? sw / (double)lv->n : NAN);
                json_kv_num(&b, ", ", "mean_abs_w_aggressive", "%.6g", na ? sa / (double)na : NAN);
                fr_sb_puts(&b, "}");
            }
            fr_sb_puts(&b, "]");
            fr_sb_printf(&b, "}%s\n", k + 1 < s->n_units ? "," : "");
        }
        fr_sb_puts(&b, "  ],\n");
        /* The memory plan and what the run really held (issue 19). */
        const fr_mem_live *mm = &s->mem;
        fr_sb_printf(&b, "  \"memory\": {\"spill\": %s", mm->spill ? "true" : "false");
        json_kv_num(&b, ", ", "budget_bytes", "%.0f", mm->budget);
        json_kv_num(&b, ", ", "base_bytes", "%.0f", mm->base);
        json_kv_num(&b, ", ", "planned_peak_bytes", "%.0f", mm->planned_peak);
        json_kv_num(&b, ", ", "peak_rss_bytes", "%.0f", mm->rss_peak);
        fr_sb_printf(&b, ", \"accuracy_batch\": %d,\n   ", mm->eval_batch);
        json_kv_num(&b, "", "spilled_raw_bytes", "%.0f", mm->spilled_raw);
        json_kv_num(&b, ", ", "spilled_packed_bytes", "%.0f", mm->spilled_packed);
        json_kv_num(&b, ", ", "spill_write_s", "%.3f", mm->put_s);
        json_kv_num(&b, ", ", "read_back_raw_bytes", "%.0f", mm->read_raw);
        json_kv_num(&b, ", ", "read_back_s", "%.3f", mm->get_s);
        fr_sb_puts(&b, ",\n   \"units\": [");
        for (int k = 0; s->mem_units && k < s->n_units; k++) {
            const fr_mem_unit *u = &s->mem_units[k];
            static const char *const where[] = {"memory", "spill", "disk"};
            fr_sb_printf(&b, "%s{\"index\": %d, \"where\": \"%s\", \"batch\": %d", k ? ",\n     " : "\n     ", k,
                         where[u->mode < 0 || u->mode > 2 ? 0 : u->mode], u->batch);
            json_kv_num(&b, ", ", "cache_bytes", "%.0f", u->cache);
            json_kv_num(&b, ", ", "work_bytes", "%.0f", u->work);
            json_kv_num(&b, ", ", "total_bytes", "%.0f", u->total);
            json_kv_num(&b, ", ", "disk_raw_bytes", "%.0f", u->disk);
            fr_sb_puts(&b, "}");
        }
        fr_sb_puts(&b, "]}\n}\n");
        rc = write_file(json, &b, e);
    }
    if (!rc && csv) {
        fr_sb_reset(&b);
        fr_sb_puts(&b, "index,name,bits,status,iters,loss_rtn,loss_before,loss_after,rel_vs_rtn,sqnr_db,aggressive_pct,"
                   "clipped_pct,aggressive_init_pct,flip_pct,undecided_pct,blas_core\n");
        for (int k = 0; k < s->n_units; k++) {
            const fr_unit_view *v = s->units[k];
            fr_sb_printf(&b, "%d,", k);
            fr_sb_csv_field(&b, v->name);
            int lo, hi;
            fr_unit_view_bits(v, &lo, &hi);
            fr_sb_printf(&b, ",%d,%s,%d", hi, status_name(v->status), v->n_loss);
            csv_num(&b, "%.9g", v->loss_rtn);
            csv_num(&b, "%.9g", v->loss_before);
            csv_num(&b, "%.9g", v->loss_after);
            csv_num(&b, "%.6f", v->rel_vs_rtn);
            csv_num(&b, "%.4f", view_sqnr(v));
            csv_num(&b, "%.4f", 100 * v->aggressive);
            csv_num(&b, "%.4f", 100 * v->clipped);
            csv_num(&b, "%.4f", 100 * view_stat(v, 0));
            csv_num(&b, "%.4f", 100 * view_stat(v, 1));
            csv_num(&b, "%.4f", 100 * view_stat(v, 2));
            fr_sb_putc(&b, ',');
            fr_sb_csv_field(&b, s->info.blas_core);
            fr_sb_putc(&b, '\n');
        }
        rc = write_file(csv, &b, e);
    }
    fr_sb_free(&b);
    return rc;
}

/* "fidelity to FP (...): cosine ..., ..." — one line, or nothing when not measured. */
void fr_cli_print_fidelity(FILE *f, const fr_snapshot *s)
{
    if (s->fid.n <= 0) return;
    char name[64], zero[160];
    fprintf(f, "fidelity to full precision (%d eval %s, feature %s, %d-d): cosine %.4f, rel. MSE %.4g, "
            "top-1 agreement %.2f%%, KL %.4g%s\n", s->fid.n, s->fid.lm_vocab ? "tokens" : "samples", fr_term_clean(name, sizeof name, s->fid.feature), s->fid.dim,
            s->fid.cos, s->fid.rel_mse, 100 * s->fid.agree, s->fid.kl,
            fr_fid_zero_note(zero, sizeof zero, s->fid.zero_q, s->fid.n, s->fid.lm_vocab > 0));
    if (s->fid.lm_vocab)
        fprintf(f, "perplexity: full precision %.4f, quantized %.4f (%.4f -> %.4f bits per %s, %ld next-token predictions)\n",
                exp(s->fid.nll_fp), exp(s->fid.nll_q), s->fid.nll_fp / M_LN2, s->fid.nll_q / M_LN2,
                s->fid.lm_vocab == 256 ? "byte" : "token", s->fid.lm_tokens);
}
