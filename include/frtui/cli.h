/* cli.h — sub-commands of the frtui program.  Each returns the process exit status:
 * 0 success, 2 bad input (message already printed to stderr as one line), 1 other failure. */
#ifndef FRTUI_CLI_H
#define FRTUI_CLI_H

#include "frtui/common.h"
#include "frtui/graph.h"

int fr_cli_info(int argc, char **argv);
int fr_cli_eval(int argc, char **argv);
int fr_cli_run(int argc, char **argv);
int fr_cli_compare(int argc, char **argv);
int fr_cli_report(int argc, char **argv);
int fr_cli_import(int argc, char **argv);
/* `frtui sweep` (cli_sweep.c) and `frtui sweep-report DIR` (cli_sweep_report.c): a grid of runs
 * (sweep.h) and its table and plots. */
int fr_cli_sweep(int argc, char **argv);
int fr_cli_sweep_report(int argc, char **argv);

/* Shared by run, compare and report (cli_run.c): one whole run in the batch worker (progress on
 * stderr unless quiet); NULL with e set on failure, else a snapshot the caller releases. */
struct fr_run_config;
struct fr_snapshot;
struct fr_snapshot *fr_cli_run_to_end(const fr_model *m, const struct fr_run_config *c, int quiet, fr_err *e);

/* Results of a finished run (cli_run_report.c): the kernel line, the per-unit table (preceded
 * by the kernel line) and the fidelity line (nothing when not measured) on f; the --json and
 * --csv reports (either path may be NULL; `file` is the bundle the report names), each written
 * atomically.  FR_OK or the write's status with e set. */
void fr_cli_print_kernel_line(FILE *f);
void fr_cli_print_run_table(FILE *f, const struct fr_snapshot *s);
void fr_cli_print_fidelity(FILE *f, const struct fr_snapshot *s);
int fr_cli_write_run_reports(const struct fr_snapshot *s, const char *json, const char *csv, const char *file,
                             fr_err *e);
/* The sums behind the reports' mean |W| columns, one definition for run and report: sum |W|
 * over the layer (*sw) and over its aggressively rounded weights (*sa, *na of them); zero when
 * the view holds no weights.  The callers divide (and decide what an empty layer shows). */
struct fr_layer_view;
void fr_cli_layer_abs_sums(const struct fr_layer_view *lv, double *sw, double *sa, int64_t *na);

/* Run settings as an option table (opt.h), shared by run, compare, report and the inspector:
 * appends its entries to t at index n (room for FR_CLI_RUN_NOPTS more + the terminator),
 * writing into c; returns the new count.  --preset is applied before the other flags. */
struct fr_opt;
#define FR_CLI_RUN_NOPTS 31
int fr_cli_run_table(struct fr_opt *t, int n, struct fr_run_config *c);
/* --resume RUN.frc, --checkpoint FILE.frc, --checkpoint-every N|Ns: run and the inspector. */
typedef struct fr_cli_ckpt_opts {
    const char *resume, *ckpt;
    int every_units;
    double every_s;
} fr_cli_ckpt_opts;
int fr_cli_ckpt_table(struct fr_opt *t, int n, fr_cli_ckpt_opts *k);
/* Parses run settings (teaching preset, then --preset, then flags) from argv[1..]; the one
 * positional argument goes to *file.  Returns FR_OK or FR_EINPUT with e set. */
int fr_cli_parse_run(int argc, char **argv, struct fr_run_config *c, const char **file, fr_err *e);
/* Prints "frtui CMD: <message>" and returns 2 (a refused command line). */
int fr_cli_usage(const char *cmd, const fr_err *e);

/* Checks, before any computation, that output `out` (given with `flag`) can be written: its
 * directory exists and is writable, it is not a directory, and it is none of inputs[0..n-1]
 * (NULL entries skipped; same device+inode when both exist, same canonical path otherwise). */
int fr_cli_check_output(const char *flag, const char *out, const char *const *inputs, int n_inputs, fr_err *e);
/* 1 when a and b name the same file (device+inode, or canonical path when one does not exist). */
int fr_cli_same_file(const char *a, const char *b);
/* True when path is a regular file starting with the 4-byte magic ("FRTC" checkpoint, "FRTM"
 * bundle); never blocks on a FIFO. */
int fr_cli_has_magic(const char *path, const char *magic4);
int fr_cli_is_checkpoint(const char *path);

/* Loads a bundle, printing "frtui: <message>" on failure.  Returns FR_OK or the status. */
int fr_cli_load(const char *path, fr_model *m);
/* Maps an fr_status to an exit code (input/IO errors -> 2). */
int fr_cli_exit_code(int status);
/* Prints the error as one line to stderr and returns the exit code. */
int fr_cli_fail(const fr_err *e);

/* Checkpoint consumers (src/app/cli_ckpt.c), dispatched from main.c:
 *   frtui export RUN.frc -o OUT.frm [--safetensors OUT.safetensors] [--model FILE.frm]
 *   frtui export-png RUN.frc --unit NAME --view V -o FILE.png [--layer N] [--model FILE.frm] */
int fr_cli_export(int argc, char **argv);
int fr_cli_export_png(int argc, char **argv);
/* Loads RUN.frc and its bundle (model_path, or the path recorded in the checkpoint), checked
 * against each other; prints one line and returns the exit status on failure. */
struct fr_ckpt;
int fr_cli_load_ckpt(const char *ckpt_path, const char *model_path, struct fr_ckpt *c, fr_model *m);
/* fr_cli_load_ckpt plus the run's read-only snapshot (fr_ckpt_snapshot), which replay and
 * export-png both start from.  On failure everything is freed, one line printed and the exit
 * status returned. */
int fr_cli_load_replay(const char *ckpt_path, const char *model_path, struct fr_ckpt *c, fr_model *m,
                       struct fr_snapshot **s);
/* realpath(path) in buf (size n), or path itself when it cannot be resolved: checkpoints record
 * their bundle's absolute path so replay and export find it from any directory. */
const char *fr_cli_abspath(const char *path, char *buf, size_t n);
/* FRTUI_THREADS (default 2), checked: not an integer in 1..256 prints "PROG: FRTUI_THREADS:
 * ..." and returns 2. */
int fr_cli_threads_env(const char *prog, int *threads);

#define FR_VERSION "0.9.0"

/* Default sample opened by `frtui` with no file. */
#define FR_DEFAULT_SAMPLE "samples/resnet-fmnist.frm"

#endif
