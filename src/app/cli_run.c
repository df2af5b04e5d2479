/* cli_run.c — batch quantization: `frtui run` and `frtui compare` (`frtui report` is cli_report.c;
 * the tables and --json/--csv reports a run leaves are cli_run_report.c).
 *
 * Design note: batch mode drives the same fr_worker the inspector uses (one code path for
 * both, and the batch tests exercise the thread protocol).  The main thread only polls
 * snapshots: a progress bar on a terminal, plain log lines otherwise.
 * Under `mpirun -n K` (the MPI build, dp.h) every rank runs the same run, data parallel inside
 * each unit (recon.c), and holds the same parameters throughout; rank 0 alone prints, writes the
 * reports and the checkpoint (one file suffices: every rank's state is the same).  Refusals of
 * the command line are the same on every rank, so those ranks stop together; a failure once the
 * run has started may be one rank's, so it aborts the job (fr_dp_finalize).
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
#include "frtui/dp.h"
#include "frtui/recon.h"
#include "frtui/opt.h"
#include "frtui/sb.h"
#include "frtui/sweep_mpi.h"
#include "frtui/worker.h"

typedef struct run_opts {
    const char *json, *csv;
    int quiet;
    fr_cli_ckpt_opts ck;            /* --resume RUN.frc, --checkpoint FILE, --checkpoint-every N|Ns */
} run_opts;

/* ---- run settings: one option table shared by run, compare, report and the inspector ------ */

static int opt_preset(const char *name, const char *v, void *dst, fr_err *e)
{
    (void)name;
    return fr_run_config_preset(dst, v, e);
}

static int opt_act_gran(const char *name, const char *v, void *dst, fr_err *e)
{
    int *t = dst;
    if (strcmp(v, "token") == 0) *t = 1;
    else if (strcmp(v, "tensor") == 0) *t = 0;
    else return fr_err_set(e, FR_EINPUT, "%s: '%s': expected token or tensor", name, v);
    return FR_OK;
}

static int opt_method(const char *name, const char *v, void *dst, fr_err *e)
{
    int m = fr_method_from_name(v);
    if (m < 0) return fr_err_set(e, FR_EINPUT, "%s: '%s': expected rtn, adaround or flexround", name, v);
    *(fr_method *)dst = (fr_method)m;
    return FR_OK;
}

static int opt_unit(const char *name, const char *v, void *dst, fr_err *e)
{
    fr_run_config *c = dst;
    if (strlen(v) >= sizeof c->stop_unit) return fr_err_set(e, FR_EINPUT, "%s: '%.40s...' is too long", name, v);
    snprintf(c->stop_unit, sizeof c->stop_unit, "%s", v);
    return FR_OK;
}

static int opt_feature(const char *name, const char *v, void *dst, fr_err *e)
{
    fr_run_config *c = dst;
    if (strlen(v) >= sizeof c->feature) return fr_err_set(e, FR_EINPUT, "%s: '%.40s...' is too long", name, v);
    snprintf(c->feature, sizeof c->feature, "%s", v);
    return FR_OK;
}

static int opt_n_calib(const char *name, const char *v, void *dst, fr_err *e)
{
    long long x;
    if (fr_opt_int(name, v, 0, 100000000LL, &x, e)) return e->code;
    /* 0 used to mean "all" silently; asking for no calibration data is a mistake, and "all" is
     * what leaving the flag out does. */
    if (x == 0) return fr_err_set(e, FR_EINPUT, "%s: 0 samples cannot calibrate anything (leave the flag out to use all "
                                  "the bundle holds)", name);
    *(int *)dst = (int)x;
    return FR_OK;
}

/* --max-mem SIZE: bytes, or a number with K, M, G or T (powers of 1024), e.g. 4G or 512M. */
static int opt_max_mem(const char *name, const char *v, void *dst, fr_err *e)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    int shift = 0;
    if (end != v && *end) {
        const char *u = "KMGT", *f = strchr(u, *end >= 'a' ? *end - 32 : *end);
        if (f && *f) { shift = 10 * (int)(f - u + 1); end++; if (*end == 'B' || *end == 'b') end++; }
    }
    if (end == v || *end || errno || !(x > 0) || x * (double)(1ULL << shift) > 1e18)
        return fr_err_set(e, FR_EINPUT, "%s: '%s' is not a size (e.g. 4G, 512M, or bytes)", name, v);
    *(size_t *)dst = (size_t)(x * (double)(1ULL << shift));
    if (*(size_t *)dst < ((size_t)16 << 20))
        return fr_err_set(e, FR_EINPUT, "%s: %s is below 16M, too little to run anything", name, v);
    return FR_OK;
}

static int opt_spill_dir(const char *name, const char *v, void *dst, fr_err *e)
{
    fr_run_config *c = dst;
    if (!*v || strlen(v) >= sizeof c->spill_dir) return fr_err_set(e, FR_EINPUT, "%s: '%.40s' is empty or too long", name, v);
    snprintf(c->spill_dir, sizeof c->spill_dir, "%s", v);
    return FR_OK;
}

int fr_cli_run_table(fr_opt *t, int n, fr_run_config *c)
{
    const fr_opt add[] = {
        {.name = "--preset", .kind = FR_OPT_FN, .fn = opt_preset, .dst = c, .first = 1},
        {.name = "--method", .kind = FR_OPT_FN, .fn = opt_method, .dst = &c->method},
        {.name = "--bits", .kind = FR_OPT_INT, .dst = &c->bits, .lo = -1000, .hi = 1000},
        {.name = "--act-bits", .kind = FR_OPT_INT, .dst = &c->act_bits, .lo = -1000, .hi = 1000},
        {.name = "--act-gran", .kind = FR_OPT_FN, .fn = opt_act_gran, .dst = &c->act_token},
        {.name = "--first-last-bits", .kind = FR_OPT_INT, .dst = &c->first_last_bits, .lo = -1000, .hi = 1000},
        {.name = "--iters", .kind = FR_OPT_INT, .dst = &c->iters, .lo = -1000000000LL, .hi = 1000000000LL},
        {.name = "--batch", .kind = FR_OPT_INT, .dst = &c->batch, .lo = -1000000, .hi = 1000000},
        {.name = "--seed", .kind = FR_OPT_U64, .dst = &c->seed, .lo = 0, .hi = 2147483647LL},
        {.name = "--n-calib", .kind = FR_OPT_FN, .fn = opt_n_calib, .dst = &c->n_calib},
        {.name = "--max-cache-mb", .kind = FR_OPT_SIZE, .dst = &c->max_cache_mb, .lo = 1, .hi = 1LL << 30},
        {.name = "--max-mem", .kind = FR_OPT_FN, .fn = opt_max_mem, .dst = &c->max_mem},
        {.name = "--spill-dir", .kind = FR_OPT_FN, .fn = opt_spill_dir, .dst = c},
        {.name = "--dp-cache", .kind = FR_OPT_CHOICE, .dst = &c->dp_replicate, .choices = "shard|replicate"},
        {.name = "--lr", .kind = FR_OPT_FLOAT, .dst = &c->lr},
        {.name = "--act-lr", .kind = FR_OPT_FLOAT, .dst = &c->act_lr},
        {.name = "--lambda", .kind = FR_OPT_FLOAT, .dst = &c->lambda},
        {.name = "--scale-lr", .kind = FR_OPT_FLOAT, .dst = &c->scale_lr},
        {.name = "--keep-best", .kind = FR_OPT_INT, .dst = &c->keep_best, .lo = -1000000, .hi = 1000000},
        {.name = "--s1-param", .kind = FR_OPT_CHOICE, .dst = &c->s1_direct, .choices = "log|direct"},
        {.name = "--drop-p", .kind = FR_OPT_FLOAT, .dst = &c->drop_p},
        {.name = "--unit", .kind = FR_OPT_FN, .fn = opt_unit, .dst = c},
        {.name = "--feature", .kind = FR_OPT_FN, .fn = opt_feature, .dst = c},
        {.name = "--granularity", .kind = FR_OPT_CHOICE, .dst = &c->layerwise, .choices = "block|layer"},
        {.name = "--units", .kind = FR_OPT_CHOICE, .dst = &c->unit_rule, .choices = "brecq|split"},
        {.name = "--init", .kind = FR_OPT_CHOICE, .dst = &c->init_minmax, .choices = "mse|minmax"},
        {.name = "--qdrop", .kind = FR_OPT_FLAG, .dst = &c->qdrop, .val = 1},
        {.name = "--per-channel", .kind = FR_OPT_FLAG, .dst = &c->per_channel, .val = 1},
        {.name = "--group-size", .kind = FR_OPT_INT, .dst = &c->group_size, .lo = 0, .hi = 65536},
        {.name = "--asymmetric", .kind = FR_OPT_FLAG, .dst = &c->symmetric, .val = 0},
        {.name = "--step", .kind = FR_OPT_FLAG, .dst = &c->step_mode, .val = 1},
    };
    FR_ASSERT(sizeof add / sizeof add[0] <= FR_CLI_RUN_NOPTS);
    for (size_t k = 0; k < sizeof add / sizeof add[0]; k++) t[n++] = add[k];
    t[n].name = NULL;
    return n;
}

int fr_cli_parse_run(int argc, char **argv, fr_run_config *c, const char **file, fr_err *e)
{
    fr_opt t[FR_CLI_RUN_NOPTS + 1];
    fr_cli_run_table(t, 0, c);
    if (fr_run_config_preset(c, "teaching", e)) return e->code;
    int np = 0;
    *file = NULL;
    if (fr_opt_parse(t, argc, argv, file, 1, &np, e)) return e->code;
    return fr_run_config_check(c, e);
}

int fr_cli_usage(const char *cmd, const fr_err *e)
{
    char clean[sizeof e->msg];
    fprintf(stderr, "frtui %s: %s\n", cmd, fr_term_clean(clean, sizeof clean, e->msg));
    return 2;
}

static void run_help(void)
{
    printf("usage: frtui run FILE.frm [options]\n"
           "  --method rtn|adaround|flexround   rounding method (default flexround)\n"
           "  --bits N            weight bits 2..8 (default 4)\n"
           "  --first-last-bits N bits of the first and last layer (default 8; 0 = --bits)\n"
           "  --act-bits N        activation bits (default 0 = weights only)\n"
           "  --act-gran G        token: per-token max-abs steps on the inputs of linear layers (LLM W8A8;\n"
           "                      the default for language models); tensor: one learned step per layer\n"
           "                      output (BRECQ/QDrop; the default otherwise)\n"
           "  --granularity block|layer   BRECQ blocks or one unit per layer\n"
           "  --units brecq|split  block rule: brecq = each inverted residual is one unit whatever sits\n"
           "                      between its convs (default); split = frtui's rule before Dec 2026\n"
           "  --iters N  --batch N  --lr X  --act-lr X  --lambda X  --seed N\n"
           "  --scale-lr X        FlexRound: lr multiplier of the shared scales s1, s3, s4 (default 1;\n"
           "                      0 learns only the element-wise S2; README \"The paper's MobileNetV2\")\n"
           "  --keep-best N       FlexRound: evaluate N iterates per unit on all calibration samples\n"
           "                      (the RTN start, evenly spaced ones, the last) and keep the best\n"
           "                      (default 0: the last iterate, as the paper's algorithm)\n"
           "  --s1-param log|direct   FlexRound: Adam on log s1 (default, the official code) or on\n"
           "                      s1 itself (the paper's direct form)\n"
           "  --n-calib N         calibration samples used (1.., default all the bundle holds)\n"
           "  --qdrop [--drop-p P]   QDrop setting (mix FP/quantized inputs, drop act quantization)\n"
           "  --per-channel  --asymmetric  --init mse|minmax\n"
           "  --group-size G      one grid step (and zero point) per G consecutive inputs of each output\n"
           "                      row (GPTQ/AWQ/llama.cpp's per-group grids; G a multiple of 16, e.g. 32 or\n"
           "                      128); layers whose rows G does not divide keep one per output channel\n"
           "  --max-cache-mb N    refuse runs whose calibration caches exceed N MB\n"
           "  --max-mem SIZE      memory budget of the whole run, e.g. 4G (default: 80%% of what is\n"
           "                      available); calibration caches that do not fit spill to disk\n"
           "  --spill-dir DIR     where spilled caches go (default: next to --checkpoint, else $TMPDIR)\n"
           "  --dp-cache shard|replicate   under `mpirun -n K`: each rank holds 1/K of the calibration\n"
           "                      cache (default) or all of it (README \"Scaling out\")\n"
           "  --unit NAME         stop after this unit (the units before it are quantized too)\n"
           "  --feature NODE      node whose output the fidelity metrics compare (default: the input of\n"
           "                      the network's fully connected head, e.g. the global average pool)\n"
           "  --json FILE  --csv FILE   write the per-unit report (checked before the run starts)\n"
           "  --quiet, -q         no progress lines\n"
           "  --step              pause after each unit (inspector)\n"
           "  --checkpoint FILE.frc      write a checkpoint at the end (and as --checkpoint-every says)\n"
           "  --checkpoint-every N|Ns    also every N finished units, or every N seconds\n"
           "  --resume RUN.frc           continue an interrupted run (its settings; same FRTUI_THREADS)\n"
           "  --preset NAME       defaults from a named source:\n");
    for (int i = 0; fr_presets[i]; i++) printf("      %-15s %s\n", fr_presets[i], fr_run_config_preset_help(fr_presets[i]));
    printf("Same seed + same thread count (FRTUI_THREADS) gives bit-identical results.\n");
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
        fprintf(stderr, "frtui run: %s, %s W%d%s, %d it/unit, batch %d, seed %llu, OpenBLAS %s x%d%s%.0d%s\n", m->meta.name,
                fr_method_name(c->method), c->bits, c->act_bits ? "A" : "", c->iters, c->batch,
                (unsigned long long)c->seed, fr_blas_core(), fr_blas_threads(), fr_dp_size() > 1 ? ", " : "",
                fr_dp_size() > 1 ? fr_dp_size() : 0, fr_dp_size() > 1 ? " MPI ranks (data parallel)" : "");
    if (resume && fr_worker_resume(w, resume, e)) { fr_worker_free(w); return NULL; }
    if (o && !quiet) fr_recon_mem_plan_print(fr_worker_recon(w), stderr);
    char abs_file[4096];   /* recorded absolute, so replay and export find the bundle from anywhere */
    if (o && o->ck.ckpt)
        fr_worker_set_checkpoint(w, o->ck.ckpt, fr_cli_abspath(file, abs_file, sizeof abs_file), o->ck.every_units,
                                 o->ck.every_s);
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
            fprintf(stderr, "unit %d/%d %s: %s, loss %.4g (RTN %.4g), aggressive %.2f%%, clipped %.2f%%%s%s\n", k + 1,
                    s->n_units, v->name, v->status == FR_UNIT_DONE ? "done" : "fell back to RTN", v->loss_after,
                    v->loss_rtn, 100 * v->aggressive, 100 * v->clipped, v->note[0] ? ": " : "", v->note);
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

fr_snapshot *fr_cli_run_to_end(const fr_model *m, const fr_run_config *c, int quiet, fr_err *e)
{
    return run_to_end_ex(m, c, quiet, NULL, NULL, NULL, e);
}

static int opt_every(const char *name, const char *v, void *dst, fr_err *e)
{
    fr_cli_ckpt_opts *o = dst;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    int secs = *end == 's' && end[1] == 0;
    if (errno || end == v || (*end && !secs) || !(x > 0) || x > 1e9 || (!secs && x != (double)(long)x))
        return fr_err_set(e, FR_EINPUT, "%s: '%s': expected a unit count N or seconds Ns", name, v);
    if (secs) o->every_s = x; else o->every_units = (int)x;
    return FR_OK;
}

/* The checkpoint options of run and the inspector. */
int fr_cli_ckpt_table(fr_opt *t, int n, fr_cli_ckpt_opts *k)
{
    t[n++] = (fr_opt){.name = "--resume", .kind = FR_OPT_STR, .dst = &k->resume};
    t[n++] = (fr_opt){.name = "--checkpoint", .kind = FR_OPT_STR, .dst = &k->ckpt};
    t[n++] = (fr_opt){.name = "--checkpoint-every", .kind = FR_OPT_FN, .fn = opt_every, .dst = k};
    t[n].name = NULL;
    return n;
}

/* run and compare: the run settings plus reports (and checkpoints for run).  t receives the
 * parsed table (resume_settings reads which flags were given). */
static int parse_common(const char *cmd, int argc, char **argv, fr_run_config *c, const char **file, run_opts *o,
                        fr_opt *t, fr_err *e)
{
    memset(o, 0, sizeof *o);
    int n = 0;
    t[n++] = (fr_opt){.name = "--json", .kind = FR_OPT_STR, .dst = &o->json};
    t[n++] = (fr_opt){.name = "--csv", .kind = FR_OPT_STR, .dst = &o->csv};
    t[n++] = (fr_opt){.name = "--quiet", .alias = "-q", .kind = FR_OPT_FLAG, .dst = &o->quiet, .val = 1};
    if (strcmp(cmd, "run") == 0) n = fr_cli_ckpt_table(t, n, &o->ck);
    n = fr_cli_run_table(t, n, c);
    if (fr_run_config_preset(c, "teaching", e)) return e->code;
    int np = 0;
    *file = NULL;
    if (fr_opt_parse(t, argc, argv, file, 1, &np, e) || fr_run_config_check(c, e)) return e->code;
    if (!*file) return fr_err_set(e, FR_EINPUT, "needs a bundle file (frtui %s FILE.frm)", cmd);
    /* Nobody could resume a paused batch run: it would wait forever. */
    if (c->step_mode) return fr_err_set(e, FR_EINPUT, "--step pauses after every unit and only the inspector can resume it (frtui FILE.frm --step); a batch run refuses it");
    if ((o->ck.every_units || o->ck.every_s) && !o->ck.ckpt) return fr_err_set(e, FR_EINPUT, "--checkpoint-every needs --checkpoint FILE");
    /* Spilled caches go next to the checkpoint by default: the disk the user chose for the run. */
    if (!c->spill_dir[0] && o->ck.ckpt) {
        const char *sl = strrchr(o->ck.ckpt, '/');
        if (sl && (size_t)(sl - o->ck.ckpt) < sizeof c->spill_dir)
            snprintf(c->spill_dir, sizeof c->spill_dir, "%.*s", sl == o->ck.ckpt ? 1 : (int)(sl - o->ck.ckpt), o->ck.ckpt);
        else if (!sl) snprintf(c->spill_dir, sizeof c->spill_dir, ".");
    }
    return FR_OK;
}

/* The k-th word of a FR_OPT_CHOICE list "a|b|c" into out ("?" when out of range). */
static void choice_word(const char *choices, int k, char *out, size_t cap)
{
    snprintf(out, cap, "?");
    for (const char *c = choices; *c && k >= 0; k--) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (k == 0) snprintf(out, cap, "%.*s", (int)len, c);
        if (!bar) break;
        c = bar + 1;
    }
}

/* --resume: the run continues with the checkpoint's settings; a setting given explicitly on
 * the command line that differs would break bit-exactness, so it is refused by name. */
static int resume_settings(const fr_opt *t, const fr_run_config *cl, const fr_ckpt *ck, const char *path, fr_err *e)
{
    const fr_run_config *k = &ck->cfg;
    for (const fr_opt *o = t; o->name; o++) {
        const char *at = o->dst;
        if (!o->seen || o->first || at < (const char *)cl || at >= (const char *)(cl + 1) || o->dst == (const void *)cl) continue;
        size_t off = (size_t)(at - (const char *)cl);
        const char *kt = (const char *)k + off;
        char want[64] = "", have[64] = "";
        if (o->dst == &cl->method) {
            if (cl->method != k->method) {
                snprintf(want, sizeof want, "%s", fr_method_name(cl->method));
                snprintf(have, sizeof have, "%s", fr_method_name(k->method));
            }
        } else if (o->kind == FR_OPT_FLOAT) {
            float a, b;
            memcpy(&a, at, sizeof a);
            memcpy(&b, kt, sizeof b);
            if (a != b) { snprintf(want, sizeof want, "%g", a); snprintf(have, sizeof have, "%g", b); }
        } else if (o->kind == FR_OPT_U64 || o->kind == FR_OPT_SIZE) {
            uint64_t a, b;
            memcpy(&a, at, sizeof a);
            memcpy(&b, kt, sizeof b);
            if (a != b) { snprintf(want, sizeof want, "%llu", (unsigned long long)a); snprintf(have, sizeof have, "%llu", (unsigned long long)b); }
        } else if (o->kind == FR_OPT_CHOICE) {
            int a, b;
            memcpy(&a, at, sizeof a);
            memcpy(&b, kt, sizeof b);
            if (a != b) { choice_word(o->choices, a, want, sizeof want); choice_word(o->choices, b, have, sizeof have); }
        } else if (o->kind != FR_OPT_FN || o->dst == &cl->n_calib) {
            int a, b;
            memcpy(&a, at, sizeof a);
            memcpy(&b, kt, sizeof b);
            if (a != b) { snprintf(want, sizeof want, "%d", a); snprintf(have, sizeof have, "%d", b); }
        }
        if (want[0])
            return fr_err_set(e, FR_EINPUT, "%s: %s %s differs from the checkpoint's %s; refusing to resume (drop the flag "
                              "to continue with the checkpoint's settings)", path, o->name, want, have);
    }
    if (fr_ckpt_check_threads(ck, fr_blas_threads(), path, e)) return e->code;
    return fr_ckpt_check_core(ck, fr_blas_core(), path, e);
}

/* Every output is checked before the model is even loaded: a wrong directory or an output that
 * is one of the inputs fails in milliseconds, not after hours of reconstruction. */
static int check_outputs(const run_opts *o, const char *file, fr_err *e)
{
    const char *in[] = {file, o->ck.resume};
    /* --checkpoint may be the --resume file: the run continues it */
    if (fr_cli_check_output("--checkpoint", o->ck.ckpt, in, 1, e) || fr_cli_check_output("--json", o->json, in, 2, e) ||
        fr_cli_check_output("--csv", o->csv, in, 2, e))
        return e->code;
    const char *outs[] = {o->ck.ckpt, o->json, o->csv}, *flags[] = {"--checkpoint", "--json", "--csv"};
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < k; j++)
            if (outs[k] && outs[j] && fr_cli_same_file(outs[k], outs[j]))
                return fr_err_set(e, FR_EINPUT, "%s %s: is also the %s output", flags[k], outs[k], flags[j]);
    return FR_OK;
}

/* --n-calib beyond what the bundle holds: the engine uses all of it; say so. */
static void note_n_calib(const char *cmd, const fr_run_config *c, const fr_model *m, int quiet)
{
    if (!quiet && c->n_calib > m->calib.n && m->calib.n > 0)
        fprintf(stderr, "frtui %s: note: --n-calib %d, but %s holds %d calibration samples; using all %d\n", cmd, c->n_calib,
                m->meta.name, m->calib.n, m->calib.n);
}

/* A refusal every rank reaches alike: said once, by rank 0. */
static int usage_once(int rank, const fr_err *e)
{
    return rank == 0 ? fr_cli_usage("run", e) : 2;
}

static int fail_once(int rank, const fr_err *e)
{
    return rank == 0 ? fr_cli_fail(e) : fr_cli_exit_code(e->code ? e->code : FR_EINPUT);
}

/* *coord: cleared once the run has started (a failure from then on may be this rank's alone). */
static int run_cmd(int argc, char **argv, int rank, int size, int *coord)
{
    fr_run_config c;
    const char *file;
    run_opts o;
    fr_err e;
    fr_err_clear(&e);
    fr_opt t[FR_CLI_RUN_NOPTS + 8];
    if (parse_common("run", argc, argv, &c, &file, &o, t, &e) || check_outputs(&o, file, &e)) return usage_once(rank, &e);
    if (size > 1 && c.qdrop) {
        fr_err_set(&e, FR_EINPUT, "--qdrop cannot run on %d MPI ranks (its drop decisions are one serial random stream "
                   "over the whole mini-batch); run it on one rank", size);
        return usage_once(rank, &e);
    }
    if (rank > 0) {   /* rank 0 speaks and writes for the job */
        o.quiet = 1;
        o.json = o.csv = NULL;
        o.ck.ckpt = NULL;
        o.ck.every_units = 0;
        o.ck.every_s = 0;
    }
    fr_model m;
    int st = fr_cli_load(file, &m);
    if (st) return fr_cli_exit_code(st);
    note_n_calib("run", &c, &m, o.quiet);
    fr_ckpt ck;
    memset(&ck, 0, sizeof ck);
    if (o.ck.resume) {
        if (fr_ckpt_load(o.ck.resume, &ck, &e) || resume_settings(t, &c, &ck, o.ck.resume, &e) ||
            fr_ckpt_check_model(&ck, &m, o.ck.resume, &e)) {
            fr_ckpt_free(&ck);
            fr_model_free(&m);
            return fail_once(rank, &e);
        }
        /* Memory budget and spill place are this machine's, not the run's: the flags win. */
        ck.cfg.max_mem = c.max_mem;
        memcpy(ck.cfg.spill_dir, c.spill_dir, sizeof c.spill_dir);
        ck.cfg.dp_replicate = c.dp_replicate;
        c = ck.cfg;
        /* Step mode is the inspector's debugger switch, not a result setting: a checkpoint
         * written with it on must not make the batch run pause (and wait) forever. */
        c.step_mode = 0;
        if (!o.quiet)
            fprintf(stderr, "frtui run: resuming %s: %s\n", o.ck.resume,
                    ck.cur_unit >= 0 ? "inside a unit" : "between units");
    }
    int nc = c.n_calib > 0 && c.n_calib < m.calib.n ? c.n_calib : m.calib.n;
    if (nc > 0 && fr_recon_shard_check(file, nc, size, &c, &e)) {   /* said once, here */
        fr_ckpt_free(&ck);
        fr_model_free(&m);
        return usage_once(rank, &e);
    }
    *coord = size < 2;
    fr_snapshot *s = run_to_end_ex(&m, &c, o.quiet, o.ck.resume ? &ck : NULL, &o, file, &e);
    fr_ckpt_free(&ck);
    if (!s) { fr_model_free(&m); return fr_cli_fail(&e); }
    *coord = 1;   /* past the last collective: every rank has the same results */
    if (rank > 0) {
        int fell = 0;
        for (int k = 0; k < s->n_units; k++) fell += s->units[k] && s->units[k]->status == FR_UNIT_FALLBACK;
        int rc = c.method != FR_METHOD_RTN && s->n_units > 0 && fell == s->n_units;
        fr_snapshot_release(s);
        fr_model_free(&m);
        return rc;
    }
    fr_cli_print_run_table(stdout, s);
    if (s->acc_fp >= 0)
        printf("top-1: full precision %.2f%%, quantized (%s W%d) %.2f%%   [%.1f s]\n", 100 * s->acc_fp,
               fr_method_name(c.method), c.bits, 100 * s->acc_q, s->elapsed_s);
    else
        printf("top-1: the evaluation set has no labels (%s W%d)   [%.1f s]\n", fr_method_name(c.method), c.bits,
               s->elapsed_s);
    fr_cli_print_fidelity(stdout, s);
    int rc = fr_cli_write_run_reports(s, o.json, o.csv, file, &e) ? fr_cli_fail(&e) : 0;
    /* Every unit fell back to RTN: the reports are written (they say why, unit by unit), but the
     * run did not do what was asked, so a script must not take it for a success.  Exit 1, the
     * status of a failed computation; 2 stays reserved for refused input. */
    int fell = 0;
    for (int k = 0; k < s->n_units; k++) fell += s->units[k] && s->units[k]->status == FR_UNIT_FALLBACK;
    if (!rc && c.method != FR_METHOD_RTN && s->n_units > 0 && fell == s->n_units) {
        fprintf(stderr, "frtui run: %s: every unit fell back to RTN (see the notes); the result is RTN, not %s\n", file,
                fr_method_name(c.method));
        rc = 1;
    }
    fr_snapshot_release(s);
    fr_model_free(&m);
    return rc;
}

int fr_cli_run(int argc, char **argv)
{
    if (fr_opt_wants_help(argc, argv)) { run_help(); return 0; }
    int rank, size, coord = 1;
    fr_err e;
    fr_err_clear(&e);
    if (fr_dp_init(&rank, &size, &e) < 0) {
        int rc = usage_once(rank, &e);
        fr_dp_finalize(rc, 1);
        return rc;
    }
    int rc = run_cmd(argc, argv, rank, size, &coord);
    fr_dp_finalize(rc, coord);
    return rc;
}

int fr_cli_compare(int argc, char **argv)
{
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui compare FILE.frm [run options] [--json PREFIX] [--csv PREFIX] [--quiet]\n"
               "  runs RTN, AdaRound and FlexRound with the same settings and data and prints them side by side;\n"
               "  --json/--csv write one report per method: PREFIX.rtn.json, PREFIX.adaround.json, ...\n"
               "  run options: as `frtui run --help` (except --checkpoint/--resume)\n");
        return 0;
    }
    fr_run_config c;
    const char *file;
    run_opts o;
    fr_err e;
    fr_err_clear(&e);
    fr_opt t[FR_CLI_RUN_NOPTS + 8];
    int lr, ls;
    if (fr_dp_launched(&lr, &ls) && ls > 1) {   /* each rank would run all three and write the same files */
        fr_err_set(&e, FR_EINPUT, "not under %d MPI ranks: compare is one process (data parallel runs: "
                   "mpirun ... frtui run --method M)", ls);
        return lr == 0 ? fr_cli_usage("compare", &e) : 2;
    }
    if (parse_common("compare", argc, argv, &c, &file, &o, t, &e)) return fr_cli_usage("compare", &e);
    for (int k = 0; k < FR_METHOD__COUNT; k++) {
        char jp[1024], cp[1024];
        snprintf(jp, sizeof jp, "%s.%s.json", o.json ? o.json : "", fr_method_name((fr_method)k));
        snprintf(cp, sizeof cp, "%s.%s.csv", o.csv ? o.csv : "", fr_method_name((fr_method)k));
        if (fr_cli_check_output("--json", o.json ? jp : NULL, &file, 1, &e) || fr_cli_check_output("--csv", o.csv ? cp : NULL, &file, 1, &e))
            return fr_cli_usage("compare", &e);
    }
    fr_model m;
    int st = fr_cli_load(file, &m);
    if (st) return fr_cli_exit_code(st);
    note_n_calib("compare", &c, &m, o.quiet);
    fr_snapshot *res[FR_METHOD__COUNT] = {0};
    for (int k = 0; k < FR_METHOD__COUNT; k++) {
        c.method = (fr_method)k;
        if (!o.quiet) fprintf(stderr, "frtui compare: %s W%d ...\n", fr_method_name(c.method), c.bits);
        res[k] = fr_cli_run_to_end(&m, &c, o.quiet, &e);
        if (!res[k]) {
            for (int j = 0; j < k; j++) fr_snapshot_release(res[j]);
            fr_model_free(&m);
            return fr_cli_fail(&e);
        }
    }
    fr_cli_print_kernel_line(stdout);
    printf("%s, W%d, %d it/unit, seed %llu\n", m.meta.name, c.bits, c.iters, (unsigned long long)c.seed);
    /* aggr% = rounded beyond the two nearest grid points; clip% = clipped at a grid end (fr_qclass) */
    printf("%-3s %-26s | %10s %7s | %10s %7s %7s | %10s %7s %7s\n", "#", "unit", "RTN loss", "clip%", "AdaRound", "aggr%",
           "clip%", "FlexRound", "aggr%", "clip%");
    for (int k = 0; k < res[0]->n_units; k++)
        printf("%-3d %-26.26s | %10.4g %7.2f | %10.4g %7.2f %7.2f | %10.4g %7.2f %7.2f\n", k, res[0]->units[k]->name,
               res[0]->units[k]->loss_after, 100 * res[0]->units[k]->clipped, res[1]->units[k]->loss_after,
               100 * res[1]->units[k]->aggressive, 100 * res[1]->units[k]->clipped, res[2]->units[k]->loss_after,
               100 * res[2]->units[k]->aggressive, 100 * res[2]->units[k]->clipped);
    if (res[0]->acc_fp >= 0)
        printf("top-1: FP %.2f%% | RTN %.2f%% | AdaRound %.2f%% | FlexRound %.2f%%\n", 100 * res[0]->acc_fp,
               100 * res[0]->acc_q, 100 * res[1]->acc_q, 100 * res[2]->acc_q);
    if (res[0]->fid.n > 0) {
        char fname[96];
        printf("fidelity to FP (%d eval samples, feature %s): cosine RTN %.4f | AdaRound %.4f | FlexRound %.4f\n",
               res[0]->fid.n, fr_term_clean(fname, sizeof fname, res[0]->fid.feature), res[0]->fid.cos, res[1]->fid.cos,
               res[2]->fid.cos);
        printf("  rel. MSE %.4g | %.4g | %.4g;  top-1 agreement %.2f%% | %.2f%% | %.2f%%;  KL %.4g | %.4g | %.4g\n",
               res[0]->fid.rel_mse, res[1]->fid.rel_mse, res[2]->fid.rel_mse, 100 * res[0]->fid.agree,
               100 * res[1]->fid.agree, 100 * res[2]->fid.agree, res[0]->fid.kl, res[1]->fid.kl, res[2]->fid.kl);
        if (res[0]->fid.lm_vocab)
            printf("perplexity: FP %.4f | RTN %.4f | AdaRound %.4f | FlexRound %.4f\n", exp(res[0]->fid.nll_fp),
                   exp(res[0]->fid.nll_q), exp(res[1]->fid.nll_q), exp(res[2]->fid.nll_q));
    }
    int rc = 0;
    if (o.json || o.csv) {
        /* One report per method: FILE -> FILE with the method name inserted before the extension. */
        for (int k = 0; k < FR_METHOD__COUNT && !rc; k++) {
            char jp[1024], cp[1024];
            run_opts ok = o;
            if (o.json) { snprintf(jp, sizeof jp, "%s.%s.json", o.json, fr_method_name((fr_method)k)); ok.json = jp; }
            if (o.csv) { snprintf(cp, sizeof cp, "%s.%s.csv", o.csv, fr_method_name((fr_method)k)); ok.csv = cp; }
            if (fr_cli_write_run_reports(res[k], ok.json, ok.csv, file, &e)) rc = fr_cli_fail(&e);
        }
    }
    for (int k = 0; k < FR_METHOD__COUNT; k++) fr_snapshot_release(res[k]);
    fr_model_free(&m);
    return rc;
}
