/* cli.c — the model-level sub-commands: info, eval.
 *
 * Design note: commands parse their flags, call library modules, and print.  No logic that
 * the TUI also needs lives here.  Every user-input failure prints exactly one line
 * "frtui: <file>: <what is wrong>" to stderr and exits 2.
 */
#include "frtui/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frtui/blas.h"
#include "frtui/dataio.h"
#include "frtui/exec.h"
#include "frtui/frm.h"
#include "frtui/partition.h"

int fr_cli_exit_code(int status)
{
    switch (status) {
    case FR_OK: return 0;
    case FR_EINPUT: case FR_EIO: case FR_ENOMEM: return 2;
    default: return 1;
    }
}

int fr_cli_fail(const fr_err *e)
{
    fprintf(stderr, "frtui: %s\n", e->msg[0] ? e->msg : "failed");
    return fr_cli_exit_code(e->code ? e->code : FR_EINPUT);
}

int fr_cli_load(const char *path, fr_model *m)
{
    fr_err e;
    fr_err_clear(&e);
    fr_model_init(m);
    int rc = fr_frm_read(path, m, &e);
    if (rc != FR_OK) {
        fprintf(stderr, "frtui: %s\n", e.msg);
        return rc;
    }
    return FR_OK;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "frtui %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see frtui --help)\n");
    return 2;
}

int fr_cli_info(int argc, char **argv)
{
    int verbose = 0, nfiles = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) verbose = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return usage_error("info", "unknown option %s", argv[i]);
        else nfiles++;
    }
    if (verbose) {
        printf("OpenBLAS core: %s, %d thread(s)\n", fr_blas_describe(), fr_blas_threads());
    }
    if (!nfiles) return usage_error("info", "%s", "needs a bundle file");
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) continue;
        fr_model m;
        int st = fr_cli_load(argv[i], &m);
        if (st) { rc = fr_cli_exit_code(st); continue; }
        fr_frm_info(stdout, argv[i], &m, verbose);
        fr_graph_fold_bn(&m.g);
        for (int lw = 0; lw < 2; lw++) {
            fr_partition p;
            fr_err e;
            if (fr_partition_build(&m.g, lw, &p, &e) == FR_OK) {
                printf("\nReconstruction units (%s, %d units, after folding batch-norm):\n",
                       lw ? "layer-wise" : "BRECQ blocks", p.n);
                fr_partition_print(stdout, &p, &m.g);
                fr_partition_free(&p);
            } else {
                printf("partition: %s\n", e.msg);
            }
        }
        fr_model_free(&m);
        if (nfiles > 1) printf("\n");
    }
    return rc;
}

int fr_cli_eval(int argc, char **argv)
{
    const char *path = NULL;
    int batch = 64;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch = atoi(argv[++i]);
            if (batch < 1 || batch > 4096) return usage_error("eval", "--batch %s is out of range 1..4096", argv[i]);
        } else if (argv[i][0] == '-') {
            return usage_error("eval", "unknown option %s", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path) return usage_error("eval", "%s", "needs a bundle file");
    fr_model m;
    int st = fr_cli_load(path, &m);
    if (st) return fr_cli_exit_code(st);
    fr_err e;
    fr_err_clear(&e);
    double acc = 0;
    double t0 = fr_now();
    st = fr_eval_accuracy(&m, NULL, NULL, batch, &acc, &e);
    if (st) { fr_model_free(&m); fr_err_prefix(&e, path); return fr_cli_fail(&e); }
    printf("%s: top-1 %.2f%% on %d evaluation samples (%.2f s)\n", path, 100.0 * acc, m.eval.n, fr_now() - t0);
    fr_model_free(&m);
    return 0;
}

