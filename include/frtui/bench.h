/* bench.h — `frtui-dev bench`: how fast frtui runs on this machine (src/tools/bench.c drives and
 * reports; src/tools/bench_units.c times the reconstruction loop; src/tools/bench_proc.c measures whole
 * frtui processes: the inspector on a pty and imports).  Speed is measured there, never
 * asserted in tests.
 *
 * Design note
 *   All figures of one run land in one fr_bench record, filled section by section and then
 *   printed as a table and, with --json, written atomically.  A figure that was not measured
 *   is NaN (null in JSON) and its section carries a note saying why.
 */
#ifndef FRTUI_BENCH_H
#define FRTUI_BENCH_H

#include "frtui/bench_proc.h"
#include "frtui/graph.h"

/* frtui-dev bench [--json PATH] [--quick] [--no-samples] [--shape NAME] [--whole-iters N]
 *             [--only SECTION,...] [--keys N]
 * --shape runs only the standard shapes whose name contains NAME (A/B checks); --only runs
 * only the named sections (sgemm, shapes, samples, whole, ui, import).  Prints a table to
 * stdout and, with --json, writes the same figures atomically to PATH.  Returns the process
 * exit status (0, or 2 on a bad flag / unwritable path). */
int fr_cli_bench(int argc, char **argv);

#define FR_BENCH_BATCH 32
#define FR_BENCH_MAX_ROWS 256
#define FR_BENCH_N_SHAPES 6

typedef struct fr_bench_opts {
    int quick, samples, runs;
    double min_run;          /* seconds per timed run */
    int whole_iters;         /* iterations per unit for the whole-model run */
    const char *units;       /* real section: comma list of unit-name substrings to time (NULL: all) */
    int legacy;              /* real section: also time the pre-issue-15 kernels (fr_conv_set_legacy) */
} fr_bench_opts;

typedef struct fr_bench_timing { double med, lo, hi; int runs, per_run; } fr_bench_timing;   /* ms per iteration */

typedef struct fr_bench_unit_row {
    char src[64], name[96], ops[96];
    double fwd_flops, iter_flops;
    fr_bench_timing rtn, ada, flex, flex1;
    int has_flex1;
    double torch_ada, torch_flex;   /* PyTorch ms/it on the same unit (real section), NaN if absent */
} fr_bench_unit_row;

typedef struct fr_bench_whole_row {
    char name[96], note[64];
    int units, iters;
    double total_s, loop_s, setup_s, est2000_s, it_per_s;
} fr_bench_whole_row;

typedef struct fr_bench {
    fr_bench_opts o;
    int threads;
    double peak;               /* sgemm GFLOP/s at `threads`, 1024^3 */
    struct { int m, n, k, t; double gf; } sg[8];
    int n_sg;
    fr_bench_unit_row rows[FR_BENCH_MAX_ROWS];
    int n_rows;
    fr_bench_whole_row whole[8];
    int n_whole;
    double frame_ms[3];        /* 200x60, 160x48, 80x24; NaN when not measured */
    double ck_raw_mb, ck_file_mb, ck_write_mbs, ck_read_mbs;
    double import_s;           /* load of samples/mobilenetv2-imagenet.frm */
    char import_note[160];
    fr_bench_ui ui;
    fr_bench_import imp[2];    /* real MobileNetV2 (tfjs), ~10 MB ONNX */
    char torch_note[160];      /* real section: why the PyTorch column is empty, or its version */
    struct { char shape[32]; int method; double ns_per_weight; } qk[12];  /* quant section: 4 layers x 3 methods */
    int n_qk;
} fr_bench;

extern const int fr_bench_frame_sizes[3][2];

/* Median of v[0..n) (sorts v); NaN for n = 0. */
double fr_bench_median(double *v, int n);
/* sgemm GFLOP/s at 1 and 2 threads; sets b->peak.  Prints its table. */
void fr_bench_sgemm(fr_bench *b);
/* Standard unit shape `which` (0 .. FR_BENCH_N_SHAPES-1) with random weights and data. */
const char *fr_bench_shape_name(int which);
void fr_bench_build_shape(fr_model *m, int which);
/* n_max half-normal calibration samples for a model without data (timing only). */
void fr_bench_random_calib(fr_model *m, fr_rng *r, int n_max);
/* Times RTN forward, AdaRound and FlexRound steps on every unit of m (only_block: only the
 * unit with the most layers; with1: FlexRound at 1 thread too).  Returns rows added. */
/* Unit name selected by list: a comma list of substrings, or "=NAME" for exactly NAME; NULL
 * selects everything. */
int fr_bench_unit_selected(const char *list, const char *name);
int fr_bench_units(fr_bench *b, const fr_model *m, const char *src, int only_block, int with1);
void fr_bench_print_header(void);
void fr_bench_print_rows(const fr_bench *b, int from, int to);
/* FlexRound W4 over the whole model; frame = also time frame builds and checkpoints on the
 * finished run. */
void fr_bench_whole(fr_bench *b, const fr_model *m, const char *name, const char *note, int frame);
/* The quantizer's own passes (forward + fused gradient/Adam step of fr_qlayer, no network),
 * ns per weight per iteration for each method on a few layer shapes.  Prints its table. */
void fr_bench_quant(fr_bench *b);
/* The real MobileNetV2 (tfjs model.json at path) at 224x224: every unit, rows added to b and
 * printed (src/tools/bench_real.c).  Returns rows added (0 when the model is absent). */
int fr_bench_real(fr_bench *b, const char *path);

#endif
