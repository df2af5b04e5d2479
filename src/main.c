/* main.c — frtui entry point: OpenBLAS set-up, then dispatch to a sub-command or the inspector.
 *
 *   frtui [FILE.frm | RUN.frc] [options]     open the inspector (default sample without FILE)
 *   frtui info FILE...                       summary of a bundle and its reconstruction units
 *   frtui eval FILE                          top-1 accuracy on the bundle's evaluation set
 *   frtui run FILE --method M --bits N ...   batch quantization with a report
 *   frtui compare FILE --bits N              RTN, AdaRound and FlexRound side by side
 *   frtui train-samples --out DIR            retrain the bundled samples
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/blas.h"
#include "frtui/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: frtui [FILE.frm] [options]          open the inspector (default: %s)\n"
            "       frtui info [--verbose] FILE...      bundle summary, layers, reconstruction units\n"
            "       frtui eval FILE                     top-1 accuracy on the bundle's evaluation set\n"
            "       frtui run FILE [options]            batch quantization (see frtui run --help)\n"
            "       frtui compare FILE [options]        RTN vs AdaRound vs FlexRound on the same data\n"
            "       frtui report [options] FILE...      the README's results table\n"
            "       frtui import MODEL -o OUT.frm ...   ONNX or tfjs model (+ --calib/--eval data) to a bundle\n"
            "       frtui train-samples [--out DIR]     retrain the Fashion-MNIST samples\n"
            "environment: FRTUI_THREADS (BLAS threads, default 2); OPENBLAS_CORETYPE is respected\n",
            FR_DEFAULT_SAMPLE);
}

int main(int argc, char **argv)
{
    int threads = 2;
    const char *t = getenv("FRTUI_THREADS");
    if (t && atoi(t) > 0) threads = atoi(t);
    fr_blas_init(argv, threads);

    if (argc >= 2) {
        const char *cmd = argv[1];
        if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
            usage(stdout);
            return 0;
        }
        struct { const char *name; int (*fn)(int, char **); } cmds[] = {
            {"info", fr_cli_info},       {"eval", fr_cli_eval},       {"train-samples", fr_cli_train_samples},
            {"run", fr_cli_run},         {"compare", fr_cli_compare}, {"report", fr_cli_report},
            {"import", fr_cli_import},
        };
        for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
            if (strcmp(cmd, cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "frtui: the inspector is not built yet; try `frtui run FILE` or `frtui --help`\n");
    return 2;
}
