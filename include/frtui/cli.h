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

/* Parses run settings (preset first, then flags) from argv[1..].  The one positional argument
 * goes to *file.  Flags listed in `pass` (NULL-terminated prefixes) are skipped and marked in
 * passed[i] (may be NULL).  Returns FR_OK or FR_EINPUT with e set. */
struct fr_run_config;
int fr_cli_parse_run(int argc, char **argv, struct fr_run_config *c, const char **file, const char *const *pass,
                     int *passed, fr_err *e);

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
struct fr_snapshot;
int fr_cli_load_ckpt(const char *ckpt_path, const char *model_path, struct fr_ckpt *c, fr_model *m);
/* fr_cli_load_ckpt plus the run's read-only snapshot (fr_ckpt_snapshot), which replay and
 * export-png both start from.  On failure everything is freed, one line printed and the exit
 * status returned. */
int fr_cli_load_replay(const char *ckpt_path, const char *model_path, struct fr_ckpt *c, fr_model *m,
                       struct fr_snapshot **s);

/* Default sample opened by `frtui` with no file. */
#define FR_DEFAULT_SAMPLE "samples/resnet-fmnist.frm"

#endif
