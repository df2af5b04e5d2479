/* cli_run.c — batch quantization: `frtui run`, `frtui compare`, `frtui report`.
 *
 * Design note: batch mode drives the same fr_worker the inspector uses (one code path for
 * both, and the batch tests exercise the thread protocol).  The main thread only polls
 * snapshots: a progress bar on a terminal, plain log lines otherwise.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frtui/blas.h"
#include "frtui/ckpt.h"
#include "frtui/recon_ckpt.h"
#include "frtui/cli.h"
#include "frtui/recon.h"
#include "frtui/worker.h"

typedef struct run_opts {
    const char *json, *csv;
    int quiet;
    const char *resume, *ckpt;      /* --resume RUN.frc, --checkpoint FILE */
    int every_units;                /* --checkpoint-every N | Ns */
    double every_s;
} run_opts;

static int parse_int(const char *flag, const char *v, long lo, long hi, long *out, fr_err *e)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi)
        return fr_err_set(e, FR_EINPUT, "%s '%s': expected an integer in %ld..%ld", flag, v, lo, hi);
    *out = x;
    return FR_OK;
}

static int parse_float(const char *flag, const char *v, float *out, fr_err *e)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end || end == v || !isfinite(x)) return fr_err_set(e, FR_EINPUT, "%s '%s': expected a number", flag, v);
    *out = (float)x;
    return FR_OK;
}

int fr_cli_parse_run(int argc, char **argv, fr_run_config *c, const char **file, const char *const *pass,
                     int *passed, fr_err *e)
{
    /* The preset goes first so explicit flags override it wherever they appear. */
    const char *preset = "teaching";
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc) preset = argv[i + 1];
    if (fr_run_config_preset(c, preset, e)) return e->code;
    *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        int is_pass = 0;
        for (int k = 0; pass && pass[k]; k++) {
            size_t n = strlen(pass[k]);
            if (strncmp(a, pass[k], n) == 0 && (a[n] == 0 || a[n] == '=')) {
                is_pass = 1;
                if (passed) passed[i] = 1;
            }
        }
        if (is_pass) continue;
        if (a[0] != '-') {
            if (*file) return fr_err_set(e, FR_EINPUT, "more than one input file ('%s' and '%s')", *file, a);
            *file = a;
            continue;
        }
        if (strcmp(a, "--qdrop") == 0) { c->qdrop = 1; continue; }
        if (strcmp(a, "--per-channel") == 0) { c->per_channel = 1; continue; }
        if (strcmp(a, "--asymmetric") == 0) { c->symmetric = 0; continue; }
        if (strcmp(a, "--step") == 0) { c->step_mode = 1; continue; }
        if (i + 1 >= argc) return fr_err_set(e, FR_EINPUT, "option %s needs a value", a);
        const char *val = argv[++i];
        int rc = FR_OK;
        if (strcmp(a, "--preset") == 0) continue;
        else if (strcmp(a, "--method") == 0) {
            int m = fr_method_from_name(val);
            if (m < 0) return fr_err_set(e, FR_EINPUT, "--method '%s': expected rtn, adaround or flexround", val);
            c->method = (fr_method)m;
        } else if (strcmp(a, "--bits") == 0) { if (!(rc = parse_int(a, val, -1000, 1000, &v, e))) c->bits = (int)v; }
        else if (strcmp(a, "--act-bits") == 0) { if (!(rc = parse_int(a, val, -1000, 1000, &v, e))) c->act_bits = (int)v; }
        else if (strcmp(a, "--first-last-bits") == 0) { if (!(rc = parse_int(a, val, -1000, 1000, &v, e))) c->first_last_bits = (int)v; }
        else if (strcmp(a, "--iters") == 0) { if (!(rc = parse_int(a, val, -1000000000L, 1000000000L, &v, e))) c->iters = (int)v; }
        else if (strcmp(a, "--batch") == 0) { if (!(rc = parse_int(a, val, -1000000, 1000000, &v, e))) c->batch = (int)v; }
        else if (strcmp(a, "--seed") == 0) { if (!(rc = parse_int(a, val, 0, 2147483647L, &v, e))) c->seed = (uint64_t)v; }
        else if (strcmp(a, "--n-calib") == 0) { if (!(rc = parse_int(a, val, 0, 100000000L, &v, e))) c->n_calib = (int)v; }
        else if (strcmp(a, "--max-cache-mb") == 0) { if (!(rc = parse_int(a, val, 1, 1L << 30, &v, e))) c->max_cache_mb = (size_t)v; }
        else if (strcmp(a, "--lr") == 0) rc = parse_float(a, val, &c->lr, e);
        else if (strcmp(a, "--act-lr") == 0) rc = parse_float(a, val, &c->act_lr, e);
        else if (strcmp(a, "--lambda") == 0) rc = parse_float(a, val, &c->lambda, e);
        else if (strcmp(a, "--drop-p") == 0) rc = parse_float(a, val, &c->drop_p, e);
        else if (strcmp(a, "--unit") == 0) snprintf(c->stop_unit, sizeof c->stop_unit, "%s", val);
        else if (strcmp(a, "--granularity") == 0) {
            if (strcmp(val, "block") == 0) c->layerwise = 0;
            else if (strcmp(val, "layer") == 0) c->layerwise = 1;
            else return fr_err_set(e, FR_EINPUT, "--granularity '%s': expected block or layer", val);
        } else if (strcmp(a, "--init") == 0) {
            if (strcmp(val, "mse") == 0) c->init_minmax = 0;
            else if (strcmp(val, "minmax") == 0) c->init_minmax = 1;
            else return fr_err_set(e, FR_EINPUT, "--init '%s': expected mse or minmax", val);
        } else {
            return fr_err_set(e, FR_EINPUT, "unknown option %s (see frtui run --help)", a);
        }
        if (rc) return rc;
    }
    return fr_run_config_check(c, e);
}

static void run_help(void)
{
    printf("usage: frtui run FILE.frm [options]\n"
           "  --method rtn|adaround|flexround   rounding method (default flexround)\n"
           "  --bits N            weight bits 2..8 (default 4)\n"
           "  --first-last-bits N bits of the first and last layer (default 8; 0 = --bits)\n"
           "  --act-bits N        activation bits (default 0 = weights only)\n"
           "  --granularity block|layer   BRECQ blocks or one unit per layer\n"
           "  --iters N  --batch N  --lr X  --lambda X  --seed N  --n-calib N\n"
           "  --qdrop [--drop-p P]   QDrop setting (mix FP/quantized inputs, drop act quantization)\n"
           "  --per-channel  --asymmetric  --init mse|minmax\n"
           "  --max-cache-mb N    refuse runs whose calibration caches exceed N MB\n"
           "  --unit NAME         stop after this unit (the units before it are quantized too)\n"
           "  --json FILE  --csv FILE   write the per-unit report\n"
           "  --checkpoint FILE.frc      write a checkpoint at the end (and as --checkpoint-every says)\n"
           "  --checkpoint-every N|Ns    also every N finished units, or every N seconds\n"
           "  --resume RUN.frc           continue an interrupted run (its settings; same FRTUI_THREADS)\n"
           "  --preset NAME       defaults from a named source:\n");
    for (int i = 0; fr_presets[i]; i++) printf("      %-15s %s\n", fr_presets[i], fr_run_config_preset_help(fr_presets[i]));
    printf("Same seed + same thread count (FRTUI_THREADS) gives bit-identical results.\n");
}

/* ---- reporting ----------------------------------------------------------------------------- */

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

static const char *status_name(fr_unit_status s)
{
    return s == FR_UNIT_DONE ? "done" : s == FR_UNIT_FALLBACK ? "fallback" : s == FR_UNIT_RUNNING ? "running" : "pending";
}

/* Results are bit-identical only for the same OpenBLAS core and thread count (src/engine/blas.c),
 * so every table says which it was made with. */
static void print_kernel_line(FILE *f)
{
    fprintf(f, "OpenBLAS core %s, %d compute thread(s)\n", fr_blas_describe(), fr_blas_threads());
}

static void print_table(FILE *f, const fr_snapshot *s)
{
    print_kernel_line(f);
    fprintf(f, "%-3s %-26s %-9s %11s %11s %8s %7s %7s %7s %s\n", "#", "unit", "status", "loss RTN", "loss final",
            "vs RTN", "SQNR", "aggr%", "flip%", "note");
    for (int k = 0; k < s->n_units; k++) {
        const fr_unit_view *v = s->units[k];
        if (!v) continue;
        fprintf(f, "%-3d %-26.26s %-9s %11.4g %11.4g %8.3f %6.1fdB %7.2f %7.2f %s\n", k, v->name, status_name(v->status),
                v->loss_rtn, v->loss_after, v->rel_vs_rtn, view_sqnr(v), 100 * v->aggressive, 100 * view_stat(v, 1), v->note);
    }
}

static int write_reports(const fr_snapshot *s, const run_opts *o, const char *file, fr_err *e)
{
    if (o->json) {
        fr_atomic a;
        if (fr_atomic_open(&a, o->json, e)) return e->code;
        FILE *f = a.f;
        const fr_run_info *in = &s->info;
        fprintf(f, "{\n  \"model\": \"%s\", \"file\": \"%s\", \"method\": \"%s\", \"bits\": %d, \"act_bits\": %d,\n",
                in->model, file, fr_method_name(in->method), in->bits, in->act_bits);
        fprintf(f, "  \"iters\": %d, \"batch\": %d, \"seed\": %llu, \"threads\": %d, \"preset\": \"%s\", "
                "\"granularity\": \"%s\", \"blas_core\": \"%s\", \"blas_choice\": \"%s\",\n", in->iters, in->batch,
                (unsigned long long)in->seed, in->threads, in->preset, in->granularity, in->blas_core, fr_blas_how());
        fprintf(f, "  \"acc_fp\": %.6f, \"acc_q\": %.6f, \"elapsed_s\": %.3f,\n  \"units\": [\n", s->acc_fp, s->acc_q,
                s->elapsed_s);
        for (int k = 0; k < s->n_units; k++) {
            const fr_unit_view *v = s->units[k];
            fprintf(f, "    {\"index\": %d, \"name\": \"%s\", \"ops\": \"%s\", \"status\": \"%s\", \"iters\": %d, "
                    "\"loss_rtn\": %.9g, \"loss_before\": %.9g, \"loss_after\": %.9g, \"rel_vs_rtn\": %.6f, "
                    "\"sqnr_db\": %.4f, \"aggressive\": %.6f, \"aggressive_init\": %.6f, \"changed_vs_rtn\": %.6f, "
                    "\"undecided\": %.6f, \"note\": \"%s\"}%s\n",
                    k, v->name, v->ops, status_name(v->status), v->n_loss, v->loss_rtn, v->loss_before, v->loss_after,
                    v->rel_vs_rtn, view_sqnr(v), v->aggressive, view_stat(v, 0), view_stat(v, 1), view_stat(v, 2), v->note,
                    k + 1 < s->n_units ? "," : "");
        }
        fprintf(f, "  ]\n}\n");
        if (fr_atomic_commit(&a, e)) return e->code;
    }
    if (o->csv) {
        fr_atomic a;
        if (fr_atomic_open(&a, o->csv, e)) return e->code;
        fprintf(a.f, "index,name,status,iters,loss_rtn,loss_before,loss_after,rel_vs_rtn,sqnr_db,aggressive,"
                "aggressive_init,changed_vs_rtn,undecided,blas_core\n");
        for (int k = 0; k < s->n_units; k++) {
            const fr_unit_view *v = s->units[k];
            fprintf(a.f, "%d,%s,%s,%d,%.9g,%.9g,%.9g,%.6f,%.4f,%.6f,%.6f,%.6f,%.6f,%s\n", k, v->name, status_name(v->status),
                    v->n_loss, v->loss_rtn, v->loss_before, v->loss_after, v->rel_vs_rtn, view_sqnr(v), v->aggressive,
                    view_stat(v, 0), view_stat(v, 1), view_stat(v, 2), s->info.blas_core);
        }
        if (fr_atomic_commit(&a, e)) return e->code;
    }
    return FR_OK;
}

static void progress(const fr_snapshot *s, int tty, double *last_log)
{
    int k = s->cur_unit;
    const fr_unit_view *v = k >= 0 ? s->units[k] : NULL;
    double now = fr_now();
    if (!v) return;
    double loss = v->n_loss ? v->loss[v->n_loss - 1] : v->loss_rtn;
    if (tty) {
        int width = 24, filled = v->iters ? (int)((double)v->iter / v->iters * width) : width;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r[%s] unit %d/%d %-20.20s it %6d/%-6d loss %10.4g %7.0f it/s ETA %5.0fs ", bar, k + 1,
                s->n_units, v->name, v->iter, v->iters, loss, s->it_per_s, s->eta_s < 0 ? 0 : s->eta_s);
        fflush(stderr);
    } else if (now - *last_log > 5.0) {
        fprintf(stderr, "unit %d/%d %s: iteration %d/%d, loss %.4g, %.0f it/s, ETA %.0f s\n", k + 1, s->n_units, v->name,
                v->iter, v->iters, loss, s->it_per_s, s->eta_s < 0 ? 0 : s->eta_s);
        *last_log = now;
    }
}

/* Runs one configuration to the end; returns the final snapshot (caller releases).  With o,
 * the run checkpoints as asked and/or resumes from `resume`. */
static fr_snapshot *run_to_end_ex(const fr_model *m, const fr_run_config *c, int quiet, const fr_ckpt *resume,
                                  const run_opts *o, const char *file, fr_err *e)
{
    fr_worker *w = fr_worker_new(m, c, e);
    if (!w) { fr_err_prefix(e, file); return NULL; }
    if (o && !quiet)
        fprintf(stderr, "frtui run: %s, %s W%d%s, %d it/unit, batch %d, seed %llu, OpenBLAS %s x%d\n", m->meta.name,
                fr_method_name(c->method), c->bits, c->act_bits ? "A" : "", c->iters, c->batch,
                (unsigned long long)c->seed, fr_blas_core(), fr_blas_threads());
    if (resume && fr_worker_resume(w, resume, e)) { fr_worker_free(w); return NULL; }
    if (o && o->ckpt) fr_worker_set_checkpoint(w, o->ckpt, file, o->every_units, o->every_s);
    if (fr_worker_start(w, e)) { fr_worker_free(w); return NULL; }
    int tty = isatty(2) && !quiet;
    double last_log = 0;
    fr_snapshot *s = NULL;
    unsigned char *logged = NULL;
    for (;;) {
        struct pollfd pf = {fr_worker_wakefd(w), POLLIN, 0};
        poll(&pf, 1, 250);
        char buf[64];
        while (read(fr_worker_wakefd(w), buf, sizeof buf) > 0) {}
        fr_snapshot_release(s);
        s = fr_worker_acquire(w);
        if (!logged) logged = fr_xcalloc((size_t)s->n_units + 1, 1);
        for (int k = 0; k < s->n_units && !quiet && !tty; k++) {
            const fr_unit_view *v = s->units[k];
            if (logged[k] || !v || (v->status != FR_UNIT_DONE && v->status != FR_UNIT_FALLBACK)) continue;
            logged[k] = 1;
            fprintf(stderr, "unit %d/%d %s: %s, loss %.4g (RTN %.4g), aggressive %.2f%%%s%s\n", k + 1, s->n_units, v->name,
                    v->status == FR_UNIT_DONE ? "done" : "fell back to RTN", v->loss_after, v->loss_rtn,
                    100 * v->aggressive, v->note[0] ? ": " : "", v->note);
        }
        if (s->status == FR_RUN_DONE || s->status == FR_RUN_FAILED) break;
        if (!quiet) progress(s, tty, &last_log);
    }
    if (tty) fprintf(stderr, "\n");
    free(logged);
    fr_worker_join(w);
    fr_snapshot_release(s);
    s = fr_worker_acquire(w);
    if (s->status == FR_RUN_FAILED) {
        fr_err_set(e, FR_EINPUT, "%s", s->message);
        fr_snapshot_release(s);
        s = NULL;
    }
    int crc = 0;
    char cmsg[600];
    fr_worker_checkpoint_status(w, cmsg, sizeof cmsg, &crc);
    if (s && crc) {
        fr_err_set(e, crc, "%s", cmsg);
        fr_snapshot_release(s);
        s = NULL;
    } else if (s && cmsg[0] && !quiet) {
        fprintf(stderr, "%s\n", cmsg);
    }
    fr_worker_free(w);
    return s;
}

static fr_snapshot *run_to_end(const fr_model *m, const fr_run_config *c, int quiet, fr_err *e)
{
    return run_to_end_ex(m, c, quiet, NULL, NULL, NULL, e);
}

static int parse_common(int argc, char **argv, fr_run_config *c, const char **file, run_opts *o, fr_err *e)
{
    static const char *const pass[] = {"--json", "--csv", "--quiet", NULL};
    int *passed = fr_xcalloc((size_t)argc + 1, sizeof(int));
    memset(o, 0, sizeof *o);
    /* Values of --json/--csv are consumed here, before the run parser sees them. */
    char **av = fr_xcalloc((size_t)argc + 1, sizeof(char *));
    int ac = 0;
    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--csv") == 0) && i + 1 < argc) {
            if (argv[i][2] == 'j') o->json = argv[i + 1];
            else o->csv = argv[i + 1];
            i++;
            continue;
        }
        if (strcmp(argv[i], "--quiet") == 0) { o->quiet = 1; continue; }
        if ((strcmp(argv[i], "--resume") == 0 || strcmp(argv[i], "--checkpoint") == 0) && i + 1 < argc) {
            if (argv[i][2] == 'r') o->resume = argv[i + 1];
            else o->ckpt = argv[i + 1];
            i++;
            continue;
        }
        if (strcmp(argv[i], "--checkpoint-every") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            char *end;
            errno = 0;
            double x = strtod(v, &end);
            int secs = *end == 's' && end[1] == 0;
            if (errno || end == v || (*end && !secs) || !(x > 0) || x > 1e9 || (!secs && x != (double)(long)x)) {
                free(av);
                free(passed);
                return fr_err_set(e, FR_EINPUT, "--checkpoint-every '%s': expected a unit count N or seconds Ns", v);
            }
            if (secs) o->every_s = x; else o->every_units = (int)x;
            continue;
        }
        av[ac++] = argv[i];
    }
    int rc = fr_cli_parse_run(ac, av, c, file, pass, passed, e);
    free(av);
    free(passed);
    if (rc) return rc;
    if (!*file) return fr_err_set(e, FR_EINPUT, "needs a bundle file (frtui run FILE.frm)");
    /* Nobody could resume a paused batch run: it would wait forever. */
    if (c->step_mode) return fr_err_set(e, FR_EINPUT, "--step pauses after every unit and only the inspector can resume it (frtui FILE.frm --step); a batch run refuses it");
    if ((o->every_units || o->every_s) && !o->ckpt) return fr_err_set(e, FR_EINPUT, "--checkpoint-every needs --checkpoint FILE");
    return FR_OK;
}

/* --resume: the run continues with the checkpoint's settings; a setting given explicitly on
 * the command line that differs would break bit-exactness, so it is refused by name. */
static int resume_settings(int argc, char **argv, const fr_run_config *cl, const fr_ckpt *ck, const char *path, fr_err *e)
{
    const fr_run_config *k = &ck->cfg;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char want[64] = "", have[64] = "";
#define CMP(flag, fmt, field) \
        if (strcmp(a, flag) == 0 && cl->field != k->field) { \
            snprintf(want, sizeof want, fmt, cl->field); snprintf(have, sizeof have, fmt, k->field); }
        CMP("--bits", "%d", bits) CMP("--act-bits", "%d", act_bits) CMP("--first-last-bits", "%d", first_last_bits)
        CMP("--iters", "%d", iters) CMP("--batch", "%d", batch) CMP("--n-calib", "%d", n_calib)
        CMP("--lr", "%g", lr) CMP("--act-lr", "%g", act_lr) CMP("--lambda", "%g", lambda) CMP("--drop-p", "%g", drop_p)
        CMP("--qdrop", "%d", qdrop) CMP("--per-channel", "%d", per_channel) CMP("--asymmetric", "%d", symmetric)
        CMP("--granularity", "%d", layerwise) CMP("--init", "%d", init_minmax)
#undef CMP
        if (strcmp(a, "--seed") == 0 && cl->seed != k->seed) {
            snprintf(want, sizeof want, "%llu", (unsigned long long)cl->seed);
            snprintf(have, sizeof have, "%llu", (unsigned long long)k->seed);
        }
        if (strcmp(a, "--method") == 0 && cl->method != k->method) {
            snprintf(want, sizeof want, "%s", fr_method_name(cl->method));
            snprintf(have, sizeof have, "%s", fr_method_name(k->method));
        }
        if (want[0])
            return fr_err_set(e, FR_EINPUT, "%s: %s %s differs from the checkpoint's %s; refusing to resume (drop the flag "
                              "to continue with the checkpoint's settings)", path, a, want, have);
    }
    if (fr_ckpt_check_threads(ck, fr_blas_threads(), path, e)) return e->code;
    return fr_ckpt_check_core(ck, fr_blas_core(), path, e);
}

int fr_cli_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { run_help(); return 0; }
    fr_run_config c;
    const char *file;
    run_opts o;
    fr_err e;
    fr_err_clear(&e);
    if (parse_common(argc, argv, &c, &file, &o, &e)) return fr_cli_fail(&e);
    fr_model m;
    int st = fr_cli_load(file, &m);
    if (st) return fr_cli_exit_code(st);
    fr_ckpt ck;
    memset(&ck, 0, sizeof ck);
    if (o.resume) {
        if (fr_ckpt_load(o.resume, &ck, &e) || resume_settings(argc, argv, &c, &ck, o.resume, &e) ||
            fr_ckpt_check_model(&ck, &m, o.resume, &e)) {
            fr_ckpt_free(&ck);
            fr_model_free(&m);
            return fr_cli_fail(&e);
        }
        c = ck.cfg;
        /* Step mode is the inspector's debugger switch, not a result setting: a checkpoint
         * written with it on must not make the batch run pause (and wait) forever. */
        c.step_mode = 0;
        if (!o.quiet)
            fprintf(stderr, "frtui run: resuming %s: %s\n", o.resume,
                    ck.cur_unit >= 0 ? "inside a unit" : "between units");
    }
    fr_snapshot *s = run_to_end_ex(&m, &c, o.quiet, o.resume ? &ck : NULL, &o, file, &e);
    fr_ckpt_free(&ck);
    if (!s) { fr_model_free(&m); return fr_cli_fail(&e); }
    print_table(stdout, s);
    printf("top-1: full precision %.2f%%, quantized (%s W%d) %.2f%%   [%.1f s]\n", 100 * s->acc_fp,
           fr_method_name(c.method), c.bits, 100 * s->acc_q, s->elapsed_s);
    int rc = write_reports(s, &o, file, &e) ? fr_cli_fail(&e) : 0;
    fr_snapshot_release(s);
    fr_model_free(&m);
    return rc;
}

int fr_cli_compare(int argc, char **argv)
{
    fr_run_config c;
    const char *file;
    run_opts o;
    fr_err e;
    fr_err_clear(&e);
    if (parse_common(argc, argv, &c, &file, &o, &e)) return fr_cli_fail(&e);
    fr_model m;
    int st = fr_cli_load(file, &m);
    if (st) return fr_cli_exit_code(st);
    fr_snapshot *res[FR_METHOD__COUNT] = {0};
    for (int k = 0; k < FR_METHOD__COUNT; k++) {
        c.method = (fr_method)k;
        if (!o.quiet) fprintf(stderr, "frtui compare: %s W%d ...\n", fr_method_name(c.method), c.bits);
        res[k] = run_to_end(&m, &c, o.quiet, &e);
        if (!res[k]) {
            for (int j = 0; j < k; j++) fr_snapshot_release(res[j]);
            fr_model_free(&m);
            return fr_cli_fail(&e);
        }
    }
    print_kernel_line(stdout);
    printf("%s, W%d, %d it/unit, seed %llu\n", m.meta.name, c.bits, c.iters, (unsigned long long)c.seed);
    printf("%-3s %-26s | %10s | %10s %7s | %10s %7s\n", "#", "unit", "RTN loss", "AdaRound", "aggr%", "FlexRound",
           "aggr%");
    for (int k = 0; k < res[0]->n_units; k++)
        printf("%-3d %-26.26s | %10.4g | %10.4g %7.2f | %10.4g %7.2f\n", k, res[0]->units[k]->name,
               res[0]->units[k]->loss_after, res[1]->units[k]->loss_after, 100 * res[1]->units[k]->aggressive,
               res[2]->units[k]->loss_after, 100 * res[2]->units[k]->aggressive);
    printf("top-1: FP %.2f%% | RTN %.2f%% | AdaRound %.2f%% | FlexRound %.2f%%\n", 100 * res[0]->acc_fp,
           100 * res[0]->acc_q, 100 * res[1]->acc_q, 100 * res[2]->acc_q);
    int rc = 0;
    if (o.json || o.csv) {
        /* One report per method: FILE -> FILE with the method name inserted before the extension. */
        for (int k = 0; k < FR_METHOD__COUNT && !rc; k++) {
            char jp[1024], cp[1024];
            run_opts ok = o;
            if (o.json) { snprintf(jp, sizeof jp, "%s.%s.json", o.json, fr_method_name((fr_method)k)); ok.json = jp; }
            if (o.csv) { snprintf(cp, sizeof cp, "%s.%s.csv", o.csv, fr_method_name((fr_method)k)); ok.csv = cp; }
            if (write_reports(res[k], &ok, file, &e)) rc = fr_cli_fail(&e);
        }
    }
    for (int k = 0; k < FR_METHOD__COUNT; k++) fr_snapshot_release(res[k]);
    fr_model_free(&m);
    return rc;
}

/* One column of the side-by-side table: FlexRound's aggressive-rounding fraction per unit of
 * one model and bit width.  The paper's statistic compares networks (12.8 % of MobileNetV2's
 * first block vs 1.5 % of ResNet-18's), so `report` with several bundles lines the models up
 * unit by unit instead of leaving the reader to match separate tables. */
typedef struct side_col {
    char title[160];
    int n, first_block;   /* first_block: index of the first "block:" unit, -1 if none */
    char **name;
    double *aggr, mean_blocks;
} side_col;

static void side_add(side_col *c, const char *model, int bits, const fr_snapshot *s)
{
    snprintf(c->title, sizeof c->title, "%s W%d", model, bits);
    c->n = s->n_units;
    c->name = fr_xcalloc((size_t)c->n + 1, sizeof *c->name);
    c->aggr = fr_xcalloc((size_t)c->n + 1, sizeof *c->aggr);
    c->first_block = -1;
    double sum = 0;
    int nb = 0;
    for (int u = 0; u < c->n; u++) {
        c->name[u] = fr_xstrdup(s->units[u]->name);
        c->aggr[u] = s->units[u]->aggressive;
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
}

static void side_print(FILE *f, const side_col *c, int nc)
{
    fprintf(f, "\nFlexRound aggressive rounding side by side (%% of weights moved past the two nearest grid "
            "points, per unit in network order)\n\n| |");
    for (int k = 0; k < nc; k++) fprintf(f, " %s unit | aggr %% |", c[k].title);
    fprintf(f, "\n|---|");
    for (int k = 0; k < nc; k++) fprintf(f, "---|---|");
    fprintf(f, "\n| **first block** |");
    for (int k = 0; k < nc; k++) {
        if (c[k].first_block < 0) fprintf(f, " - | - |");
        else fprintf(f, " %s | **%.2f** |", c[k].name[c[k].first_block], 100 * c[k].aggr[c[k].first_block]);
    }
    fprintf(f, "\n| **mean over blocks** |");
    for (int k = 0; k < nc; k++) fprintf(f, " | **%.2f** |", 100 * c[k].mean_blocks);
    int rows = 0;
    for (int k = 0; k < nc; k++) rows = c[k].n > rows ? c[k].n : rows;
    for (int u = 0; u < rows; u++) {
        fprintf(f, "\n| %d |", u);
        for (int k = 0; k < nc; k++) {
            if (u < c[k].n) fprintf(f, " %s | %.2f |", c[k].name[u], 100 * c[k].aggr[u]);
            else fprintf(f, " | |");
        }
    }
    fprintf(f, "\n");
}

int fr_cli_report(int argc, char **argv)
{
    /* frtui report [--bits N]... [run options] FILE... : accuracy of each method per bit width,
     * and mean aggressive-rounding fractions, as a Markdown table. */
    int bits[8], nb = 0;
    const char *files[16];
    int nf = 0;
    char **rest = fr_xcalloc((size_t)argc + 1, sizeof(char *));
    int nr = 0;
    rest[nr++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bits") == 0 && i + 1 < argc && nb < 8) { bits[nb++] = atoi(argv[++i]); continue; }
        if (argv[i][0] != '-' && nf < 16) {
            /* A value of a preceding option is not a file. */
            if (i > 1 && argv[i - 1][0] == '-' && strcmp(argv[i - 1], "--qdrop") && strcmp(argv[i - 1], "--per-channel") &&
                strcmp(argv[i - 1], "--asymmetric")) { rest[nr++] = argv[i]; continue; }
            files[nf++] = argv[i];
            continue;
        }
        rest[nr++] = argv[i];
    }
    if (!nb) bits[nb++] = 4;
    if (!nf) { free(rest); fprintf(stderr, "frtui report: needs bundle files\n"); return 2; }
    for (int i = 1; i < nr; i++)   /* before any output: nobody could resume a paused batch run */
        if (strcmp(rest[i], "--step") == 0) {
            free(rest);
            fr_err e;
            fr_err_set(&e, FR_EINPUT, "--step pauses after every unit and only the inspector can resume it (frtui FILE.frm --step); a batch run refuses it");
            return fr_cli_fail(&e);
        }
    /* Per-unit aggressive-rounding fractions, printed after the summary table. */
    side_col cols[16 * 8];
    int ncol = 0;
    char *detail = NULL;
    size_t dlen = 0;
    FILE *dm = open_memstream(&detail, &dlen);
    print_kernel_line(stdout);
    printf("\n| model | bits | FP top-1 | RTN | AdaRound | FlexRound | aggressive %% Ada / Flex (mean over units) |\n");
    printf("|---|---|---|---|---|---|---|\n");
    int rc = 0;
    for (int f = 0; f < nf && !rc; f++)
        for (int b = 0; b < nb && !rc; b++) {
            fr_run_config c;
            const char *dummy;
            fr_err e;
            fr_err_clear(&e);
            rest[nr] = NULL;
            if (fr_cli_parse_run(nr, rest, &c, &dummy, NULL, NULL, &e)) { rc = fr_cli_fail(&e); break; }
            c.bits = bits[b];
            if (fr_run_config_check(&c, &e)) { rc = fr_cli_fail(&e); break; }
            fr_model m;
            if (fr_cli_load(files[f], &m)) { rc = 2; break; }
            double acc[3] = {0}, agg[3] = {0}, fp = 0;
            fr_snapshot *keep[3] = {0};
            for (int k = 0; k < FR_METHOD__COUNT && !rc; k++) {
                c.method = (fr_method)k;
                fprintf(stderr, "report: %s W%d %s\n", m.meta.name, c.bits, fr_method_name(c.method));
                fr_snapshot *s = run_to_end(&m, &c, 1, &e);
                if (!s) { rc = fr_cli_fail(&e); break; }
                acc[k] = s->acc_q;
                fp = s->acc_fp;
                double a = 0;
                for (int u = 0; u < s->n_units; u++) a += s->units[u]->aggressive;
                agg[k] = s->n_units ? a / s->n_units : 0;
                keep[k] = s;
            }
            if (!rc) {
                printf("| %s | W%d | %.2f | %.2f | %.2f | %.2f | %.2f / %.2f |\n", m.meta.name, c.bits, 100 * fp,
                       100 * acc[0], 100 * acc[1], 100 * acc[2], 100 * agg[1], 100 * agg[2]);
                fflush(stdout);
                fprintf(dm, "\n%s, W%d, %d it/unit: per-unit reconstruction loss and aggressive rounding (%% of weights "
                        "moved past the two nearest grid points)\n\n| unit | loss RTN | loss AdaRound | loss FlexRound | "
                        "aggr %% AdaRound | aggr %% FlexRound |\n|---|---|---|---|---|---|\n", m.meta.name, c.bits, c.iters);
                for (int u = 0; u < keep[0]->n_units; u++)
                    fprintf(dm, "| %s | %.4g | %.4g | %.4g | %.2f | %.2f |\n", keep[0]->units[u]->name,
                            keep[0]->units[u]->loss_after, keep[1]->units[u]->loss_after, keep[2]->units[u]->loss_after,
                            100 * keep[1]->units[u]->aggressive, 100 * keep[2]->units[u]->aggressive);
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
    free(rest);
    return rc;
}
