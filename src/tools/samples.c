/* samples.c — `frtui-dev train-samples` and `frtui-dev build-real-sample`: the programs that make
 * the bundled samples.  They are developer tools, not part of the inspector: they live in the
 * frtui-dev binary so the product links none of the trainer or the probe pipeline.
 *
 * Design note: both commands are deterministic for a given seed at FRTUI_THREADS=1 (the trainer
 * and the probe draw every random choice from fr_rng); `make samples-check` relies on that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frtui/conv.h"
#include "frtui/blas.h"
#include "frtui/cli.h"
#include "frtui/dataio.h"
#include "frtui/devtools.h"
#include "frtui/exec.h"
#include "frtui/frm.h"
#include "frtui/opt.h"
#include "frtui/tfjs.h"
#include "frtui/train.h"

static const char *const fmnist_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

static int load_fmnist(const char *dir, const char *split, fr_dataset *d, fr_err *e)
{
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, split);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    int rc = fr_idx_read_images(ip, d, e);
    if (rc) return rc;
    int n = 0;
    rc = fr_idx_read_labels(lp, &d->labels, &n, e);
    if (rc) { fr_dataset_free(d); return rc; }
    if (n != d->n) {
        fr_dataset_free(d);
        return fr_err_set(e, FR_EINPUT, "%s: %d labels for %d images", lp, n, d->n);
    }
    return FR_OK;
}

/* Copies samples idx[0..n) of src (uint8) into dst. */
static void subset_u8(const fr_dataset *src, const int *idx, int n, int with_labels, fr_dataset *dst)
{
    memset(dst, 0, sizeof *dst);
    *dst = (fr_dataset){.n = n, .c = src->c, .h = src->h, .w = src->w, .dtype = 0, .scale = src->scale,
                        .offset = src->offset};
    size_t per = (size_t)src->c * src->h * src->w;
    dst->u8 = fr_amalloc((size_t)n * per);
    FR_ASSERT(dst->u8);
    if (with_labels) dst->labels = fr_xmalloc((size_t)n * sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        memcpy(dst->u8 + (size_t)i * per, src->u8 + (size_t)idx[i] * per, per);
        if (with_labels) dst->labels[i] = src->labels[idx[i]];
    }
}

int fr_dev_train_samples(int argc, char **argv)
{
    const char *out = "samples", *only = NULL, *dir = FMNIST_DIR;
    int epochs_override = 0, n_train = 0;
    uint64_t seed = 1005;
    /* The bundles were trained with the per-sample conv kernels (conv.h); keep them so that
     * `make samples-check` regenerates them byte-identically. */
    fr_conv_set_legacy(1);
    fr_opt opts[] = {
        {.name = "--out", .kind = FR_OPT_STR, .dst = &out},
        {.name = "--arch", .kind = FR_OPT_STR, .dst = &only},
        {.name = "--epochs", .kind = FR_OPT_INT, .dst = &epochs_override, .lo = 0, .hi = 10000},
        {.name = "--n-train", .kind = FR_OPT_INT, .dst = &n_train, .lo = 0, .hi = 100000000},
        {.name = "--data", .kind = FR_OPT_STR, .dst = &dir},
        {.name = "--seed", .kind = FR_OPT_U64, .dst = &seed, .lo = 0, .hi = 9223372036854775807LL},
        {.name = NULL},
    };
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui-dev train-samples [--out DIR] [--arch NAME] [--epochs N] [--n-train N] [--data DIR] [--seed N]\n");
        return 0;
    }
    fr_err pe;
    fr_err_clear(&pe);
    if (fr_opt_parse(opts, argc, argv, NULL, 0, NULL, &pe)) {
        fprintf(stderr, "frtui-dev train-samples: %s\n", pe.msg);
        return 2;
    }
    fr_err e;
    fr_err_clear(&e);
    fr_dataset train, test;
    if (load_fmnist(dir, "train", &train, &e) || load_fmnist(dir, "t10k", &test, &e)) return fr_cli_fail(&e);
    mkdir(out, 0755);
    /* Calibration: the first 1024 images of a seeded permutation of the training set. */
    fr_rng r;
    fr_rng_stream(&r, seed, 0x100);
    int *perm = fr_xmalloc((size_t)train.n * sizeof(int));
    for (int i = 0; i < train.n; i++) perm[i] = i;
    for (int i = train.n - 1; i > 0; i--) {
        int j = (int)fr_rng_below(&r, (uint32_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int *all = fr_xmalloc((size_t)test.n * sizeof(int));
    for (int i = 0; i < test.n; i++) all[i] = i;
    /* Epochs per architecture: enough to reach the accuracy plateau of each on 2 cores. */
    static const int epochs[FR_ZOO__COUNT] = {10, 5, 5};
    int rc = 0;
    for (int a = 0; a < FR_ZOO__COUNT; a++) {
        if (only && strcmp(only, fr_zoo_name((fr_zoo_arch)a)) != 0 && strstr(fr_zoo_name((fr_zoo_arch)a), only) != fr_zoo_name((fr_zoo_arch)a))
            continue;
        fr_model m;
        fr_model_init(&m);
        fr_zoo_build(&m, (fr_zoo_arch)a, seed);
        m.meta.mean[0] = 0.2860f;   /* Fashion-MNIST training-set pixel mean / std */
        m.meta.std[0] = 0.3530f;
        m.meta.n_classes = 10;
        m.meta.class_names = fr_xcalloc(10, sizeof(char *));
        for (int k = 0; k < 10; k++) m.meta.class_names[k] = fr_xstrdup(fmnist_classes[k]);
        fr_train_config tc = {.epochs = epochs_override ? epochs_override : epochs[a], .batch = 64, .lr = 2e-3f,
                              .weight_decay = 1e-4f, .seed = seed, .n_train = n_train};
        fprintf(stderr, "training %s (%lld parameters, %d epochs, %d BLAS thread(s))\n", fr_zoo_name((fr_zoo_arch)a),
                (long long)fr_graph_param_count(&m.g), tc.epochs, fr_blas_threads());
        double t0 = fr_now();
        if (fr_train(&m, &train, &tc, stderr, &e)) { rc = fr_cli_fail(&e); fr_model_free(&m); break; }
        m.meta.train_seed = seed;
        m.meta.train_threads = fr_blas_threads();
        snprintf(m.meta.train_blas_core, sizeof m.meta.train_blas_core, "%s", fr_blas_core());
        subset_u8(&train, perm, 1024, 0, &m.calib);
        subset_u8(&test, all, test.n, 1, &m.eval);
        double acc = 0;
        if (fr_eval_accuracy(&m, NULL, NULL, 100, &acc, &e)) { rc = fr_cli_fail(&e); fr_model_free(&m); break; }
        snprintf(m.meta.provenance, sizeof m.meta.provenance,
                 "trained by frtui train-samples on Fashion-MNIST (Debian dataset-fashion-mnist, 60000 train images): "
                 "Adam lr %.0e cosine, batch %d, %d epochs, weight decay %.0e, seed %llu, %d BLAS thread(s), "
                 "OpenBLAS core %s; calibration = 1024 train images (seeded permutation), evaluation = the 10000 "
                 "test images; full-precision test top-1 %.2f%%",
                 (double)tc.lr, tc.batch, tc.epochs, (double)tc.weight_decay, (unsigned long long)seed,
                 fr_blas_threads(), fr_blas_core(), 100.0 * acc);
        char path[600];
        snprintf(path, sizeof path, "%s/%s.frm", out, fr_zoo_name((fr_zoo_arch)a));
        if (fr_frm_write(path, &m, 1, &e)) { rc = fr_cli_fail(&e); fr_model_free(&m); break; }
        fprintf(stderr, "wrote %s: test top-1 %.2f%% (%.0f s)\n", path, 100.0 * acc, fr_now() - t0);
        printf("%s\t%.2f\n", fr_zoo_name((fr_zoo_arch)a), 100.0 * acc);
        fr_model_free(&m);
    }
    free(all);
    free(perm);
    fr_dataset_free(&train);
    fr_dataset_free(&test);
    return rc;
}

/* `frtui-dev build-real-sample [--model build/npm/mobilenet_v2/model.json] [--out FILE]`: imports the
 * nsfwjs MobileNetV2 and builds the linear-probe bundle (see src/tools/tfjs_probe.c for the
 * preprocessing: Fashion-MNIST 28x28 grey -> 224x224 nearest-neighbour, replicated to RGB). */
int fr_dev_build_real_sample(int argc, char **argv)
{
    const char *model = "build/npm/mobilenet_v2/model.json", *out = "samples/mobilenetv2-imagenet.frm";
    const char *data = "/usr/share/datasets/fashion-mnist";
    int n_train = 5000, n_calib = 512, n_eval = 1000;
    fr_conv_set_legacy(1);   /* the probe bundle was built with the per-sample kernels, as the samples */
    fr_opt t[] = {
        {.name = "--model", .kind = FR_OPT_STR, .dst = &model},
        {.name = "--out", .alias = "-o", .kind = FR_OPT_STR, .dst = &out},
        {.name = "--data", .kind = FR_OPT_STR, .dst = &data},
        {.name = "--n-train", .kind = FR_OPT_INT, .dst = &n_train, .lo = 1, .hi = 100000000},
        {.name = "--n-calib", .kind = FR_OPT_INT, .dst = &n_calib, .lo = 1, .hi = 100000000},
        {.name = "--n-eval", .kind = FR_OPT_INT, .dst = &n_eval, .lo = 1, .hi = 100000000},
        {.name = NULL},
    };
    if (fr_opt_wants_help(argc, argv)) {
        printf("usage: frtui-dev build-real-sample [--model model.json] [-o OUT.frm] [--data DIR] [--n-train N]\n"
               "                                   [--n-calib N] [--n-eval N]\n");
        return 0;
    }
    fr_err pe;
    fr_err_clear(&pe);
    if (fr_opt_parse(t, argc, argv, NULL, 0, NULL, &pe)) {
        fprintf(stderr, "frtui-dev build-real-sample: %s\n", pe.msg);
        return 2;
    }
    fr_err e;
    fr_err_clear(&e);
    fr_model m;
    fr_model_init(&m);
    if (fr_tfjs_import(model, NULL, &m, &e) ||
        fr_tfjs_build_probe_bundle(&m, data, out, n_train, n_calib, n_eval, 1, &e)) {
        fr_model_free(&m);
        return fr_cli_fail(&e);
    }
    fr_model_free(&m);
    printf("wrote %s\n", out);
    return 0;
}
