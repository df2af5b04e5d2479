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
#include <string.h>
#include <unistd.h>

#include "frtui/conv.h"
#include "frtui/tfjs.h"

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
    int r0 = b->n_rows, n = 0;
    if (b->o.legacy) {
        /* Pre-issue-15 kernels first, then today's, each over the selected units. */
        fr_conv_set_legacy(1);
        printf("  timing the legacy per-sample kernels...\n");
        fflush(stdout);
        n = fr_bench_units(b, &m, "mobilenetv2-224 legacy", 0, 0);
        fr_conv_set_legacy(0);
    }
    int r1 = b->n_rows;
    n += fr_bench_units(b, &m, "mobilenetv2-224", 0, 0);
    fr_bench_print_header();
    fr_bench_print_rows(b, r1, b->n_rows);
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
