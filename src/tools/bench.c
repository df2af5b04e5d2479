/* bench.c — `frtui-dev bench`: options, sections, the printed table and bench/results.json.
 *
 * Design note
 *   The driver runs the sections in a fixed order (sgemm, standard shapes, samples' units,
 *   whole-model runs with frame build and checkpoint figures, inspector, import) and collects
 *   every figure in one fr_bench record; --only picks sections so one figure can be re-measured
 *   in seconds instead of the full ~5 minutes.  Measurement lives in bench_units.c (the
 *   reconstruction loop, in this process) and bench_proc.c (whole frtui processes: the
 *   inspector on a pty, imports in a fresh child).  Nothing is asserted: numbers are reported
 *   with the machine load, because these 2-core machines are shared.
 *   Samples: every samples/NAME.frm; when there are none, untrained zoo models of the same
 *   architectures with random calibration data stand in (timing only), and are labelled so.
 *   JSON goes through fr_atomic_*, so a failed run never leaves half a results file.
 */
#include "frtui/bench.h"

#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "frtui/blas.h"
#include "frtui/cli.h"
#include "frtui/opt.h"
#include "frtui/quant.h"
#include "frtui/sb.h"
#include "frtui/train.h"

enum { SEC_SGEMM = 1, SEC_SHAPES = 2, SEC_SAMPLES = 4, SEC_WHOLE = 8, SEC_UI = 16, SEC_IMPORT = 32, SEC_REAL = 64,
       SEC_QUANT = 128, SEC_ALL = 255 };
static const char *const sec_names[] = {"sgemm", "shapes", "samples", "whole", "ui", "import", "real", "quant"};

#define REAL_MBV2 "build/npm/mobilenet_v2/model.json"
#define REAL_MBV2_FRM "samples/mobilenetv2-imagenet.frm"

/* ---- output ------------------------------------------------------------------------------- */

/* `, "key": value` (sep ", ") or the first member of an object (sep ""). */
static void kv_num(FILE *f, const char *sep, const char *key, double v)
{
    fprintf(f, "%s\"%s\": ", sep, key);
    fr_fput_json_num(f, "%.6g", v);
}

static void kv_str(FILE *f, const char *sep, const char *key, const char *v)
{
    fprintf(f, "%s\"%s\": ", sep, key);
    fr_fput_json_str(f, v);
}

static void json_timing(FILE *f, const char *key, const fr_bench_timing *t)
{
    fprintf(f, "\"%s\": {", key);
    kv_num(f, "", "median_ms", t->med);
    kv_num(f, ", ", "min_ms", t->lo);
    kv_num(f, ", ", "max_ms", t->hi);
    fprintf(f, ", \"runs\": %d, \"iters_per_run\": %d}", t->runs, t->per_run);
}

static void cpu_model(char *out, size_t n)
{
    snprintf(out, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ') c++;
                c[strcspn(c, "\n")] = 0;
                snprintf(out, n, "%.200s", c);
            }
            break;
        }
    fclose(f);
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static void json_units(FILE *f, const fr_bench *b)
{
    fputs("  \"units\": [", f);
    for (int i = 0; i < b->n_rows; i++) {
        const fr_bench_unit_row *r = &b->rows[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        kv_str(f, "", "source", r->src);
        kv_str(f, ", ", "unit", r->name);
        kv_str(f, ", ", "ops", r->ops);
        kv_num(f, ", ", "fwd_flops", r->fwd_flops);
        kv_num(f, ", ", "iter_flops", r->iter_flops);
        fputs(",\n     ", f);
        json_timing(f, "rtn_forward", &r->rtn);
        fputs(",\n     ", f);
        json_timing(f, "adaround", &r->ada);
        fputs(",\n     ", f);
        json_timing(f, "flexround", &r->flex);
        if (r->has_flex1) { fputs(",\n     ", f); json_timing(f, "flexround_1thread", &r->flex1); }
        double gf = r->iter_flops / (r->flex.med * 1e-3) / 1e9;
        kv_num(f, ",\n     ", "flexround_gflops", gf);
        kv_num(f, ", ", "ratio_to_sgemm_peak", gf / b->peak);
        if (isfinite(r->torch_flex) && r->torch_flex > 0) {   /* real section, PyTorch present */
            kv_num(f, ",\n     ", "torch_adaround_ms", r->torch_ada);
            kv_num(f, ", ", "torch_flexround_ms", r->torch_flex);
            kv_num(f, ", ", "flexround_ratio_to_torch", r->flex.med / r->torch_flex);
        }
        fputc('}', f);
    }
    fputs("],\n", f);
}

static void json_whole(FILE *f, const fr_bench *b)
{
    fputs("  \"whole_model\": [", f);
    for (int i = 0; i < b->n_whole; i++) {
        const fr_bench_whole_row *w = &b->whole[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        kv_str(f, "", "model", w->name);
        kv_str(f, ", ", "note", w->note);
        fprintf(f, ", \"method\": \"flexround\", \"bits\": 4, \"preset\": \"teaching\", \"units\": %d, \"iters_per_unit\": %d",
                w->units, w->iters);
        kv_num(f, ", ", "total_s", w->total_s);
        kv_num(f, ", ", "loop_s", w->loop_s);
        kv_num(f, ", ", "setup_s", w->setup_s);
        kv_num(f, ", ", "it_per_s", w->it_per_s);
        kv_num(f, ", ", "est_2000_it_per_unit_s", w->est2000_s);
        fputc('}', f);
    }
    fputs("],\n", f);
}

static void json_ui(FILE *f, const fr_bench *b)
{
    const fr_bench_ui *u = &b->ui;
    fputs("  \"inspector\": {", f);
    kv_num(f, "", "frame_build_ms_200x60", b->frame_ms[0]);
    kv_str(f, ", ", "model", u->model);
    kv_str(f, ", ", "unit", u->unit);
    fprintf(f, ", \"cols\": %d, \"rows\": %d, \"threads\": %d, \"rounds\": %d, \"keys\": %d,\n    ", u->cols, u->rows,
            u->threads, u->rounds, u->n_keys);
    fputs("\"key_to_screen_ms\": {", f);
    kv_num(f, "", "median", u->lat_med);
    kv_num(f, ", ", "p95", u->lat_p95);
    kv_num(f, ", ", "max", u->lat_max);
    fputs("},\n    ", f);
    kv_num(f, "", "it_per_s_headless", u->ips_headless);
    kv_num(f, ", ", "it_per_s_ui_idle", u->ips_ui);
    kv_num(f, ", ", "it_per_s_ui_keys", u->ips_ui_keys);
    kv_num(f, ", ", "ratio_ui_idle", u->ratio);
    kv_num(f, ", ", "ratio_ui_keys", u->ratio_keys);
    kv_num(f, ",\n    ", "load1_before", u->load1_before);
    kv_num(f, ", ", "load1_after", u->load1_after);
    kv_num(f, ",\n    ", "ui_thread_cpu_pct", u->ui_cpu_pct);
    kv_num(f, ", ", "child_cpu_pct_headless", u->child_cpu_pct[0]);
    kv_num(f, ", ", "child_cpu_pct_ui", u->child_cpu_pct[1]);
    kv_str(f, ", ", "note", u->note);
    fputs("},\n", f);
}

static void json_import(FILE *f, const fr_bench *b)
{
    fputs("  \"import\": [", f);
    for (int i = 0; i < 2; i++) {
        const fr_bench_import *r = &b->imp[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        kv_str(f, "", "model", r->what);
        kv_str(f, ", ", "path", r->path);
        kv_num(f, ", ", "file_mb", r->file_mb);
        kv_num(f, ", ", "seconds", r->seconds);
        kv_num(f, ", ", "peak_rss_mb", r->peak_rss_mb);
        kv_num(f, ", ", "baseline_rss_mb", r->base_rss_mb);
        fprintf(f, ", \"runs\": %d", r->runs);
        kv_str(f, ", ", "note", r->note);
        fputc('}', f);
    }
    fputs("],\n", f);
}

static int write_json(const fr_bench *b, const char *path)
{
    fr_atomic a;
    fr_err e;
    if (fr_atomic_open(&a, path, &e) != FR_OK) return fr_cli_fail(&e);
    FILE *f = a.f;
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    fputs("{\n  \"machine\": {", f);
    kv_str(f, "", "cpu", cpu);
    fprintf(f, ", \"online_cpus\": %ld", sysconf(_SC_NPROCESSORS_ONLN));
    kv_str(f, ", ", "blas_core", fr_blas_core());
    kv_str(f, ", ", "blas", fr_blas_describe());
    fprintf(f, ", \"threads\": %d, \"batch\": %d, \"quick\": %s},\n", b->threads, FR_BENCH_BATCH, b->o.quick ? "true" : "false");
    fputs("  \"sgemm\": [", f);
    for (int i = 0; i < b->n_sg; i++) {
        fprintf(f, "%s\n    {\"m\": %d, \"n\": %d, \"k\": %d, \"threads\": %d", i ? "," : "", b->sg[i].m, b->sg[i].n,
                b->sg[i].k, b->sg[i].t);
        kv_num(f, ", ", "gflops", b->sg[i].gf);
        fputc('}', f);
    }
    fputs("],\n", f);
    kv_num(f, "  ", "sgemm_peak_gflops", b->peak);
    fputs(",\n  \"quant\": [", f);
    for (int i = 0; i < b->n_qk; i++) {
        fprintf(f, "%s\n    {", i ? "," : "");
        kv_str(f, "", "layer", b->qk[i].shape);
        kv_str(f, ", ", "method", fr_method_name((fr_method)b->qk[i].method));
        kv_num(f, ", ", "ns_per_weight", b->qk[i].ns_per_weight);
        fputc('}', f);
    }
    fputs("],\n", f);
    json_units(f, b);
    json_whole(f, b);
    for (int k = 0; k < 3; k++) {
        char key[32];
        snprintf(key, sizeof key, "frame_ms_%dx%d", fr_bench_frame_sizes[k][0], fr_bench_frame_sizes[k][1]);
        kv_num(f, k ? ", " : "  ", key, b->frame_ms[k]);
    }
    fputs(",\n  \"checkpoint\": {", f);
    kv_num(f, "", "raw_mb", b->ck_raw_mb);
    kv_num(f, ", ", "file_mb", b->ck_file_mb);
    kv_num(f, ", ", "write_mb_s", b->ck_write_mbs);
    kv_num(f, ", ", "read_mb_s", b->ck_read_mbs);
    fputs("},\n", f);
    json_ui(f, b);
    json_import(f, b);
    kv_str(f, "  ", "torch_note", b->torch_note);
    fputs(",\n", f);
    kv_num(f, "  ", "import_mobilenetv2_s", b->import_s);
    kv_str(f, ", ", "import_note", b->import_note);
    kv_num(f, ",\n  ", "peak_rss_mb", peak_rss_mb());
    fputs("\n}\n", f);
    if (fr_atomic_commit(&a, &e) != FR_OK) return fr_cli_fail(&e);
    return 0;
}

static void print_summary(const fr_bench *b)
{
    printf("\nTUI frame build: ");
    if (isfinite(b->frame_ms[0]))
        printf("%.3f ms at 200x60, %.3f ms at 160x48, %.3f ms at 80x24\n", b->frame_ms[0], b->frame_ms[1], b->frame_ms[2]);
    else printf("not measured (needs the whole-model section)\n");
    printf("Checkpoint: ");
    if (isfinite(b->ck_write_mbs))
        printf("%.2f MB state (%.2f MB on disk): write %.0f MB/s (capture+zstd+fsync), read %.0f MB/s\n", b->ck_raw_mb,
               b->ck_file_mb, b->ck_write_mbs, b->ck_read_mbs);
    else printf("not measured\n");
    const fr_bench_ui *u = &b->ui;
    if (isfinite(u->lat_med) || isfinite(u->ips_headless)) {
        printf("Inspector %dx%d on a pty, %s unit %s, %d BLAS thread(s), load %.2f -> %.2f:\n", u->cols, u->rows, u->model,
               u->unit, u->threads, u->load1_before, u->load1_after);
        printf("  key press to screen: median %.1f ms, p95 %.1f ms, max %.1f ms (%d keys)\n", u->lat_med, u->lat_p95,
               u->lat_max, u->n_keys);
        printf("  it/s: headless %.1f, UI open %.1f (%.1f%%), UI + keys %.1f (%.1f%%)\n", u->ips_headless, u->ips_ui,
               100 * u->ratio, u->ips_ui_keys, 100 * u->ratio_keys);
        printf("  CPU (%% of one core, idle windows): UI thread %.1f%%, whole process headless %.0f%%, with UI %.0f%%\n",
               u->ui_cpu_pct, u->child_cpu_pct[0], u->child_cpu_pct[1]);
    } else if (u->note[0]) {
        printf("Inspector: %s\n", u->note);
    }
    for (int i = 0; i < 2; i++) {
        const fr_bench_import *r = &b->imp[i];
        if (!r->what[0]) continue;
        printf("Import %s: ", r->what);
        if (isfinite(r->seconds))
            printf("%.3f s, peak RSS %.1f MB (process before import %.1f MB), %.1f MB file, median of %d\n", r->seconds,
                   r->peak_rss_mb, r->base_rss_mb, r->file_mb, r->runs);
        else printf("%s\n", r->note);
    }
    if (b->import_note[0])
        printf("Load bundle %s: %s\n", REAL_MBV2_FRM, isfinite(b->import_s) ? "" : b->import_note);
    if (isfinite(b->import_s)) printf("  %.2f s (median of 3 loads)\n", b->import_s);
    printf("Peak RSS: %.1f MB\n", peak_rss_mb());
}

/* ---- sections ----------------------------------------------------------------------------- */

typedef struct sample_set {
    fr_model models[8];
    char names[8][128], notes[8][64];
    int n;
} sample_set;

static void load_samples(sample_set *ss)
{
    ss->n = 0;
    glob_t gl;
    if (glob("samples/*.frm", 0, NULL, &gl) == 0) {
        for (size_t i = 0; i < gl.gl_pathc && ss->n < 8; i++) {
            fr_model *m = &ss->models[ss->n];
            if (strstr(gl.gl_pathv[i], "imagenet")) continue;   /* ImageNet-size: import time only */
            if (fr_cli_load(gl.gl_pathv[i], m) != FR_OK) continue;
            if (m->calib.n == 0) { fr_model_free(m); continue; }
            snprintf(ss->names[ss->n], sizeof ss->names[0], "%.127s", gl.gl_pathv[i]);
            snprintf(ss->notes[ss->n], sizeof ss->notes[0], "sample");
            ss->n++;
        }
        globfree(&gl);
    }
    if (ss->n) return;
    printf("\nNo samples/*.frm: untrained zoo models with random calibration data stand in (timing only).\n");
    for (int a = 0; a < FR_ZOO__COUNT && ss->n < 8; a++) {
        fr_model *m = &ss->models[ss->n];
        fr_model_init(m);
        fr_zoo_build(m, (fr_zoo_arch)a, 7);
        fr_rng r;
        fr_rng_seed(&r, 9 + (uint64_t)a);
        fr_bench_random_calib(m, &r, 1024);
        snprintf(ss->names[ss->n], sizeof ss->names[0], "zoo:%s", fr_zoo_name((fr_zoo_arch)a));
        snprintf(ss->notes[ss->n], sizeof ss->notes[0], "untrained stand-in, random calibration data");
        ss->n++;
    }
}

static void section_whole(fr_bench *b, const sample_set *ss)
{
    printf("\nWhole model, FlexRound W4, teaching preset%s:\n", b->o.whole_iters > 0 ? " (iterations reduced)" : "");
    printf("  %-28s %6s %6s %9s %9s %9s %9s %12s\n", "model", "units", "it/u", "total s", "loop s", "setup s", "it/s",
           "est 2000it s");
    int with_frame = 0;
    for (int i = 0; i < ss->n; i++) {
        int fr = !with_frame && (strstr(ss->names[i], "resnet") != NULL || i == ss->n - 1);
        fr_bench_whole(b, &ss->models[i], ss->names[i], ss->notes[i], fr);
        with_frame |= fr;
        const fr_bench_whole_row *w = &b->whole[b->n_whole - 1];
        if (b->n_whole && strcmp(w->name, ss->names[i]) == 0)
            printf("  %-28.28s %6d %6d %9.1f %9.1f %9.1f %9.0f %12.1f\n", w->name, w->units, w->iters, w->total_s,
                   w->loop_s, w->setup_s, w->it_per_s, w->est2000_s);
        fflush(stdout);
    }
}

static void section_ui(fr_bench *b, int keys)
{
    const char *model = access("samples/resnet-fmnist.frm", R_OK) == 0 ? "samples/resnet-fmnist.frm" : NULL;
    if (!model) {
        snprintf(b->ui.note, sizeof b->ui.note, "samples/resnet-fmnist.frm absent: not measured");
        return;
    }
    /* Unit 1 is the first BasicBlock: a mid-sized unit, so neither the UI nor the worker
     * dominates; earlier units are passed with RTN before the clock starts. */
    fr_bench_ui_opts o = {model, 1, 200, 60, keys, b->o.quick ? 1 : 2, b->o.quick ? 3.0 : 5.0};
    printf("\nInspector on a pty (%dx%d, %s unit %d; headless and UI runs alternate):\n", o.cols, o.rows, model, o.unit);
    fflush(stdout);
    fr_bench_ui_measure(&o, &b->ui);
}

static void section_import(fr_bench *b)
{
    printf("\nImport, each in a fresh child process:\n");
    fflush(stdout);
    int runs = b->o.quick ? 1 : 3;
    if (access(REAL_MBV2, R_OK) == 0) {
        fr_bench_import_measure("MobileNetV2 (tfjs, nsfwjs@4.3.0)", REAL_MBV2, runs, &b->imp[0]);
    } else {
        snprintf(b->imp[0].what, sizeof b->imp[0].what, "MobileNetV2 (tfjs, nsfwjs@4.3.0)");
        snprintf(b->imp[0].note, sizeof b->imp[0].note,
                 "%s absent: not measured (sh tests/tools/fetch_nsfwjs.sh build/npm)", REAL_MBV2);
    }
    char path[256], msg[160] = ""; /* fits "not measured: " + msg in note[200] */
    snprintf(path, sizeof path, "%s/frtui-bench-%d.onnx", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    if (fr_bench_write_onnx(path, 10.0, msg, sizeof msg) == 0) {
        fr_bench_import_measure("ONNX convnet ~10 MB (generated)", path, runs, &b->imp[1]);
    } else {
        snprintf(b->imp[1].what, sizeof b->imp[1].what, "ONNX convnet ~10 MB (generated)");
        snprintf(b->imp[1].note, sizeof b->imp[1].note, "not measured: %s", msg);
    }
    unlink(path);
    /* The bundle made from the real model (make samples-real): what opening it costs. */
    if (access(REAL_MBV2_FRM, R_OK) == 0) {
        double v[3];
        int n = 0;
        for (int i = 0; i < 3; i++) {
            fr_model m;
            double t0 = fr_now();
            if (fr_cli_load(REAL_MBV2_FRM, &m) != FR_OK) break;
            v[n++] = fr_now() - t0;
            fr_model_free(&m);
        }
        b->import_s = fr_bench_median(v, n);
        snprintf(b->import_note, sizeof b->import_note, "%s, median of %d loads", REAL_MBV2_FRM, n);
    } else {
        snprintf(b->import_note, sizeof b->import_note, "%s absent: not measured", REAL_MBV2_FRM);
    }
}

/* ---- entry -------------------------------------------------------------------------------- */

#define USAGE "frtui-dev bench [--json PATH] [--quick] [--no-samples] [--shape NAME] [--whole-iters N] [--only SECTION,...] [--keys N]" \
              " [--units NAME,...] [--compare-legacy]"

static int usage(const char *msg)
{
    fprintf(stderr, "frtui-dev bench: %s (usage: %s)\n", msg, USAGE);
    return 2;
}

static int parse_sections(const char *s, int *mask)
{
    *mask = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        int found = 0;
        for (int k = 0; k < (int)(sizeof sec_names / sizeof sec_names[0]); k++)
            if (strcmp(t, sec_names[k]) == 0) { *mask |= 1 << k; found = 1; }
        if (!found) return -1;
    }
    return *mask ? 0 : -1;
}

typedef struct bench_sel { int sections; const char *only; } bench_sel;

static int opt_no_samples(const char *name, const char *v, void *dst, fr_err *e)
{
    (void)name; (void)v; (void)e;
    ((bench_sel *)dst)->sections &= ~(SEC_SAMPLES | SEC_WHOLE);
    return FR_OK;
}

static int opt_shape(const char *name, const char *v, void *dst, fr_err *e)
{
    (void)name; (void)e;
    bench_sel *s = dst;
    s->only = v;
    s->sections = SEC_SGEMM | SEC_SHAPES;
    return FR_OK;
}

static int opt_only(const char *name, const char *v, void *dst, fr_err *e)
{
    if (parse_sections(v, &((bench_sel *)dst)->sections))
        return fr_err_set(e, FR_EINPUT, "%s expects a comma list of sgemm, shapes, samples, whole, ui, import, real, quant (got '%s')", name, v);
    return FR_OK;
}

int fr_cli_bench(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) return fr_bench_child(argc - 1, argv + 1);
    static fr_bench B;   /* large; one per process */
    fr_bench *b = &B;
    memset(b, 0, sizeof *b);
    const char *json = NULL, *only = NULL;
    int sections = SEC_ALL, keys = 50;
    b->o.samples = 1;
    b->o.whole_iters = -1;
    bench_sel sel = {sections, NULL};
    fr_opt t[] = {
        {.name = "--json", .kind = FR_OPT_STR, .dst = &json},
        {.name = "--quick", .kind = FR_OPT_FLAG, .dst = &b->o.quick, .val = 1},
        {.name = "--no-samples", .kind = FR_OPT_FN0, .fn = opt_no_samples, .dst = &sel},
        {.name = "--shape", .kind = FR_OPT_FN, .fn = opt_shape, .dst = &sel},
        {.name = "--whole-iters", .kind = FR_OPT_INT, .dst = &b->o.whole_iters, .lo = 0, .hi = 100000000},
        {.name = "--keys", .kind = FR_OPT_INT, .dst = &keys, .lo = 0, .hi = 1000},
        {.name = "--only", .kind = FR_OPT_FN, .fn = opt_only, .dst = &sel},
        {.name = "--units", .kind = FR_OPT_STR, .dst = &b->o.units},
        {.name = "--compare-legacy", .kind = FR_OPT_FLAG, .dst = &b->o.legacy, .val = 1},
        {.name = NULL},
    };
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: %s\n  sections (default all): sgemm, shapes, samples, whole (+ frame build, checkpoint),\n"
               "  ui (inspector on a pty: key latency, it/s with and without UI), import (time, peak RSS),\n"
               "  real (the real MobileNetV2's units), quant (the quantizer's passes, ns per weight)\n", USAGE);
        return 0;
    }
    fr_err pe;
    fr_err_clear(&pe);
    if (fr_opt_parse(t, argc, argv, NULL, 0, NULL, &pe)) return usage(pe.msg);
    sections = sel.sections;
    only = sel.only;
    b->o.samples = (sections & (SEC_SAMPLES | SEC_WHOLE)) != 0;
    b->o.runs = b->o.quick ? 5 : 7;
    b->o.min_run = b->o.quick ? 0.04 : 0.15;
    if (b->o.whole_iters < 0) b->o.whole_iters = b->o.quick ? 150 : 0;   /* 0: the teaching preset's count */
    b->threads = fr_blas_threads();
    for (int k = 0; k < 3; k++) b->frame_ms[k] = NAN;
    b->ck_raw_mb = b->ck_file_mb = b->ck_write_mbs = b->ck_read_mbs = NAN;
    b->import_s = b->peak = NAN;
    fr_bench_ui *u = &b->ui;
    u->lat_med = u->lat_p95 = u->lat_max = u->ips_headless = u->ips_ui = u->ips_ui_keys = u->ratio = u->ratio_keys = NAN;
    u->load1_before = u->load1_after = u->ui_cpu_pct = u->child_cpu_pct[0] = u->child_cpu_pct[1] = NAN;
    for (int i = 0; i < 2; i++)
        b->imp[i].file_mb = b->imp[i].seconds = b->imp[i].peak_rss_mb = b->imp[i].base_rss_mb = NAN;
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("frtui-dev bench%s — %s, %ld CPUs online\nOpenBLAS core: %s, %d thread(s)\n"
           "Figures are medians over %d runs of >= %.2f s; the machine is shared, so expect noise.\n\n",
           b->o.quick ? " --quick" : "", cpu, sysconf(_SC_NPROCESSORS_ONLN), fr_blas_describe(), b->threads, b->o.runs,
           b->o.min_run);
    fflush(stdout);
    if (sections & (SEC_SGEMM | SEC_SHAPES | SEC_SAMPLES | SEC_REAL)) fr_bench_sgemm(b);   /* ratios need the peak */
    fflush(stdout);

    if (sections & SEC_QUANT) fr_bench_quant(b);
    if (sections & SEC_SHAPES) {
        printf("Standard unit shapes (random weights and calibration data, W4, batch %d):\n", FR_BENCH_BATCH);
        fr_bench_print_header();
        for (int s = 0; s < FR_BENCH_N_SHAPES; s++) {
            if (only && !strstr(fr_bench_shape_name(s), only)) continue;
            fr_model m;
            fr_bench_build_shape(&m, s);
            int r0 = b->n_rows;
            fr_bench_units(b, &m, "standard", 1, 1);
            fr_bench_print_rows(b, r0, b->n_rows);
            fflush(stdout);
            fr_model_free(&m);
        }
    }
    static sample_set ss;
    ss.n = 0;
    if (b->o.samples) load_samples(&ss);
    for (int i = 0; i < ss.n && (sections & SEC_SAMPLES); i++) {
        printf("\n%s units (%d calibration samples):\n", ss.names[i], ss.models[i].calib.n);
        fr_bench_print_header();
        int r0 = b->n_rows;
        fr_bench_units(b, &ss.models[i], ss.names[i], 0, 0);
        fr_bench_print_rows(b, r0, b->n_rows);
        fflush(stdout);
    }
    if (sections & SEC_REAL) fr_bench_real(b, REAL_MBV2);
    if (ss.n && (sections & SEC_WHOLE)) section_whole(b, &ss);
    for (int i = 0; i < ss.n; i++) fr_model_free(&ss.models[i]);
    if (sections & SEC_UI) section_ui(b, keys);
    if (sections & SEC_IMPORT) section_import(b);
    print_summary(b);
    if (json) {
        int rc = write_json(b, json);
        if (rc) return rc;
        printf("JSON: %s\n", json);
    }
    return 0;
}
