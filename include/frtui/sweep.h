/* sweep.h — the grid of a sweep (`frtui sweep`): parsing, point enumeration, names, run argv.
 *
 * Design note
 *   Pure: no processes, no threads, no engine.  The grid comes from flags and/or a spec file
 *   (`key = value` lines, the flags' names without "--"); fr_sweep_points expands it into an
 *   ordered list of points, model outermost and seed innermost, so the point index K of the
 *   Slurm array (`--point K`) is a function of the grid alone, and the seeds of one
 *   configuration sit next to each other.  A point's directory name is built from its
 *   parameters only (never from its index or the thread count), so a re-run with a grown grid
 *   still finds the points it has finished.  The executor (cli_sweep.c) and the report
 *   (cli_sweep_report.c) sit on top of this.
 *   Ownership: fr_sweep_spec is plain data (fixed arrays); fr_sweep_points returns one
 *   malloc'd array the caller frees; points point into the spec for the model paths.
 */
#ifndef FRTUI_SWEEP_H
#define FRTUI_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/common.h"

#define FR_SWEEP_MAX_MODELS 16
#define FR_SWEEP_MAX_VALUES 64      /* values of one axis */
#define FR_SWEEP_MAX_POINTS 100000
#define FR_SWEEP_MAX_RUN_ARGS 48    /* fixed `frtui run` options given to every point */

/* Weight-grid granularity of a point: tensor (one s1 per layer), channel (per output channel),
 * or a group size G (one per G inputs of a row, `run --group-size G`). */
#define FR_SWEEP_GRAIN_TENSOR 0
#define FR_SWEEP_GRAIN_CHANNEL 1    /* group sizes are >= 16, so 0 and 1 are free as tags */

/* The axes, in the order the points are enumerated (model outermost, seed innermost). */
typedef enum fr_sweep_axis {
    FR_SWEEP_MODELS, FR_SWEEP_METHODS, FR_SWEEP_BITS, FR_SWEEP_GRAIN, FR_SWEEP_ACT_BITS, FR_SWEEP_LRS,
    FR_SWEEP_ITERS, FR_SWEEP_SEEDS, FR_SWEEP__AXES
} fr_sweep_axis;
/* "models", "methods", "bits", "grain", "act-bits", "lrs", "iters", "seeds". */
extern const char *const fr_sweep_axis_names[FR_SWEEP__AXES];

typedef struct fr_sweep_spec {
    int n[FR_SWEEP__AXES];               /* values per axis; 0 = the default (one value) */
    char model[FR_SWEEP_MAX_MODELS][1024];
    int method[FR_SWEEP_MAX_VALUES], bits[FR_SWEEP_MAX_VALUES], grain[FR_SWEEP_MAX_VALUES];
    int act_bits[FR_SWEEP_MAX_VALUES], iters[FR_SWEEP_MAX_VALUES];   /* iters -1: the preset's */
    float lr[FR_SWEEP_MAX_VALUES];       /* 0: the method's default lr */
    int64_t seed[FR_SWEEP_MAX_VALUES];   /* -1: the preset's */
    int n_run_args;
    char run_args[FR_SWEEP_MAX_RUN_ARGS][256];
} fr_sweep_spec;

typedef struct fr_sweep_point {
    int index;
    const char *model;                   /* path, into the spec */
    char model_name[64];                 /* the file's base name without .frm, sanitised */
    int method, bits, grain, act_bits, iters;
    float lr;
    int64_t seed;
    char name[192];                      /* directory name: fr_sweep_point_name */
} fr_sweep_point;

/* Empty spec: every axis at its default (flexround, W4, tensor, A0, default lr/iters/seed). */
void fr_sweep_spec_init(fr_sweep_spec *s);
/* Sets one axis from a list value: "a,b,c", integer ranges "2..8" (also in lists: "2..4,8"),
 * methods by name, grains "tensor", "channel", "groupG".  `where` names the source in errors
 * ("--bits" or "spec.txt:3: bits").  Replaces the axis' earlier values.  A value given twice
 * is refused (it would name one directory twice). */
int fr_sweep_set_axis(fr_sweep_spec *s, fr_sweep_axis axis, const char *value, const char *where, fr_err *e);
/* Axis from its name (fr_sweep_axis_names, also the singular "model", "method", "seed",
 * "lr"), -1 when unknown. */
int fr_sweep_axis_from_name(const char *name);
/* Fixed run options: whitespace-separated words (no quoting), each a `frtui run` option;
 * refuses the options the grid owns (--method, --bits, ...) and outputs (--json, ...). */
int fr_sweep_set_run_args(fr_sweep_spec *s, const char *words, const char *where, fr_err *e);
int fr_sweep_add_run_arg(fr_sweep_spec *s, const char *word, const char *where, fr_err *e);
/* A spec file's text (path for messages): `# comment`, blank lines, `key = value` with the
 * axis names above or `run = OPTIONS`.  Unknown keys, a key given twice, a line without '='
 * are refused with "PATH:LINE: ...".  Keys present replace the axis in s. */
int fr_sweep_parse_spec(fr_sweep_spec *s, const char *text, size_t n, const char *path, fr_err *e);

/* Expands the grid.  Refuses an empty model list, more than FR_SWEEP_MAX_POINTS points, and
 * two points with one name (two models with one base name).  *out is malloc'd. */
int fr_sweep_points(const fr_sweep_spec *s, fr_sweep_point **out, int *n, fr_err *e);
/* "MODEL_METHOD_W4[A8]_GRAIN_lrX_itN_sS" with "def" for defaults: parameters only. */
void fr_sweep_point_name(const fr_sweep_point *p, char *buf, size_t n);
/* "tensor", "channel" or "group128". */
const char *fr_sweep_grain_name(int grain, char *buf, size_t n);
/* The arguments of `frtui run` for the point (after "run"), without outputs: model, grid
 * flags, the fixed run options.  Writes at most cap pointers to strings in store (size
 * store_n, one buffer the caller owns); returns the count or -1 when out of room. */
int fr_sweep_run_args(const fr_sweep_spec *s, const fr_sweep_point *p, char **argv, int cap, char *store, size_t store_n);

/* The sbatch job-array script: task K runs `cd CWD && FRTUI sweep ARGS --point K` with T
 * threads; `sh FILE --submit` submits it and a dependent `frtui sweep-report DIR`.  args are
 * the sweep's own arguments (already without --emit-slurm, --point, --jobs, --threads). */
struct fr_sb;
void fr_sweep_slurm_script(struct fr_sb *b, const char *frtui, const char *cwd, const char *dir, int n_points,
                           int threads, char **args, int n_args);
/* Appends s to b quoted for sh ('...' with embedded quotes escaped). */
void fr_sweep_sh_quote(struct fr_sb *b, const char *s);

#endif
