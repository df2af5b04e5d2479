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

#include "frtui/cli.h"
#include "frtui/export_png.h"
#include "frtui/export_run.h"
#include "frtui/frm.h"
#include "frtui/recon_ckpt.h"

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

int fr_cli_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *st = NULL, *model = NULL, *onnx = NULL, *onnx_src = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: frtui export RUN.frc -o OUT.frm [--safetensors OUT.safetensors] [--model FILE.frm]\n"
                   "                   [--onnx OUT.onnx [--onnx-source MODEL.onnx]]\n"
                   "  writes the quantized model: weights = dequantised codes, codes and scales as metadata\n"
                   "  --onnx: the original ONNX file with every quantized weight replaced by its dequantised\n"
                   "  value, everything else byte for byte (source: the file the bundle was imported from)\n");
            return 0;
        }
        if ((strcmp(a, "--onnx") == 0 || strcmp(a, "--onnx-source") == 0) && i + 1 < argc) {
            if (strcmp(a, "--onnx") == 0) onnx = argv[++i]; else onnx_src = argv[++i];
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--safetensors") == 0 || strcmp(a, "--model") == 0)) {
            if (i + 1 >= argc) return usage("export", "option needs a value:", a);
            const char *v = argv[++i];
            if (a[1] == 'o' || a[2] == 'o') out = v;
            else if (a[2] == 's') st = v;
            else model = v;
        } else if (a[0] == '-') {
            return usage("export", "unknown option", a);
        } else if (!in) {
            in = a;
        } else {
            return usage("export", "more than one checkpoint:", a);
        }
    }
    if (!in) return usage("export", "needs a checkpoint file", NULL);
    if (!out && !st && !onnx) return usage("export", "needs -o OUT.frm, --safetensors OUT.safetensors or --onnx OUT.onnx", NULL);
    fr_ckpt c;
    fr_model m;
    int rc = fr_cli_load_ckpt(in, model, &c, &m);
    if (rc) return rc;
    fr_err e;
    fr_err_clear(&e);
    double acc = -1;
    fr_export_req req = {out, st, onnx, onnx_src};
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
    const char *in = NULL, *out = NULL, *unit = NULL, *view = NULL, *model = NULL;
    int layer = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: frtui export-png RUN.frc --unit NAME --view heatmap|scatter|loss|hist|compare -o FILE.png\n"
                   "       [--layer N] [--model FILE.frm]\n");
            return 0;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--unit") == 0 || strcmp(a, "--view") == 0 || strcmp(a, "--model") == 0 ||
            strcmp(a, "--layer") == 0) {
            if (i + 1 >= argc) return usage("export-png", "option needs a value:", a);
            const char *v = argv[++i];
            if (a[1] == 'o') out = v;
            else if (a[2] == 'u') unit = v;
            else if (a[2] == 'v') view = v;
            else if (a[2] == 'm') model = v;
            else {
                char *end;
                long l = strtol(v, &end, 10);
                if (*end || end == v || l < 0 || l > 31) return usage("export-png", "--layer expects 0..31, got", v);
                layer = (int)l;
            }
        } else if (a[0] == '-') {
            return usage("export-png", "unknown option", a);
        } else if (!in) {
            in = a;
        } else {
            return usage("export-png", "more than one checkpoint:", a);
        }
    }
    if (!in || !out || !unit || !view) return usage("export-png", "needs RUN.frc --unit NAME --view V -o FILE.png", NULL);
    fr_ckpt c;
    fr_model m;
    fr_snapshot *s;
    int rc = fr_cli_load_replay(in, model, &c, &m, &s);
    if (rc) return rc;
    fr_err e;
    fr_err_clear(&e);
    int k = -1;
    if (fr_export_png_find_unit(s, unit, &k, &layer)) rc = fr_err_set(&e, FR_EINPUT, "%s: no unit or layer named '%s'", in, unit);
    if (!rc) rc = fr_export_png_view_ex(s, k, layer, view, out, &e);
    if (!rc) printf("%s: %s of unit %s\n", out, view, s->units[k]->name);
    fr_snapshot_release(s);
    fr_ckpt_free(&c);
    fr_model_free(&m);
    return rc ? fr_cli_fail(&e) : 0;
}
