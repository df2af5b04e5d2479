/* cli_ckpt.c — `frtui export` and `frtui export-png`: headless consumers of a checkpoint.
 *
 * Design note: both commands load RUN.frc and the bundle it was made from (the path recorded in
 * the checkpoint, or --model), check them against each other (fr_ckpt_check_model) and hand
 * over to the exporters (export_run.h, export_png.h); nothing here but flags and messages.
 * Every failure is one line on stderr and exit status 2; outputs are written all or none and
 * atomically, so a failure never leaves or damages an output file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frtui/cli.h"
#include "frtui/export_onnx.h"
#include "frtui/export_png.h"
#include "frtui/export_run.h"
#include "frtui/opt.h"
#include "frtui/frm.h"
#include "frtui/recon_ckpt.h"
#include "frtui/timeline.h"

int fr_cli_load_ckpt(const char *ckpt_path, const char *model_path, fr_ckpt *c, fr_model *m)
{
    fr_err e;
    fr_err_clear(&e);
    fr_model_init(m);
    if (fr_ckpt_load(ckpt_path, c, &e)) return fr_cli_fail(&e);
    const char *mp = model_path ? model_path : c->bundle_path;
    if (!mp[0]) {
        fprintf(stderr, "frtui: %s: records no bundle path; give it with --model FILE.frm\n", ckpt_path);
        fr_ckpt_free(c);
        return 2;
    }
    /* Checkpoints record the bundle's absolute path; older ones the path as typed, which may be
     * relative to where the run started: try it from here, then beside the checkpoint. */
    char beside[4096];
    const char *slash = strrchr(ckpt_path, '/');
    if (!model_path && mp[0] != '/' && access(mp, F_OK) != 0 && slash &&
        (size_t)snprintf(beside, sizeof beside, "%.*s/%s", (int)(slash - ckpt_path), ckpt_path, mp) < sizeof beside &&
        access(beside, F_OK) == 0)
        mp = beside;
    if (fr_frm_read(mp, m, &e)) {
        fprintf(stderr, "frtui: %s (the bundle of %s%s)\n", e.msg, ckpt_path, model_path ? "" : "; give another with --model");
        fr_ckpt_free(c);
        return 2;
    }
    if (fr_ckpt_check_model(c, m, ckpt_path, &e)) {
        fr_ckpt_free(c);
        fr_model_free(m);
        return fr_cli_fail(&e);
    }
    return 0;
}

int fr_cli_load_replay(const char *ckpt_path, const char *model_path, fr_ckpt *c, fr_model *m, fr_snapshot **s)
{
    int rc = fr_cli_load_ckpt(ckpt_path, model_path, c, m);
    if (rc) return rc;
    fr_err e;
    fr_err_clear(&e);
    *s = fr_ckpt_snapshot(c, m, &e);
    if (*s) return 0;
    fr_ckpt_free(c);
    fr_model_free(m);
    return fr_cli_fail(&e);
}

static int usage(const char *cmd, const char *msg, const char *arg)
{
    fprintf(stderr, "frtui %s: %s%s%s (see frtui %s --help)\n", cmd, msg, arg ? " " : "", arg ? arg : "", cmd);
    return 2;
}

/* Every output of export against every input (the checkpoint, its bundle, the ONNX source) and
 * against the other outputs, before anything is computed or written. */
static int check_export_outputs(const char *const *outs, const char *const *flags, int n_out, const char *const *ins,
                                int n_in, fr_err *e)
{
    for (int k = 0; k < n_out; k++) {
        if (fr_cli_check_output(flags[k], outs[k], ins, n_in, e)) return e->code;
        for (int j = 0; j < k; j++)
            if (outs[k] && outs[j] && fr_cli_same_file(outs[k], outs[j]))
                return fr_err_set(e, FR_EINPUT, "%s %s: is also the %s output", flags[k], outs[k], flags[j]);
    }
    return FR_OK;
}

int fr_cli_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *st = NULL, *model = NULL, *onnx = NULL, *onnx_src = NULL, *gguf = NULL;
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui export RUN.frc -o OUT.frm [--safetensors OUT.safetensors] [--model FILE.frm]\n"
               "                   [--onnx OUT.onnx [--onnx-source MODEL.onnx]] [--gguf OUT.gguf]\n"
               "       frtui export MODEL.frm --gguf OUT.gguf      (the full-precision language model)\n"
               "  writes the quantized model: weights = dequantised codes, codes and scales as metadata\n"
               "  --onnx: the original ONNX file with every quantized weight replaced by its dequantised\n"
               "  value, everything else byte for byte (source: the file the bundle was imported from)\n"
               "  --gguf: a LLaMA-shaped language model for llama.cpp; the learned integer codes become\n"
               "  Q4_0 / Q4_1 / Q8_0 blocks (scales rounded to fp16) when the run's scale groups hold whole\n"
               "  32-weight blocks (per tensor, per channel, --group-size 32/64/128...), else F32\n"
               "  --model: the bundle, when the path the checkpoint records has moved\n");
        return 0;
    }
    fr_opt t[] = {
        {.name = "--out", .alias = "-o", .kind = FR_OPT_STR, .dst = &out},
        {.name = "--safetensors", .kind = FR_OPT_STR, .dst = &st},
        {.name = "--model", .kind = FR_OPT_STR, .dst = &model},
        {.name = "--onnx", .kind = FR_OPT_STR, .dst = &onnx},
        {.name = "--onnx-source", .kind = FR_OPT_STR, .dst = &onnx_src},
        {.name = "--gguf", .kind = FR_OPT_STR, .dst = &gguf},
        {.name = NULL},
    };
    fr_err pe;
    fr_err_clear(&pe);
    if (fr_opt_parse(t, argc, argv, &in, 1, NULL, &pe)) return fr_cli_usage("export", &pe);
    if (!in) return usage("export", "needs a checkpoint file", NULL);
    if (!out && !st && !onnx && !gguf)
        return usage("export", "needs -o OUT.frm, --safetensors OUT.safetensors, --onnx OUT.onnx or --gguf OUT.gguf", NULL);
    const char *outs[] = {out, st, onnx, gguf}, *flags[] = {"-o", "--safetensors", "--onnx", "--gguf"};
    const char *ins0[] = {in, model, onnx_src};
    if (check_export_outputs(outs, flags, 4, ins0, 3, &pe)) return fr_cli_usage("export", &pe);
    /* --gguf alone from a bundle: its full-precision model.  Anything else (and any file that is
     * neither) goes to the checkpoint loader, whose refusal names the file. */
    if (gguf && !out && !st && !onnx && !model && !onnx_src && fr_cli_has_magic(in, "FRTM")) {
        fr_model m;
        fr_err e;
        fr_err_clear(&e);
        if (fr_frm_read(in, &m, &e)) return fr_cli_fail(&e);
        int rc = fr_export_gguf_fp(&m, in, gguf, 0, &e);
        fr_model_free(&m);
        return rc ? fr_cli_fail(&e) : 0;
    }
    fr_ckpt c;
    fr_model m;
    int rc = fr_cli_load_ckpt(in, model, &c, &m);
    if (rc) return rc;
    fr_err e;
    fr_err_clear(&e);
    /* Now that the checkpoint named its bundle (and the bundle its ONNX source): check again. */
    char src[1024];
    const char *ins1[] = {in, model ? model : c.bundle_path, onnx_src ? onnx_src : (fr_export_onnx_source(&m, src, sizeof src) ? NULL : src)};
    if (check_export_outputs(outs, flags, 4, ins1, 3, &e)) {
        fr_ckpt_free(&c);
        fr_model_free(&m);
        return fr_cli_usage("export", &e);
    }
    double acc = -1;
    fr_export_req req = {out, st, onnx, onnx_src, gguf, 0};
    rc = fr_export_run(&c, &m, &req, &acc, &e);
    if (!rc && out) {
        printf("%s: quantized %s (%s W%d)", out, m.meta.name, fr_method_name(c.cfg.method), c.cfg.bits);
        if (acc >= 0) printf(", top-1 %.2f%% on %d evaluation samples", 100 * acc, m.eval.n);
        printf("\n");
    }
    if (!rc && st) printf("%s: integer codes and scales (safetensors)\n", st);
    if (!rc && onnx) printf("%s: fake-quant ONNX (dequantised weights)\n", onnx);
    fr_ckpt_free(&c);
    fr_model_free(&m);
    return rc ? fr_cli_fail(&e) : 0;
}

int fr_cli_export_png(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *unit = NULL, *view = NULL, *model = NULL, *slides = NULL, *frames = NULL, *csv = NULL, *weight = NULL;
    int layer = 1;   /* 1-based, as the inspector numbers layers */
    int anim = 0, moment = 0, delay = 500;
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui export-png RUN.frc --unit NAME|N --view heatmap|scatter|loss|hist|compare|\n"
               "       reciprocal|channels|overlay|equation -o FILE.png [--weight ROW,COL]\n"
               "       [--layer N] [--model FILE.frm] [--moment N]\n"
               "       frtui export-png RUN.frc --unit NAME|N --anim -o FILE.png [--frames PREFIX] [--delay MS]\n"
               "       frtui export-png RUN.frc --unit NAME|N --slides DIR\n"
               "       frtui export-png RUN.frc --unit NAME|N --csv FILE.csv [--view compare]\n"
               "  --unit: a unit's or layer's name, or its number as the inspector shows it (1 = the first)\n"
               "  --layer: the layer within the unit, 1 = the first (default)\n"
               "  --moment N: the view as it was at the unit's N-th recorded moment (1 = the start)\n"
               "  --anim: the view (default heatmap) at every recorded moment and at the end, as an\n"
               "          animated PNG; --frames PREFIX also writes PREFIX-itNNNNNN.png per moment\n"
               "  --view overlay: every method's loss (RTN flat, the run's method, compare views when saved)\n"
               "  --view equation: the equation strip for one weight: --weight ROW,COL of the layer (0-based,\n"
               "          as the strip prints W[ROW,COL]); default the aggressive weight of largest |W|\n"
               "  --slides DIR: every view as a 1920x1080 slide titled with model, unit, method, bits, iteration\n"
               "  --csv: the loss curve (iteration, seconds, loss, reconstruction, smoothed); with\n"
               "         --view compare every method's\n");
        return 0;
    }
    fr_opt t[] = {
        {.name = "--out", .alias = "-o", .kind = FR_OPT_STR, .dst = &out},
        {.name = "--unit", .kind = FR_OPT_STR, .dst = &unit},
        {.name = "--view", .kind = FR_OPT_STR, .dst = &view},
        {.name = "--model", .kind = FR_OPT_STR, .dst = &model},
        {.name = "--layer", .kind = FR_OPT_INT, .dst = &layer, .lo = 1, .hi = 32},
        {.name = "--slides", .kind = FR_OPT_STR, .dst = &slides},
        {.name = "--anim", .kind = FR_OPT_FLAG, .dst = &anim, .val = 1},
        {.name = "--frames", .kind = FR_OPT_STR, .dst = &frames},
        {.name = "--delay", .kind = FR_OPT_INT, .dst = &delay, .lo = 10, .hi = 10000},
        {.name = "--moment", .kind = FR_OPT_INT, .dst = &moment, .lo = 1, .hi = 1000},
        {.name = "--csv", .kind = FR_OPT_STR, .dst = &csv},
        {.name = "--weight", .kind = FR_OPT_STR, .dst = &weight},
        {.name = NULL},
    };
    fr_err pe;
    fr_err_clear(&pe);
    if (fr_opt_parse(t, argc, argv, &in, 1, NULL, &pe)) return fr_cli_usage("export-png", &pe);
    const char *ins[] = {in, model};
    if (out && fr_cli_check_output("-o", out, ins, 2, &pe)) return fr_cli_usage("export-png", &pe);
    if (csv && fr_cli_check_output("--csv", csv, ins, 2, &pe)) return fr_cli_usage("export-png", &pe);
    if (!in || !unit) return usage("export-png", "needs RUN.frc --unit NAME", NULL);
    if (slides || csv || (anim && !out && frames)) {
        /* -o optional */
    } else if (!out || (!view && !anim)) {
        return usage("export-png", "needs RUN.frc --unit NAME --view V -o FILE.png (or --anim, --slides, --csv)", NULL);
    }
    if ((anim || slides || csv) && moment) return usage("export-png", "--moment goes with a single view", NULL);
    fr_ckpt c;
    fr_model m;
    fr_snapshot *s;
    int rc = fr_cli_load_replay(in, model, &c, &m, &s);
    if (rc) return rc;
    fr_err e;
    fr_err_clear(&e);
    int k = -1, n = 0;
    fr_snapshot *base = NULL;
    layer -= 1;
    fr_plot_state st;
    fr_plot_state_default(&st);
    if (weight) {
        char *end;
        long r = strtol(weight, &end, 10), cc = -1;
        if (end != weight && *end == ',') cc = strtol(end + 1, &end, 10);
        if (*end || r < 0 || cc < 0 || r > (1L << 30) || cc > (1L << 30))
            rc = fr_err_set(&e, FR_EINPUT, "--weight %s: expected ROW,COL (two numbers from 0, as the strip shows W[ROW,COL])", weight);
        st.eqn_row = (int)r;
        st.eqn_col = (int)cc;
    }
    if (fr_export_png_find_unit(s, unit, &k, &layer)) rc = fr_err_set(&e, FR_EINPUT, "%s: no unit or layer named '%s'", in, unit);
    if (!rc && moment) {   /* the unit as it was at that moment */
        int cnt = fr_timeline_count(s, k);
        char msg[256] = "";
        fr_snapshot *shot = moment <= cnt ? fr_timeline_shot(s, k, moment - 1, msg, sizeof msg) : NULL;
        if (!shot) rc = fr_err_set(&e, FR_EINPUT, "%s: --moment %d: unit %s has %d recorded moments%s%s", in, moment,
                                   s->units[k]->name, cnt, msg[0] ? ": " : "", msg);
        else { base = s; s = shot; }   /* the base owns the history the shot reads */
    }
    if (!rc && slides) {
        rc = fr_export_slides(s, k, layer, &st, slides, 0, 0, &n, &e);
        if (!rc) printf("%s: %d slides of unit %s\n", slides, n, s->units[k]->name);
    }
    if (!rc && csv) {
        rc = fr_export_loss_csv(s, k, st.smooth, view && strcmp(view, "compare") == 0, csv, &e);
        if (!rc) printf("%s: loss curve of unit %s\n", csv, s->units[k]->name);
    }
    if (!rc && anim) {
        rc = fr_export_timeline(s, k, layer, view ? view : "heatmap", &st, out, frames, delay, &n, &e);
        if (!rc) printf("%s: %d frames of unit %s\n", out ? out : frames, n, s->units[k]->name);
    } else if (!rc && out && view) {
        rc = fr_export_png_view_st(s, k, layer, view, &st, out, &e);
        if (!rc) printf("%s: %s of unit %s\n", out, view, s->units[k]->name);
    }
    fr_snapshot_release(s);
    fr_snapshot_release(base);
    fr_ckpt_free(&c);
    fr_model_free(&m);
    return rc ? fr_cli_fail(&e) : 0;
}
