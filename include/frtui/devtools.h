/* devtools.h — the frtui-dev program (src/tools/): benchmarks, the sample trainer and the real-
 * network probe bundle.  None of this is linked into the frtui inspector; tools may use every
 * part of the product, nothing in the product may include this header.
 */
#ifndef FRTUI_DEVTOOLS_H
#define FRTUI_DEVTOOLS_H

#include "frtui/common.h"
#include "frtui/graph.h"

/* `frtui-dev train-samples [--out DIR] [--arch NAME] [--epochs N] [--n-train N] [--data DIR]
 * [--seed N]`: retrains the Fashion-MNIST samples.  Returns the exit status. */
int fr_dev_train_samples(int argc, char **argv);
/* `frtui-dev train-lm --text FILE [--out F.frm] ...`: the byte-level language-model sample
 * (src/tools/lmsample.c).  Returns the exit status. */
int fr_dev_train_lm(int argc, char **argv);
/* The bible-kjv program's layout (headings between blank lines, numbered wrapped verses) as one
 * verse per line without numbers; out holds n + 1 bytes.  Returns the cleaned length, 0 when
 * in has no numbered verse (then it is not that layout). */
size_t fr_kjv_clean(const uint8_t *in, size_t n, uint8_t *out);
/* `frtui-dev build-real-sample [--model model.json] [--out FILE] ...`: the MobileNetV2 probe
 * bundle.  Returns the exit status. */
int fr_dev_build_real_sample(int argc, char **argv);
/* `frtui-dev bench-mem [--bundle F] [--budgets 16G,4G,2G] [--iters N] [--json F]`: peak RSS and
 * the time cost of spilled caches per --max-mem budget (issue 19; make bench-mem). */
int fr_dev_bench_mem(int argc, char **argv);
/* `[mpirun -n K] frtui-dev bench-dp [FILE.frm] [--unit NAME] [--iters N] [--runs N] [--json F]`: ms
 * per iteration of one unit with its mini-batch split over the MPI ranks (dp.h; make bench-dp). */
int fr_dev_bench_dp(int argc, char **argv);
/* `frtui-dev contrast`: aggressive rounding per BRECQ block of FlexRound runs (checkpoints) as one
 * table and one PNG, with optional fidelity on held-out data (src/tools/contrast.c). */
int fr_dev_contrast(int argc, char **argv);

/* Fashion-MNIST preprocessing shared by the probe bundle and the reference scripts: a sh x sw
 * grey uint8 image -> out_h x out_w, the same plane replicated to 3 channels; out holds
 * 3*out_h*out_w bytes (NCHW, one sample) and the model then sees x = byte / 255.
 *   mode FR_TFJS_NEAREST:  out(y,x) = src(floor(y*sh/out_h), floor(x*sw/out_w)) — for 28 -> 224
 *                          each pixel becomes an 8x8 block (what the probe bundle uses);
 *   mode FR_TFJS_BILINEAR: half-pixel centres (align_corners=False, no antialias; TF
 *                          resize_bilinear(half_pixel_centers=True) / PyTorch interpolate), source
 *                          coordinates clamped at 0 and sh-1, computed in double, rounded half up
 *                          to uint8. */
enum { FR_TFJS_NEAREST = 0, FR_TFJS_BILINEAR = 1 };
void fr_tfjs_resize_grey(const uint8_t *src, int sh, int sw, uint8_t *out, int out_h, int out_w, int mode);

/* Builds the MobileNetV2 probe bundle: the backbone of `backbone_imported` (an fr_tfjs_import
 * result) cut at its first FR_OP_GAP node (1280-d features), a 10-class FR_OP_LINEAR head
 * trained on Fashion-MNIST features of n_train training images, calib = n_calib further train
 * images, eval = the first n_eval test images, all stored as uint8 224x224x3 (scale 1/255), upscaled with FR_TFJS_NEAREST: bilinear
 * upscales compress ~18x worse under zstd (13 KB vs 0.74 KB per image, measured), which would
 * not fit 1000 eval images into the repository budget.
 * fmnist_dir holds {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.  Training: full-batch
 * Adam on standardised features (300 steps, lr 0.01, L2 0.03 — chosen on 1000 held-out training
 * images), zero init, deterministic for a given seed (fr_rng only); the standardisation is
 * folded into the FR_OP_LINEAR head.  Suggested: n_train 5000, n_calib 512, n_eval 1000.  Writes
 * out_path with fr_frm_write (datasets zstd-compressed).  Prints progress to stderr. */
int fr_tfjs_build_probe_bundle(const fr_model *backbone_imported, const char *fmnist_dir, const char *out_path,
                               int n_train, int n_calib, int n_eval, uint64_t seed, fr_err *e);

/* `frtui-dev photo-set --split calib|eval ...` (src/tools/photoset.c): random crops of the
 * photographs Debian ships (`make photos`) as a uint8 .npy.  Returns the exit status. */
int fr_dev_photo_set(int argc, char **argv);
enum { FR_PHOTO_CALIB = 0, FR_PHOTO_EVAL = 1 };
enum { FR_PHOTO_SKIMAGE = 0, FR_PHOTO_WIDE = 1 };   /* photo sets (photoset.c) */
#define FR_PHOTO_MIN_SIDE 0.35f   /* smallest crop side, as a fraction of the photo's shorter side */
#define FR_PHOTO_BASE_SIDE 512    /* photos with a shorter side of 2x this or more are box-reduced first */
/* The fixed photo list of a set's split (paths under the folder `make photos` unpacks the
 * Debian packages into, build/deb); *n gets its length. */
const char *const *fr_photo_split(int set, int split, int *n);
/* n crops of size x size (uint8 NCHW, 3 channels, into out: n*3*size*size bytes) from the PNG or
 * JPEG files dir/names[0..n_names), deterministic in (names, split, n, size, seed); see photoset.c. */
int fr_photo_crops(const char *dir, const char *const *names, int n_names, int split, int n, int size, uint64_t seed,
                   uint8_t *out, fr_err *e);

#endif
