/* dev_main.c — frtui-dev: the developer tools that are not the product.
 *
 *   frtui-dev bench [options]              speed of the reconstruction loop (make bench)
 *   frtui-dev bench-dp [FILE] [--unit U]   one unit's iterations over MPI ranks (make bench-dp)
 *   frtui-dev train-samples [--out DIR]    retrain the bundled Fashion-MNIST samples (make samples)
 *   frtui-dev train-lm --text FILE         the byte-level language-model sample (make samples)
 *   frtui-dev build-real-sample [...]      the real MobileNetV2 probe bundle (Fashion-MNIST probe)
 *   frtui-dev photo-set [...]              photo crops for the real networks (make samples-real)
 *   frtui-dev contrast [...] RUN.frc...    per-block aggressive rounding of runs (make report-contrast)
 *
 * Design note: the same OpenBLAS set-up as frtui (fr_blas_init may re-exec with a core type), so
 * a benchmark or a retrained sample sees exactly the kernels the inspector uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/bench.h"
#include "frtui/blas.h"
#include "frtui/cli.h"
#include "frtui/devtools.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: frtui-dev bench [--json PATH] [--quick] [--only SECTION,...]   speed (make bench)\n"
               "       frtui-dev train-samples [--out DIR] [--arch NAME]              retrain the samples\n"
               "       frtui-dev train-lm --text FILE [--out F.frm] [--steps N]         the language-model sample\n"
               "       frtui-dev build-real-sample [--model model.json] [--out FILE]  MobileNetV2 probe bundle\n"
               "       frtui-dev bench-mem [--budgets 16G,4G,2G] [--iters N]    peak RSS and spill cost per --max-mem\n"
               "       [mpirun -n K] frtui-dev bench-dp [FILE.frm] [--unit NAME]   ms/iteration over K ranks (make bench-dp)\n"
               "       frtui-dev photo-set --split calib|eval [--n N] [--size S] -o X.npy  photo crops\n"
               "       frtui-dev contrast [--eval X.npy]... [--md F] [--png F] RUN.frc...  per-block contrast\n"
               "       frtui-dev COMMAND --help                                       the options of one command\n"
               "environment: FRTUI_THREADS (compute threads, default 2)\n");
}

int main(int argc, char **argv)
{
    int threads;
    if (fr_cli_threads_env("frtui-dev", &threads)) return 2;
    fr_err be;
    fr_err_clear(&be);
    if (fr_blas_init(argv, threads, &be)) { fprintf(stderr, "frtui-dev: %s\n", be.msg); return 2; }
    fr_fatal_signals_init();   /* no temp file outlives a signal (common.h) */
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("frtui-dev %s\n", FR_VERSION);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct { const char *name; int (*fn)(int, char **); } cmds[] = {
        {"bench", fr_cli_bench},
        {"train-samples", fr_dev_train_samples},
        {"build-real-sample", fr_dev_build_real_sample},
        {"train-lm", fr_dev_train_lm},
        {"bench-mem", fr_dev_bench_mem},
        {"bench-dp", fr_dev_bench_dp},
        {"photo-set", fr_dev_photo_set},
        {"contrast", fr_dev_contrast},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "frtui-dev: unknown command '%s' (see frtui-dev --help)\n", argv[1]);
    return 2;
}
