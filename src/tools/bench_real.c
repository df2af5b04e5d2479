/* bench_real.c — `frtui-dev bench --only real`: the real MobileNetV2 (nsfwjs@4.3.0, ImageNet
 * weights) at 224x224, every BRECQ unit, per-tensor W4, batch 32 (bench.h).
 *
 * Design note
 *   Why a separate section: the samples are 28x28 networks whose units cost 1-10 ms per
 *   iteration; the issue-15 experiment runs 224x224 units that cost 20-300 ms, where the work
 *   is dominated by different kernels (1x1 GEMMs on 112x112..7x7 planes, depthwise 3x3 on big
 *   planes).  The calibration data is random half-normal (timing only: the speed of one
 *   iteration does not depend on the pixel values).
 *   Old vs new in one run: with --compare-legacy every unit is timed twice, once with the
 *   engine's pre-issue-15 kernels (fr_conv_set_legacy: per-sample GEMMs, unfused passes) and
 *   once with the current ones, interleaved unit by unit so both see the same machine load.
 *   The whole-run estimate is sum over units of (iterations x ms/it): the calibration passes
 *   between units are not included (they are printed separately by the whole-model section).
 *   Ownership: everything allocated here is freed before return.
 */
#include "frtui/bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frtui/conv.h"
#include "frtui/partition.h"
#include "frtui/tfjs.h"


/* ---- the PyTorch column ---------------------------------------------------------------------
 * Each timed unit is written as a one-line spec (input shape, then conv / relu6 / relu / pad /
 * add-the-unit-input in node order) that bench/torch_ref.py --spec rebuilds with random weights
 * and times with the same iteration (gather, fake-quant, forward, MSE, backward, Adam).  Units
 * with other ops or other wiring (dense head) get no PyTorch figure.  Torch is optional: absent,
 * the column is empty and the note says so; the test suite never needs it. */

#define TORCH_PY "/usr/bin/python3"
#define TORCH_SCRIPT "bench/torch_ref.py"

/* Spec of unit u, or 0 when it is not expressible. */
static int unit_spec(const fr_graph *g, const fr_unit *u, char *out, size_t n)
{
    if (u->n_ext != 1) return 0;
    const fr_node *in = &g->nodes[u->ext[0]];
    int len = snprintf(out, n, "in %d %d %d", in->c, in->h, in->w), prev = u->ext[0];
    for (int i = u->first; i <= u->last && len < (int)n - 80; i++) {
        const fr_node *d = &g->nodes[i];
        const fr_attrs *a = &d->a;
        if (d->op == FR_OP_ADD && d->n_in == 2 && ((d->in[0] == prev && d->in[1] == u->ext[0]) ||
                                                   (d->in[1] == prev && d->in[0] == u->ext[0]))) {
            len += snprintf(out + len, n - (size_t)len, ";add");
        } else if (d->n_in != 1 || d->in[0] != prev) {
            return 0;
        } else if (d->op == FR_OP_CONV) {
            len += snprintf(out + len, n - (size_t)len, ";conv %d %d %d %d %d %d %d %d %d %d %d", d->c, a->kh, a->kw, a->sh,
                            a->sw, a->pt, a->pl, a->pb, a->pr, a->dh > 0 ? a->dh : 1, a->groups > 0 ? a->groups : 1);
        } else if (d->op == FR_OP_RELU6) {
            len += snprintf(out + len, n - (size_t)len, ";relu6");
        } else if (d->op == FR_OP_RELU) {
            len += snprintf(out + len, n - (size_t)len, ";relu");
        } else if (d->op == FR_OP_PAD) {
            len += snprintf(out + len, n - (size_t)len, ";pad %d %d %d %d", a->pt, a->pl, a->pb, a->pr);
        } else {
            return 0;
        }
        prev = i;
    }
    return prev == u->last;
}

/* Runs the torch script on rows [r0, r1) of b (their units in m); fills torch_ada/flex. */
static void torch_column(fr_bench *b, const fr_model *m, int r0, int r1)
{
    for (int i = r0; i < r1; i++) b->rows[i].torch_ada = b->rows[i].torch_flex = NAN;
    if (access(TORCH_SCRIPT, R_OK) != 0 || system(TORCH_PY " -c 'import torch' >/dev/null 2>&1") != 0) {
        snprintf(b->torch_note, sizeof b->torch_note, "PyTorch absent (apt-get install python3-torch): no ratio column");
        return;
    }
    fr_partition p;
    fr_err e;
    if (fr_partition_build(&m->g, 0, FR_UNITS_BRECQ, &p, &e) != FR_OK) { snprintf(b->torch_note, sizeof b->torch_note, "%.150s", e.msg); return; }
    char spec[256], res[256];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(spec, sizeof spec, "%s/frtui-bench-%d.spec", tmp, (int)getpid());
    snprintf(res, sizeof res, "%s/frtui-bench-%d.torch", tmp, (int)getpid());
    FILE *f = fopen(spec, "w");
    if (!f) { fr_partition_free(&p); return; }
    int any = 0;
    for (int i = r0; i < r1; i++) {
        int k = fr_partition_find(&p, &m->g, b->rows[i].name);
        char line[2048];
        if (k >= 0 && unit_spec(&m->g, &p.units[k], line, sizeof line)) { fprintf(f, "%d|%s\n", i, line); any = 1; }
    }
    fclose(f);
    fr_partition_free(&p);
    if (any) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, TORCH_PY " " TORCH_SCRIPT " --threads %d --spec %s --spec-out %s%s", b->threads, spec, res,
                 b->o.quick ? " --quick" : "");
        printf("  PyTorch on the same units: %s\n", cmd);
        fflush(stdout);
        if (system(cmd) == 0 && (f = fopen(res, "r"))) {
            char ver[64] = "?";
            int row;
            double ada, flex;
            if (fscanf(f, "torch %63s", ver) == 1)
                while (fscanf(f, "%d %lf %lf", &row, &ada, &flex) == 3)
                    if (row >= r0 && row < r1) { b->rows[row].torch_ada = ada; b->rows[row].torch_flex = flex; }
            fclose(f);
            snprintf(b->torch_note, sizeof b->torch_note, "torch %.40s, %d threads, same units and iteration", ver, b->threads);
        } else {
            snprintf(b->torch_note, sizeof b->torch_note, "PyTorch run failed: no ratio column");
        }
    }
    unlink(spec);
    unlink(res);
}

int fr_bench_real(fr_bench *b, const char *path)
{
    if (access(path, R_OK) != 0) {
        printf("\nReal MobileNetV2 units: %s absent, not measured (sh tests/tools/fetch_nsfwjs.sh build/npm)\n", path);
        return 0;
    }
    fr_model m;
    fr_err e;
    if (fr_tfjs_import(path, NULL, &m, &e) != FR_OK) {
        printf("\nReal MobileNetV2 units: %s\n", e.msg);
        return 0;
    }
    fr_rng r;
    fr_rng_seed(&r, 224);
    fr_bench_random_calib(&m, &r, 64);
    printf("\nReal MobileNetV2 %dx%d units (%s; random calibration data, %d samples):\n", m.meta.in_h, m.meta.in_w, path,
           m.calib.n);
    int r0 = b->n_rows, n = 0, r1 = r0;
    if (b->o.legacy) {
        /* Unit by unit, the pre-issue-15 kernels then today's, so both see the same load; the
         * rows are then regrouped (all legacy rows, then all current ones). */
        fr_partition p;
        if (fr_partition_build(&m.g, 0, FR_UNITS_BRECQ, &p, &e) != FR_OK) { fr_model_free(&m); return 0; }
        const char *keep = b->o.units;
        char exact[128];
        for (int k = 0; k < p.n; k++) {
            const fr_unit *u = &p.units[k];
            if (u->n_layers == 0 || !fr_bench_unit_selected(keep, u->name)) continue;
            snprintf(exact, sizeof exact, "=%.120s", u->name);
            b->o.units = exact;
            int before = b->n_rows;
            for (int legacy = 1; legacy >= 0; legacy--) {
                fr_conv_set_legacy(legacy);
                n += fr_bench_units(b, &m, legacy ? "mobilenetv2-224 legacy" : "mobilenetv2-224", 0, 0);
            }
            if (b->n_rows != before + 2) { b->n_rows = before; continue; }   /* not timed: drop the pair */
            printf("  %s: FlexRound legacy %.2f ms/it, now %.2f ms/it\n", u->name, b->rows[b->n_rows - 2].flex.med,
                   b->rows[b->n_rows - 1].flex.med);
            fflush(stdout);
        }
        b->o.units = keep;
        fr_conv_set_legacy(0);
        fr_partition_free(&p);
        int cnt = (b->n_rows - r0) / 2;
        static fr_bench_unit_row tmp[FR_BENCH_MAX_ROWS];
        for (int i = 0; i < cnt; i++) { tmp[i] = b->rows[r0 + 2 * i]; tmp[cnt + i] = b->rows[r0 + 2 * i + 1]; }
        for (int i = 0; i < 2 * cnt; i++) b->rows[r0 + i] = tmp[i];
        r1 = r0 + cnt;
    } else {
        n = fr_bench_units(b, &m, "mobilenetv2-224", 0, 0);
    }
    torch_column(b, &m, r1, b->n_rows);
    fr_bench_print_header();
    fr_bench_print_rows(b, r1, b->n_rows);
    printf("  %-28s %8s %8s %8s %8s  (%s)\n", "unit", "torchAda", "ratio", "torchFlx", "ratio", b->torch_note);
    for (int i = r1; i < b->n_rows; i++) {
        const fr_bench_unit_row *w = &b->rows[i];
        if (!isfinite(w->torch_flex)) continue;
        printf("  %-28.28s %8.2f %7.2fx %8.2f %7.2fx\n", w->name, w->torch_ada, w->ada.med / w->torch_ada, w->torch_flex,
               w->flex.med / w->torch_flex);
    }
    double tot_a = 0, tot_f = 0, old_a = 0, old_f = 0;
    for (int i = r1; i < b->n_rows; i++) { tot_a += b->rows[i].ada.med; tot_f += b->rows[i].flex.med; }
    for (int i = r0; i < r1; i++) { old_a += b->rows[i].ada.med; old_f += b->rows[i].flex.med; }
    if (r1 > r0) {
        printf("  legacy kernels (same run; ms/it):\n  %-28s %8s %8s %8s %8s %8s\n", "unit", "AdaOld", "AdaNew", "FlexOld",
               "FlexNew", "speedup");
        for (int i = r0; i < r1; i++) {
            const fr_bench_unit_row *o = &b->rows[i], *w = &b->rows[r1 + (i - r0)];
            printf("  %-28.28s %8.2f %8.2f %8.2f %8.2f %7.2fx\n", o->name, o->ada.med, w->ada.med, o->flex.med,
                   w->flex.med, o->flex.med / w->flex.med);
        }
        printf("  legacy: sum of ms/it AdaRound %.1f, FlexRound %.1f -> at 800 it/unit %.1f / %.1f min (loops only)\n",
               old_a, old_f, old_a * 800 / 60e3, old_f * 800 / 60e3);
    }
    printf("  sum of ms/it over units: AdaRound %.1f, FlexRound %.1f -> at 800 it/unit: %.1f / %.1f min (loops only)\n",
           tot_a, tot_f, tot_a * 800 / 60e3, tot_f * 800 / 60e3);
    fr_model_free(&m);
    return n;
}
