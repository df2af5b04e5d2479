/* tfjs_probe.c — the MobileNetV2 linear-probe bundle (samples/mobilenetv2-imagenet.frm) and the
 * Fashion-MNIST preprocessing it shares with the reference scripts (tests/tools/).
 *
 * Design note
 *   Part of the tfjs module (declared in include/frtui/devtools.h); kept in its own file because the
 *   importer is already large and this is a data pipeline, not parsing.
 *   The imported nsfwjs model ends in a 5-class head fine-tuned for another task, so the bundle
 *   keeps only the ImageNet backbone up to the global average pool (1280-d) and appends a
 *   10-class linear probe trained here on Fashion-MNIST features.  Every step is deterministic:
 *   the train/calib split comes from fr_rng(seed), the probe starts at zero and is trained with
 *   full-batch Adam (sgemm, moments in double) with a fixed step count, and feature extraction runs
 *   the executor with a fixed batch size.  (Bit-identity across BLAS thread counts is as good as
 *   the executor's; run with FRTUI_THREADS=1 / one BLAS thread for reproducible bytes.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "frtui/dataio.h"
#include "frtui/exec.h"
#include "frtui/frm.h"
#include "frtui/tfjs.h"
#include "frtui/devtools.h"

#define PROBE_BATCH 8   /* activations of a batch of 8 at 224x224 take ~0.5 GB */
#define PROBE_STEPS 300
#define PROBE_LR 0.01
#define PROBE_L2 0.03    /* chosen on 1000 held-out train images (val 82.7%), see final report */
#define PROBE_RESIZE FR_TFJS_NEAREST   /* see devtools.h: bilinear does not fit the size budget */

static const char *const fmnist_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

void fr_tfjs_resize_grey(const uint8_t *src, int sh, int sw, uint8_t *out, int out_h, int out_w, int mode)
{
    size_t plane = (size_t)out_h * out_w;
    if (mode == FR_TFJS_NEAREST) {
        for (int y = 0; y < out_h; y++)
            for (int x = 0; x < out_w; x++)
                out[(size_t)y * out_w + x] = src[(int)((int64_t)y * sh / out_h) * sw + (int)((int64_t)x * sw / out_w)];
        memcpy(out + plane, out, plane);
        memcpy(out + 2 * plane, out, plane);
        return;
    }
    double fy = (double)sh / out_h, fx = (double)sw / out_w;
    for (int y = 0; y < out_h; y++) {
        double sy = (y + 0.5) * fy - 0.5;
        if (sy < 0) sy = 0;
        int y0 = (int)sy, y1 = y0 + 1 < sh ? y0 + 1 : sh - 1;
        double wy = sy - y0;
        for (int x = 0; x < out_w; x++) {
            double sx = (x + 0.5) * fx - 0.5;
            if (sx < 0) sx = 0;
            int x0 = (int)sx, x1 = x0 + 1 < sw ? x0 + 1 : sw - 1;
            double wx = sx - x0;
            double top = src[y0 * sw + x0] * (1 - wx) + src[y0 * sw + x1] * wx;
            double bot = src[y1 * sw + x0] * (1 - wx) + src[y1 * sw + x1] * wx;
            double v = floor(top * (1 - wy) + bot * wy + 0.5);
            out[(size_t)y * out_w + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    memcpy(out + plane, out, plane);
    memcpy(out + 2 * plane, out, plane);
}

/* Copies nodes 0..last of src (and only the tensors they use) into dst. */
static void cut_graph(fr_graph *dst, const fr_graph *src, int last)
{
    fr_graph_init(dst);
    int *tmap = fr_xmalloc((size_t)(src->n_tensors ? src->n_tensors : 1) * sizeof(int));
    for (int t = 0; t < src->n_tensors; t++) tmap[t] = -1;
    for (int i = 0; i <= last; i++) {
        const fr_node *n = &src->nodes[i];
        int k = fr_graph_add_node(dst, n->name, n->op, n->n_in, n->in);
        fr_node *d = &dst->nodes[k];
        d->a = n->a;
        d->c = n->c; d->h = n->h; d->w = n->w;
        d->n_param = n->n_param;
        for (int p = 0; p < FR_MAX_PARAM; p++) {
            int t = n->param[p];
            if (t < 0) continue;
            if (tmap[t] < 0) {
                const fr_tensor *st = &src->tensors[t];
                tmap[t] = fr_graph_add_tensor(dst, st->name, st->ndim, st->dim);
                memcpy(dst->tensors[tmap[t]].data, st->data, (size_t)fr_tensor_numel(st) * sizeof(float));
            }
            dst->nodes[k].param[p] = tmap[t];
        }
    }
    free(tmap);
}

/* Preprocesses images idx[0..n) of the 28x28 set into out (uint8, n x 3 x H x W; NULL = keep
 * only the current batch) and, when feat != NULL, writes their GAP features (n x C) computed
 * with plan x. */
static int prep_and_features(const fr_dataset *src, const int *idx, int n, int H, int W, uint8_t *out, fr_exec *x,
                             int C, float *feat, const char *what)
{
    size_t per = (size_t)3 * H * W;
    float *in = fr_amalloc((size_t)PROBE_BATCH * per * sizeof(float));
    uint8_t *own = out ? NULL : fr_amalloc((size_t)PROBE_BATCH * per);
    if (!in || (!out && !own)) { fr_afree(in); fr_afree(own); return -1; }
    double t0 = fr_now();
    for (int b0 = 0; b0 < n; b0 += PROBE_BATCH) {
        int nb = FR_MIN(PROBE_BATCH, n - b0);
        for (int s = 0; s < nb; s++) {
            uint8_t *o = out ? out + (size_t)(b0 + s) * per : own + (size_t)s * per;
            fr_tfjs_resize_grey(src->u8 + (size_t)idx[b0 + s] * src->h * src->w, src->h, src->w, o, H, W, PROBE_RESIZE);
            for (size_t k = 0; k < per; k++) in[(size_t)s * per + k] = (float)o[k] * (1.0f / 255.0f);
        }
        if (!feat) continue;
        fr_exec_bind_input(x, 0, in);
        fr_exec_forward(x, nb);
        memcpy(feat + (size_t)b0 * C, fr_exec_output(x), (size_t)nb * C * sizeof(float));
        if ((b0 / PROBE_BATCH) % 64 == 0 || b0 + nb == n)
            fprintf(stderr, "probe: %s features %d/%d (%.0f s)\n", what, b0 + nb, n, fr_now() - t0);
    }
    fr_afree(in);
    fr_afree(own);
    return 0;
}

/* Softmax regression on standardised features X [n, C], full-batch Adam (moments in double);
 * logits and gradients through sgemm.  W is [10, C] row-major, starts at zero. */
static void train_probe(const float *X, const int32_t *y, int n, int C, float *W, float *b)
{
    const int K = 10;
    size_t nw = (size_t)K * C;
    double *m = fr_xcalloc(nw + K, sizeof(double)), *v = fr_xcalloc(nw + K, sizeof(double));
    float *Z = fr_xmalloc((size_t)n * K * sizeof(float)), *G = fr_xmalloc(nw * sizeof(float)), gb[10];
    memset(W, 0, nw * sizeof(float));
    memset(b, 0, (size_t)K * sizeof(float));
    for (int it = 1; it <= PROBE_STEPS; it++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, K, C, 1.0f, X, C, W, C, 0.0f, Z, K);
        double loss = 0;
        memset(gb, 0, sizeof gb);
        for (int i = 0; i < n; i++) {
            float *z = Z + (size_t)i * K;
            double mx = -1e300, s = 0, e[10];
            for (int k = 0; k < K; k++) { z[k] += b[k]; if (z[k] > mx) mx = z[k]; }
            for (int k = 0; k < K; k++) s += (e[k] = exp(z[k] - mx));
            loss -= log(e[y[i]] / s);
            for (int k = 0; k < K; k++) { z[k] = (float)((e[k] / s - (k == y[i])) / n); gb[k] += z[k]; }
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, C, n, 1.0f, Z, K, X, C, 0.0f, G, C);
        double c1 = 1 - pow(0.9, it), c2 = 1 - pow(0.999, it);
        for (size_t q = 0; q < nw + K; q++) {
            double g = q < nw ? G[q] + PROBE_L2 * W[q] : gb[q - nw];
            m[q] = 0.9 * m[q] + 0.1 * g;
            v[q] = 0.999 * v[q] + 0.001 * g * g;
            double d = PROBE_LR * (m[q] / c1) / (sqrt(v[q] / c2) + 1e-8);
            if (q < nw) W[q] -= (float)d; else b[q - nw] -= (float)d;
        }
        if (it % 100 == 0) fprintf(stderr, "probe: step %d loss %.4f\n", it, loss / n);
    }
    free(m); free(v); free(Z); free(G);
}

static double probe_acc(const float *X, const int32_t *y, int n, int C, const float *W, const float *b)
{
    int ok = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        double bv = -1e300;
        for (int k = 0; k < 10; k++) {
            double a = b[k];
            for (int j = 0; j < C; j++) a += (double)W[(size_t)k * C + j] * X[(size_t)i * C + j];
            if (a > bv) { bv = a; best = k; }
        }
        ok += best == y[i];
    }
    return n ? (double)ok / n : 0;
}

int fr_tfjs_build_probe_bundle(const fr_model *bb, const char *fmnist_dir, const char *out_path, int n_train,
                               int n_calib, int n_eval, uint64_t seed, fr_err *e)
{
    const fr_graph *sg = &bb->g;
    int gap = -1;
    for (int i = 0; i < sg->n_nodes && gap < 0; i++)
        if (sg->nodes[i].op == FR_OP_GAP) gap = i;
    if (gap < 0) return fr_err_set(e, FR_EINPUT, "%s: model has no global average pool to cut at", bb->meta.name);
    if (n_train < 10 || n_calib < 1 || n_eval < 1 || n_train + n_calib > 60000 || n_eval > 10000)
        return fr_err_set(e, FR_EINPUT, "probe: bad sizes train %d calib %d eval %d", n_train, n_calib, n_eval);
    const fr_meta *bm = &bb->meta;
    if (bm->in_c != 3) return fr_err_set(e, FR_EINPUT, "%s: probe needs a 3-channel input", bm->name);
    int H = bm->in_h, W = bm->in_w, C = sg->nodes[gap].c;
    char p_ti[4096], p_tl[4096], p_ei[4096], p_el[4096];
    snprintf(p_ti, sizeof p_ti, "%s/train-images-idx3-ubyte.gz", fmnist_dir);
    snprintf(p_tl, sizeof p_tl, "%s/train-labels-idx1-ubyte.gz", fmnist_dir);
    snprintf(p_ei, sizeof p_ei, "%s/t10k-images-idx3-ubyte.gz", fmnist_dir);
    snprintf(p_el, sizeof p_el, "%s/t10k-labels-idx1-ubyte.gz", fmnist_dir);
    fr_dataset tr, te;
    int32_t *ltr = NULL, *lte = NULL;
    int ntr = 0, nte = 0, rc;
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    fr_model m;
    fr_model_init(&m);
    float *ftr = NULL, *fev = NULL;
    int *perm = NULL, *eidx = NULL;
    fr_exec *x = NULL;
    if ((rc = fr_idx_read_images(p_ti, &tr, e)) || (rc = fr_idx_read_labels(p_tl, &ltr, &ntr, e)) ||
        (rc = fr_idx_read_images(p_ei, &te, e)) || (rc = fr_idx_read_labels(p_el, &lte, &nte, e)))
        goto out;
    if (tr.n != ntr || te.n != nte || tr.n < n_train + n_calib || te.n < n_eval || tr.c != 1 || te.c != 1) {
        rc = fr_err_set(e, FR_EINPUT, "%s: Fashion-MNIST files have unexpected counts/shapes", fmnist_dir);
        goto out;
    }
    for (int i = 0; i < ntr; i++)
        if (ltr[i] < 0 || ltr[i] > 9) { rc = fr_err_set(e, FR_EINPUT, "%s: label %d out of range", p_tl, ltr[i]); goto out; }
    for (int i = 0; i < nte; i++)
        if (lte[i] < 0 || lte[i] > 9) { rc = fr_err_set(e, FR_EINPUT, "%s: label %d out of range", p_el, lte[i]); goto out; }

    /* Backbone up to the GAP, then the executor over it. */
    m.meta = *bm;
    m.meta.class_names = NULL;
    cut_graph(&m.g, sg, gap);
    if (!(x = fr_exec_new(&m.g, 0, gap, PROBE_BATCH, FR_EXEC_INFER, e))) { rc = e ? e->code : FR_ENOMEM; goto out; }

    /* Split: a seeded permutation of the training set; first n_train train the probe, the
     * next n_calib are calibration data.  Eval = the first n_eval test images. */
    fr_rng r;
    fr_rng_seed(&r, seed);
    perm = fr_xmalloc((size_t)ntr * sizeof(int));
    for (int i = 0; i < ntr; i++) perm[i] = i;
    for (int i = ntr - 1; i > 0; i--) {
        int j = (int)fr_rng_below(&r, (uint32_t)i + 1), t = perm[i];
        perm[i] = perm[j]; perm[j] = t;
    }
    eidx = fr_xmalloc((size_t)n_eval * sizeof(int));
    for (int i = 0; i < n_eval; i++) eidx[i] = i;
    size_t per = (size_t)3 * H * W;
    ftr = fr_xmalloc((size_t)n_train * C * sizeof(float));
    fev = fr_xmalloc((size_t)n_eval * C * sizeof(float));
    if (prep_and_features(&tr, perm, n_train, H, W, NULL, x, C, ftr, "train") != 0) {
        rc = fr_err_set(e, FR_ENOMEM, "probe: cannot allocate image buffers");
        goto out;
    }

    fr_dataset *cd = &m.calib, *ed = &m.eval;
    cd->n = n_calib; ed->n = n_eval;
    cd->c = ed->c = 3; cd->h = ed->h = H; cd->w = ed->w = W;
    cd->dtype = ed->dtype = 0;
    cd->scale = ed->scale = 1.0f / 255.0f;
    cd->u8 = fr_amalloc((size_t)n_calib * per);
    ed->u8 = fr_amalloc((size_t)n_eval * per);
    cd->labels = fr_xmalloc((size_t)n_calib * sizeof(int32_t));
    ed->labels = fr_xmalloc((size_t)n_eval * sizeof(int32_t));
    if (!cd->u8 || !ed->u8) { rc = fr_err_set(e, FR_ENOMEM, "probe: cannot allocate datasets"); goto out; }
    if (prep_and_features(&tr, perm + n_train, n_calib, H, W, cd->u8, NULL, C, NULL, "calib") != 0 ||
        prep_and_features(&te, eidx, n_eval, H, W, ed->u8, x, C, fev, "eval") != 0) {
        rc = fr_err_set(e, FR_ENOMEM, "probe: cannot allocate image buffers");
        goto out;
    }
    for (int i = 0; i < n_calib; i++) cd->labels[i] = ltr[perm[n_train + i]];
    for (int i = 0; i < n_eval; i++) ed->labels[i] = lte[i];
    fr_exec_free(x);
    x = NULL;

    /* Standardise, train, then fold the standardisation into the head. */
    int32_t *ytr = fr_xmalloc((size_t)n_train * sizeof(int32_t));
    for (int i = 0; i < n_train; i++) ytr[i] = ltr[perm[i]];
    double *mu = fr_xcalloc((size_t)C, sizeof(double)), *sd = fr_xcalloc((size_t)C, sizeof(double));
    for (int i = 0; i < n_train; i++)
        for (int j = 0; j < C; j++) mu[j] += ftr[(size_t)i * C + j];
    for (int j = 0; j < C; j++) mu[j] /= n_train;
    for (int i = 0; i < n_train; i++)
        for (int j = 0; j < C; j++) { double d = ftr[(size_t)i * C + j] - mu[j]; sd[j] += d * d; }
    for (int j = 0; j < C; j++) sd[j] = sqrt(sd[j] / n_train) + 1e-6;
    float *Z = fr_xmalloc((size_t)n_train * C * sizeof(float));
    for (int i = 0; i < n_train; i++)
        for (int j = 0; j < C; j++) Z[(size_t)i * C + j] = (float)((ftr[(size_t)i * C + j] - mu[j]) / sd[j]);
    float *Wd = fr_xmalloc((size_t)10 * C * sizeof(float)), bd[10];
    train_probe(Z, ytr, n_train, C, Wd, bd);
    int64_t wdim[2] = {10, C}, bdim[1] = {10};
    int tw = fr_graph_add_tensor(&m.g, "probe.weight", 2, wdim), tb = fr_graph_add_tensor(&m.g, "probe.bias", 1, bdim);
    float *Wf = m.g.tensors[tw].data, *bf = m.g.tensors[tb].data;
    for (int k = 0; k < 10; k++) {
        double bb_ = bd[k];
        for (int j = 0; j < C; j++) {
            Wf[(size_t)k * C + j] = (float)(Wd[(size_t)k * C + j] / sd[j]);
            bb_ -= (double)Wd[(size_t)k * C + j] * mu[j] / sd[j];
        }
        bf[k] = (float)bb_;
    }
    int lin = fr_graph_add_node(&m.g, "probe", FR_OP_LINEAR, 1, &gap);
    m.g.nodes[lin].n_param = 2;
    m.g.nodes[lin].param[0] = tw;
    m.g.nodes[lin].param[1] = tb;
    double acc_tr = probe_acc(ftr, ytr, n_train, C, Wf, bf), acc_ev = probe_acc(fev, ed->labels, n_eval, C, Wf, bf);
    free(Z); free(Wd); free(mu); free(sd); free(ytr);

    fr_meta *mt = &m.meta;
    snprintf(mt->name, sizeof mt->name, "mobilenetv2-imagenet");
    mt->n_classes = 10;
    mt->class_names = fr_xcalloc(10, sizeof(char *));
    for (int k = 0; k < 10; k++) mt->class_names[k] = fr_xstrdup(fmnist_classes[k]);
    mt->train_seed = seed;
    mt->train_threads = 0;
    snprintf(mt->provenance, sizeof mt->provenance,
             "MobileNetV2-1.0 ImageNet backbone from npm nsfwjs@4.3.0 (MIT; dist/models/mobilenet_v2, Keras 2.2.4, "
             "weights stored uint8-affine per tensor, i.e. already on a 256-level grid), imported with frtui's tfjs "
             "importer and cut at the global average pool (1280-d); head = 10-class linear probe trained by frtui on "
             "Fashion-MNIST features (%d train images, seed %llu, full-batch Adam %d steps, lr %g, L2 %g); input NCHW "
             "3x%dx%d in [0,1]: 28x28 grey -> nearest-neighbour upscale (8x8 pixel blocks) -> 3 channels -> /255; calib = %d further train images, eval = first %d test images. Probe accuracy (fp32): "
             "train %.2f%%, eval %.2f%%",
             n_train, (unsigned long long)seed, PROBE_STEPS, PROBE_LR, PROBE_L2, H, W, n_calib, n_eval,
             100 * acc_tr, 100 * acc_ev);
    fprintf(stderr, "probe: accuracy train %.2f%% eval %.2f%% (%d eval images)\n", 100 * acc_tr, 100 * acc_ev, n_eval);
    if ((rc = fr_graph_validate(&m.g, mt, out_path, e)) == FR_OK) rc = fr_frm_write(out_path, &m, 0, e);
out:
    fr_exec_free(x);
    free(perm); free(eidx); free(ftr); free(fev);
    fr_dataset_free(&tr); fr_dataset_free(&te);
    free(ltr); free(lte);
    fr_model_free(&m);
    return rc;
}
