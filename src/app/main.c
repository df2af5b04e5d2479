/* main.c — frtui entry point: OpenBLAS set-up, then dispatch to a sub-command or the inspector.
 *
 *   frtui [FILE.frm | RUN.frc] [options]     open the inspector (default sample without FILE)
 *   frtui info FILE...                       summary of a bundle and its reconstruction units
 *   frtui eval FILE                          top-1 accuracy on the bundle's evaluation set
 *   frtui run FILE --method M --bits N ...   batch quantization with a report
 *   frtui compare FILE --bits N              RTN, AdaRound and FlexRound side by side
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
#include "frtui/tui.h"
#include "frtui/worker.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: frtui [FILE.frm] [options]          open the inspector (default: %s)\n"
            "       frtui info [--verbose] FILE...      bundle summary, layers, reconstruction units\n"
            "       frtui eval FILE                     top-1 accuracy on the bundle's evaluation set\n"
            "       frtui run FILE [options]            batch quantization (see frtui run --help)\n"
            "       frtui compare FILE [options]        RTN vs AdaRound vs FlexRound on the same data\n"
            "       frtui report [options] FILE...      the README's results table\n"
            "       frtui import MODEL -o OUT.frm ...   ONNX or tfjs model (+ --calib/--eval data) to a bundle\n"
            "       frtui export RUN.frc -o OUT.frm     quantized bundle (+ --safetensors OUT) from a checkpoint\n"
            "       frtui export-png RUN.frc --unit U --view V -o FILE.png   a view as a PNG\n"
            "developer tools (benchmarks, sample training) are in the separate frtui-dev program\n"
            "environment: FRTUI_THREADS (compute threads, default 2); OPENBLAS_CORETYPE is respected\n",
            FR_DEFAULT_SAMPLE);
}

/* The `e` key: PNG of the focused view, written to the current directory. */
static int export_png(void *ctx, const fr_snapshot *s, int unit, int layer, const char *view, char *msg, size_t msg_n)
{
    (void)ctx;
    char path[512], unit_name[128];
    snprintf(unit_name, sizeof unit_name, "%s", unit >= 0 && unit < s->n_units && s->units[unit] ? s->units[unit]->name : "unit");
    for (char *p = unit_name; *p; p++) if (*p == '/' || *p == ':' || *p == ' ') *p = '_';
    snprintf(path, sizeof path, "frtui-%s-%s-%s.png", s->info.model, unit_name, view);
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_export_png_view_ex(s, unit, layer, view, path, &e);
    snprintf(msg, msg_n, "%s", rc ? e.msg : path);
    if (!rc) snprintf(msg, msg_n, "wrote %s", path);
    return rc;
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
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

/* `frtui [FILE] [options]`: the inspector, or --dump-screen for a headless frame. */
static int inspector(int argc, char **argv)
{
    fr_tui_opts o;
    fr_tui_opts_default(&o);
    int dump = 0, cols = 120, rows = 40, wait_unit = -1, wait_done = 0, every_units = 0;
    double every_s = 0;
    const char *keys = "", *model = NULL, *resume = NULL, *ckpt = NULL;
    o.export_fn = export_png;
    /* Strip the inspector's own flags; the rest are run settings. */
    char **rest = fr_xcalloc((size_t)argc + 1, sizeof(char *));
    int nr = 0;
    rest[nr++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help-keys") == 0) { fr_keymap_print_help(stdout); free(rest); return 0; }
        if (strcmp(a, "--help-keys=markdown") == 0) { fr_keymap_print_markdown(stdout); free(rest); return 0; }
        else if (strcmp(a, "--ascii") == 0) o.ascii = 1;
        else if (strcmp(a, "--no-mouse") == 0) o.mouse = 0;
        else if (strcmp(a, "--dump-screen") == 0) dump = 1;
        else if (strcmp(a, "--wait-done") == 0) wait_done = 1;
        else if (strncmp(a, "--color=", 8) == 0 || (strcmp(a, "--color") == 0 && val)) {
            const char *c = a[7] == '=' ? a + 8 : argv[++i];
            if (strcmp(c, "auto") == 0) o.color = FR_COLOR_AUTO;
            else if (strcmp(c, "always") == 0) o.color = FR_COLOR_ALWAYS;
            else if (strcmp(c, "never") == 0) o.color = FR_COLOR_NEVER;
            else if (strcmp(c, "16") == 0 || strcmp(c, "256") == 0 || strcmp(c, "24") == 0 || strcmp(c, "truecolor") == 0) {
                o.color = FR_COLOR_ALWAYS;
                o.depth = c[0] == 't' ? 24 : atoi(c);
            } else {
                fprintf(stderr, "frtui: --color '%s': expected auto, always, never, 16, 256 or truecolor\n", c);
                free(rest);
                return 2;
            }
        } else if ((strcmp(a, "--cols") == 0 || strcmp(a, "--rows") == 0 || strcmp(a, "--wait-unit") == 0) && val) {
            int v = atoi(argv[++i]);
            if (a[2] == 'c') cols = v; else if (a[2] == 'r') rows = v; else wait_unit = v;
            if ((a[2] == 'c' || a[2] == 'r') && (v < 10 || v > 1000)) {
                fprintf(stderr, "frtui: %s %d is out of range 10..1000\n", a, v);
                free(rest);
                return 2;
            }
        } else if (strcmp(a, "--keys") == 0 && val) keys = argv[++i];
        else if (strcmp(a, "--palette") == 0 && val) o.palette = argv[++i];
        else rest[nr++] = argv[i];
    }
    fr_run_config c;
    const char *file = NULL;
    fr_err e;
    fr_err_clear(&e);
    if (fr_cli_parse_run(nr, rest, &c, &file, NULL, NULL, &e)) { free(rest); return fr_cli_fail(&e); }
    free(rest);
    if (!file) file = FR_DEFAULT_SAMPLE;
    if (ends_with(file, ".frc")) return replay(file, model, &o, dump, cols, rows, keys);
    fr_model m;
    int st = fr_cli_load(file, &m);
    if (st) return fr_cli_exit_code(st);
    fr_ckpt ck;
    memset(&ck, 0, sizeof ck);
    if (resume && (fr_ckpt_load(resume, &ck, &e) || fr_ckpt_check_model(&ck, &m, resume, &e))) {
        fr_ckpt_free(&ck);
        fr_model_free(&m);
        return fr_cli_fail(&e);
    }
    if (resume) c = ck.cfg;   /* the run continues with its own settings */
    fr_worker *w = fr_worker_new(&m, &c, &e);
    if (!w || (resume && fr_worker_resume(w, &ck, &e))) {
        fr_worker_free(w);
        fr_ckpt_free(&ck);
        fr_model_free(&m);
        return fr_cli_fail(&e);
    }
    fr_ckpt_free(&ck);
    /* `s` writes here; default beside the current directory, named after the model. */
    char ckdef[256];
    snprintf(ckdef, sizeof ckdef, "frtui-%s.frc", m.meta.name);
    fr_worker_set_checkpoint(w, ckpt ? ckpt : (resume ? resume : ckdef), file, ckpt || resume ? every_units : -1, every_s);
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
    int threads = 2;
    const char *t = getenv("FRTUI_THREADS");
    if (t && atoi(t) > 0) threads = atoi(t);
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
        struct { const char *name; int (*fn)(int, char **); } cmds[] = {
            {"info", fr_cli_info},       {"eval", fr_cli_eval},
            {"run", fr_cli_run},         {"compare", fr_cli_compare}, {"report", fr_cli_report},
            {"import", fr_cli_import},
            {"export", fr_cli_export},   {"export-png", fr_cli_export_png},
        };
        for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
            if (strcmp(cmd, cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
    }
    return inspector(argc, argv);
}
