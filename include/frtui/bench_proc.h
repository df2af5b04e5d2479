/* bench_proc.h — benchmarks of whole frtui processes (src/tools/bench_proc.c): the inspector on a
 * pseudo-terminal while the worker runs (key-to-screen latency, iterations/s with and
 * without the UI), and model import in a fresh child (wall time, peak RSS).
 *
 * Design note
 *   Each measured process is this same binary re-executed (/proc/self/exe) with a hidden
 *   `bench --child ...` mode, so it starts like `frtui` does (OpenBLAS set up by main, no
 *   state inherited from the benchmark), and its peak RSS is its own: a fork of the
 *   benchmark would inherit (and report) the parent's high-water mark.
 */
#ifndef FRTUI_BENCH_PROC_H
#define FRTUI_BENCH_PROC_H

#include <stddef.h>

typedef struct fr_bench_ui {
    char model[128], unit[96], note[200];
    int cols, rows, threads, rounds;
    int n_keys;                              /* key presses timed */
    double lat_med, lat_p95, lat_max;        /* ms from write(key) to the change on screen */
    double ips_headless, ips_ui, ips_ui_keys;   /* iterations/s of the running unit */
    double ratio, ratio_keys;                /* ips_ui / ips_headless, ips_ui_keys / ips_headless */
    double load1_before, load1_after;        /* 1-minute load average around the section */
    double ui_cpu_pct, child_cpu_pct[2];     /* UI thread, whole child (headless, UI): % of one core
                                                over the idle windows, from /proc/PID/task/PID/stat */
} fr_bench_ui;

typedef struct fr_bench_import {
    char what[64], path[256], note[200];
    double file_mb, seconds, peak_rss_mb, base_rss_mb;   /* NaN when not measured */
    int runs;
} fr_bench_import;

typedef struct fr_bench_ui_opts {
    const char *model;       /* .frm bundle */
    int unit;                /* unit index reconstructed while measuring (earlier units: RTN) */
    int cols, rows, keys, rounds;
    double window_s;         /* seconds per it/s window */
} fr_bench_ui_opts;

/* Fills u (NaN + note when the inspector cannot be run).  Prints progress to stdout. */
void fr_bench_ui_measure(const fr_bench_ui_opts *o, fr_bench_ui *u);
/* Imports path (ONNX or tfjs model.json) `runs` times, each in a fresh child. */
void fr_bench_import_measure(const char *what, const char *path, int runs, fr_bench_import *r);
/* Writes a deterministic ONNX convnet of about `mb` MB (Conv+BN+ReLU stack, Gemm head) that
 * the importer accepts.  Returns 0 or -1 (message in msg). */
int fr_bench_write_onnx(const char *path, double mb, char *msg, size_t msg_n);
/* The hidden `frtui-dev bench --child ...` entry; returns the exit status. */
int fr_bench_child(int argc, char **argv);

#endif
