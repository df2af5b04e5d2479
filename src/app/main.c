/* main.c — frtui entry point: OpenBLAS set-up, then dispatch to a sub-command or the inspector.
 *
 *   frtui [FILE.frm | RUN.frc | DIR]         open the inspector (default sample without FILE); a
 *                                            sweep folder DIR opens the sweep view
 *   frtui info FILE...                       summary of a bundle and its reconstruction units
 *   frtui eval FILE                          top-1 accuracy on the bundle's evaluation set
 *   frtui run FILE --method M --bits N ...   batch quantization with a report
 *   frtui compare FILE --bits N              RTN, AdaRound and FlexRound side by side
 *   frtui sweep MODEL... -o DIR [grid]       a grid of runs (cli_sweep.c); sweep-report DIR its report
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frtui/blas.h"
#include "frtui/ckpt.h"
#include "frtui/recon_ckpt.h"
#include "frtui/cli.h"
#include "frtui/export_png.h"
#include "frtui/keymap.h"
#include "frtui/opt.h"
#include "frtui/path.h"
#include "frtui/plotmodel.h"
#include "frtui/sb.h"
#include "frtui/dp.h"
#include "frtui/sweep_mpi.h"
#include "frtui/sweepdata.h"
#include "frtui/timeline.h"
#include "frtui/tui.h"
#include "frtui/worker.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: frtui [FILE.frm | RUN.frc] [options]  open the inspector (default: %s)\n"
            "       frtui DIR [options]                 the sweep view of a sweep folder (frtui sweep -o DIR)\n"
            "       frtui info [--verbose] FILE...      bundle summary, layers, reconstruction units, memory plan\n"
            "       frtui eval FILE                     top-1 accuracy on the bundle's evaluation set\n"
            "       frtui run FILE [options]            batch quantization (see frtui run --help)\n"
            "       frtui compare FILE [options]        RTN vs AdaRound vs FlexRound on the same data\n"
            "       frtui report [options] FILE...      the README's results table\n"
            "       frtui import MODEL -o OUT.frm ...   ONNX or tfjs model (+ --calib/--eval data) to a bundle\n"
            "       frtui sweep MODEL... -o DIR [grid]  many runs as one experiment (see frtui sweep --help)\n"
            "       frtui sweep-report DIR              its table (CSV, JSON) and plots (PNG)\n"
            "       frtui export RUN.frc -o OUT.frm     quantized bundle (+ --safetensors OUT) from a checkpoint\n"
            "       frtui export-png RUN.frc --unit U --view V -o FILE.png   a view as a PNG\n"
            "       frtui COMMAND --help                the options of one command\n"
            "inspector options (besides the run settings of `frtui run --help`):\n"
            "  --ascii                 ASCII glyphs only (automatic without a UTF-8 locale)\n"
            "  --color auto|always|never|16|256|truecolor   colours (NO_COLOR is honoured unless always)\n"
            "  --palette dark|light    colour palette\n"
            "  --no-mouse              do not capture the mouse\n"
            "  --checkpoint FILE.frc   where `s` (and --checkpoint-every N|Ns) write checkpoints\n"
            "  --resume RUN.frc        continue an interrupted run with its own settings\n"
            "  --model FILE.frm        the bundle of RUN.frc when the path it records has moved\n"
            "  --dump-screen           print one frame instead of opening the terminal UI, with\n"
            "      --cols N --rows N --keys KEYS --wait-unit N --wait-done\n"
            "  --help-keys[=markdown]  the key bindings\n"
            "  -V, --version           print the version\n"
            "developer tools (benchmarks, sample training) are in the separate frtui-dev program\n"
            "environment: FRTUI_THREADS (compute threads, default 2); OPENBLAS_CORETYPE is respected\n"
            "manual: man frtui\n",
            FR_DEFAULT_SAMPLE);
}

/* The `e` key: PNG of the focused view, written to the current directory. */
static int export_png(void *ctx, const fr_snapshot *s, int unit, int layer, const char *view, const fr_plot_state *st,
                      char *msg, size_t msg_n)
{
    (void)ctx;
    char path[512], unit_name[128];
    snprintf(unit_name, sizeof unit_name, "%s", unit >= 0 && unit < s->n_units && s->units[unit] ? s->units[unit]->name : "unit");
    for (char *p = unit_name; *p; p++) if (*p == '/' || *p == ':' || *p == ' ') *p = '_';
    fr_err e;
    fr_err_clear(&e);
    int rc, n = 0;
    if (strncmp(view, "csv", 3) == 0) {   /* C: the loss curve(s) */
        snprintf(path, sizeof path, "frtui-%s-%s-loss.csv", s->info.model, unit_name);
        rc = fr_export_loss_csv(s, unit, st->smooth, strcmp(view, "csv-all") == 0, path, &e);
    } else if (strcmp(view, "timeline") == 0) {   /* P: S evolving, animated + one PNG per moment */
        char prefix[480];
        snprintf(path, sizeof path, "frtui-%s-%s-timeline.png", s->info.model, unit_name);
        snprintf(prefix, sizeof prefix, "frtui-%s-%s", s->info.model, unit_name);
        rc = fr_export_timeline(s, unit, layer, "heatmap", st, path, prefix, 500, &n, &e);
        if (!rc) snprintf(msg, msg_n, "wrote %s (%d frames) and %s-it*.png", path, n, prefix);
        if (!rc) return rc;
    } else if (strcmp(view, "slides") == 0) {   /* X: every view as a slide */
        snprintf(path, sizeof path, "frtui-%s-%s-slides", s->info.model, unit_name);
        rc = fr_export_slides(s, unit, layer, st, path, 0, 0, &n, &e);
        if (!rc) snprintf(msg, msg_n, "wrote %d slides in %s/", n, path);
        if (!rc) return rc;
    } else {
        snprintf(path, sizeof path, "frtui-%s-%s-%s.png", s->info.model, unit_name, view);
        rc = fr_export_png_view_st(s, unit, layer, view, st, path, &e);
    }
    snprintf(msg, msg_n, "%s", rc ? e.msg : path);
    if (!rc) snprintf(msg, msg_n, "wrote %s", path);
    return rc;
}

/* `frtui RUN.frc [--model FILE.frm]`: read-only replay of a checkpoint. */
static int replay(const char *frc, const char *model, fr_tui_opts *o, int dump, int cols, int rows, const char *keys)
{
    fr_ckpt c;
    fr_model m;
    fr_snapshot *s;
    int rc = fr_cli_load_replay(frc, model, &c, &m, &s);
    if (rc) return rc;
    fr_err e;
    fr_err_clear(&e);
    o->readonly = 1;
    o->replay = s;
    if (dump) {
        fr_dump_source src = {.snapshot = s, .wait_unit = -1};
        rc = fr_dump_screen(&src, o, cols, rows, keys, stdout, &e);
    } else {
        rc = fr_tui_run(NULL, o, &e);
    }
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
    fr_model_free(&m);
    return rc ? fr_cli_fail(&e) : 0;
}

/* The sweep view's way into a point: the same read-only replay as `frtui RUN.frc`. */
typedef struct sweep_ctx { fr_tui_opts o; int cols, rows; } sweep_ctx;

static int open_run(void *ctx, const char *frc, const char *dump_keys, fr_err *e)
{
    sweep_ctx *sc = ctx;
    fr_tui_opts o = sc->o;
    if (!fr_cli_is_checkpoint(frc)) return fr_err_set(e, FR_EINPUT, "%s: no checkpoint yet", frc);
    int rc = replay(frc, NULL, &o, dump_keys != NULL, sc->cols, sc->rows, dump_keys ? dump_keys : "");
    if (rc) return fr_err_set(e, FR_EINPUT, "%s: cannot be replayed (exit %d; frtui %s says why)", frc, rc, frc);
    return FR_OK;
}

static int sweep_view(const char *dir, fr_tui_opts *o, int dump, int cols, int rows, const char *keys)
{
    sweep_ctx sc = {*o, cols, rows};
    fr_err e;
    fr_err_clear(&e);
    int rc = dump ? fr_dump_sweep(dir, o, cols, rows, keys, open_run, &sc, stdout, &e) : fr_tui_sweep(dir, o, open_run, &sc, &e);
    return rc ? fr_cli_fail(&e) : 0;
}

static int opt_color(const char *name, const char *c, void *dst, fr_err *e)
{
    fr_tui_opts *o = dst;
    if (strcmp(c, "auto") == 0) o->color = FR_COLOR_AUTO;
    else if (strcmp(c, "always") == 0) o->color = FR_COLOR_ALWAYS;
    else if (strcmp(c, "never") == 0) o->color = FR_COLOR_NEVER;
    else if (strcmp(c, "16") == 0 || strcmp(c, "256") == 0 || strcmp(c, "24") == 0 || strcmp(c, "truecolor") == 0) {
        o->color = FR_COLOR_ALWAYS;
        o->depth = c[0] == 't' ? 24 : (int)strtol(c, NULL, 10);
    } else {
        return fr_err_set(e, FR_EINPUT, "%s: '%s': expected auto, always, never, 16, 256 or truecolor", name, c);
    }
    return FR_OK;
}

/* The default sample: samples/ of the source tree when run from there, else the one `make
 * install` put in PREFIX/share/frtui/samples beside PREFIX/bin/frtui. */
static const char *default_sample(char *buf, size_t n)
{
    if (access(FR_DEFAULT_SAMPLE, F_OK) == 0) return FR_DEFAULT_SAMPLE;
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) return FR_DEFAULT_SAMPLE;
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return FR_DEFAULT_SAMPLE;
    *slash = 0;
    const char *base = strrchr(FR_DEFAULT_SAMPLE, '/');
    if ((size_t)snprintf(buf, n, "%s/../share/frtui/samples/%s", exe, base ? base + 1 : FR_DEFAULT_SAMPLE) >= n ||
        access(buf, F_OK) != 0)
        return FR_DEFAULT_SAMPLE;
    return buf;
}

/* `frtui [FILE] [options]`: the inspector, or --dump-screen for a headless frame. */
static int inspector(int argc, char **argv)
{
    fr_tui_opts o;
    fr_tui_opts_default(&o);
    int dump = 0, cols = 120, rows = 40, wait_unit = -1, wait_done = 0, no_mouse = 0, palette = -1;
    const char *keys = "", *model = NULL, *file = NULL;
    fr_cli_ckpt_opts k = {0};
    o.export_fn = export_png;
    fr_run_config c;
    fr_err e;
    fr_err_clear(&e);
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        if (strcmp(argv[i], "--help-keys") == 0) { fr_keymap_print_help(stdout); return 0; }
        if (strcmp(argv[i], "--help-keys=markdown") == 0) { fr_keymap_print_markdown(stdout); return 0; }
    }
    fr_opt t[FR_CLI_RUN_NOPTS + 24];
    int n = 0;
    t[n++] = (fr_opt){.name = "--ascii", .kind = FR_OPT_FLAG, .dst = &o.ascii, .val = 1};
    t[n++] = (fr_opt){.name = "--no-mouse", .kind = FR_OPT_FLAG, .dst = &no_mouse, .val = 1};
    t[n++] = (fr_opt){.name = "--dump-screen", .kind = FR_OPT_FLAG, .dst = &dump, .val = 1};
    t[n++] = (fr_opt){.name = "--wait-done", .kind = FR_OPT_FLAG, .dst = &wait_done, .val = 1};
    t[n++] = (fr_opt){.name = "--color", .kind = FR_OPT_FN, .fn = opt_color, .dst = &o};
    t[n++] = (fr_opt){.name = "--cols", .kind = FR_OPT_INT, .dst = &cols, .lo = 10, .hi = 1000};
    t[n++] = (fr_opt){.name = "--rows", .kind = FR_OPT_INT, .dst = &rows, .lo = 10, .hi = 1000};
    t[n++] = (fr_opt){.name = "--wait-unit", .kind = FR_OPT_INT, .dst = &wait_unit, .lo = -1, .hi = 1000000};
    t[n++] = (fr_opt){.name = "--keys", .kind = FR_OPT_STR, .dst = &keys};
    t[n++] = (fr_opt){.name = "--palette", .kind = FR_OPT_CHOICE, .dst = &palette, .choices = "dark|light"};
    t[n++] = (fr_opt){.name = "--model", .kind = FR_OPT_STR, .dst = &model};
    n = fr_cli_ckpt_table(t, n, &k);
    fr_cli_run_table(t, n, &c);
    if (fr_run_config_preset(&c, "teaching", &e) || fr_opt_parse(t, argc, argv, &file, 1, NULL, &e) ||
        fr_run_config_check(&c, &e)) {
        char clean[sizeof e.msg];
        fprintf(stderr, "frtui: %s (see frtui --help)\n", fr_term_clean(clean, sizeof clean, e.msg));
        return 2;
    }
    if (no_mouse) o.mouse = 0;
    /* unset: the config file's palette (the inspector) or dark (--dump-screen) */
    o.palette = palette < 0 ? NULL : palette ? "light" : "dark";
    char installed[4096];
    if (!file) file = default_sample(installed, sizeof installed);
    if (fr_sweepdata_is_sweep(file)) {
        if (k.resume || k.ckpt || model) {
            fprintf(stderr, "frtui: %s is a sweep folder, shown read-only; --resume/--checkpoint/--model go with a bundle "
                    "or a checkpoint\n", file);
            return 2;
        }
        return sweep_view(file, &o, dump, cols, rows, keys);
    }
    if (fr_str_ends_with(file, ".frc")) {
        if (k.resume || k.ckpt) {
            fprintf(stderr, "frtui: %s is a checkpoint, shown read-only; --resume/--checkpoint go with a bundle "
                    "(frtui FILE.frm --resume %s)\n", file, file);
            return 2;
        }
        return replay(file, model, &o, dump, cols, rows, keys);
    }
    if (model) {
        fprintf(stderr, "frtui: --model goes with a checkpoint (frtui RUN.frc --model FILE.frm); %s is the bundle\n", file);
        return 2;
    }
    if ((k.every_units || k.every_s) && !k.ckpt && !k.resume) {
        fprintf(stderr, "frtui: --checkpoint-every needs --checkpoint FILE.frc\n");
        return 2;
    }
    const char *in_k[] = {file};
    if (fr_cli_check_output("--checkpoint", k.ckpt, in_k, 1, &e)) return fr_cli_usage("inspector", &e);
    fr_model m;
    int st = fr_cli_load(file, &m);
    if (st) return fr_cli_exit_code(st);
    fr_ckpt ck;
    memset(&ck, 0, sizeof ck);
    if (k.resume && (fr_ckpt_load(k.resume, &ck, &e) || fr_ckpt_check_model(&ck, &m, k.resume, &e) ||
                     fr_ckpt_check_threads(&ck, fr_blas_threads(), k.resume, &e))) {
        fr_ckpt_free(&ck);
        fr_model_free(&m);
        return fr_cli_fail(&e);
    }
    if (k.resume) c = ck.cfg;   /* the run continues with its own settings */
    fr_worker *w = fr_worker_new(&m, &c, &e);
    if (!w || (k.resume && fr_worker_resume(w, &ck, &e))) {
        fr_worker_free(w);
        fr_ckpt_free(&ck);
        fr_model_free(&m);
        return fr_cli_fail(&e);
    }
    fr_ckpt_free(&ck);
    /* `s` writes here; default beside the current directory, named after the model. */
    char ckdef[256], abs_file[4096];
    snprintf(ckdef, sizeof ckdef, "frtui-%s.frc", m.meta.name);
    fr_worker_set_checkpoint(w, k.ckpt ? k.ckpt : (k.resume ? k.resume : ckdef), fr_cli_abspath(file, abs_file, sizeof abs_file),
                             k.ckpt || k.resume ? k.every_units : -1, k.every_s);
    int rc = FR_OK;
    if (!dump && (!isatty(0) || !isatty(1))) {
        rc = fr_err_set(&e, FR_EINPUT, "the inspector needs a terminal; for batch use try `frtui run %s`", file);
    } else if (fr_worker_start(w, &e) == FR_OK) {
        if (dump) {
            fr_dump_source src = {.worker = w, .wait_unit = wait_unit, .wait_done = wait_done, .timeout_s = 600};
            rc = fr_dump_screen(&src, &o, cols, rows, keys, stdout, &e);
        } else {
            rc = fr_tui_run(w, &o, &e);
        }
    } else {
        rc = e.code;
    }
    fr_worker_free(w);
    fr_model_free(&m);
    return rc ? fr_cli_fail(&e) : 0;
}

int main(int argc, char **argv)
{
    int threads;
    if (fr_cli_threads_env("frtui", &threads)) return 2;
    fr_err be;
    fr_err_clear(&be);
    if (fr_blas_init(argv, threads, &be)) return fr_cli_fail(&be);
    fr_fatal_signals_init();   /* no temp file outlives a signal (common.h) */

    if (argc >= 2) {
        const char *cmd = argv[1];
        if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
            printf("frtui %s\n", FR_VERSION);
            return 0;
        }
        struct { const char *name; int (*fn)(int, char **); } cmds[] = {
            {"info", fr_cli_info},       {"eval", fr_cli_eval},
            {"run", fr_cli_run},         {"compare", fr_cli_compare}, {"report", fr_cli_report},
            {"import", fr_cli_import},   {"sweep", fr_cli_sweep},     {"sweep-report", fr_cli_sweep_report},
            {"export", fr_cli_export},   {"export-png", fr_cli_export_png},
        };
        for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
            if (strcmp(cmd, cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
    }
    /* Under mpirun every rank would open its own inspector on one terminal: the inspector is one
     * process (batch runs are data parallel: `frtui run`, dp.h). */
    int lr, ls;
    if (fr_dp_launched(&lr, &ls) && ls > 1) {
        if (lr == 0)
            fprintf(stderr, "frtui: the inspector is one process, not %d MPI ranks; under mpirun use `frtui run` "
                    "(data parallel inside each unit) or `frtui sweep`\n", ls);
        return 2;
    }
    return inspector(argc, argv);
}
