/* test_fidelity.c — label-free fidelity metrics (src/engine/fidelity.c) and the photo-set crops
 * (src/tools/photoset.c).
 *   - known answers on hand-computed vectors: cosine, relative MSE, agreement, KL (logits and
 *     probabilities, zero vectors, ties);
 *   - the feature-node rule on the zoo architectures (GAP for the CNNs, the hidden layer of the MLP);
 *   - end to end: a network against itself gives cosine 1, relative MSE 0, agreement 1, KL 0 and
 *     equal accuracies; a perturbed layer gives less; the two-graph form agrees with the one-graph
 *     form;
 *   - photo crops: deterministic for a seed, different across seeds and splits, grey photos give
 *     three equal planes, a missing photo is an error naming the file.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/devtools.h"
#include "frtui/fidelity.h"
#include "frtui/frm.h"
#include "frtui/png.h"
#include "frtui/train.h"

static void test_known_answers(void)
{
    fr_fid_acc a;
    fr_fid_acc_init(&a);
    /* Sample A: identical features, logits [0,0] vs [0, ln 3]: p = (.5,.5), q = (.25,.75),
     * KL = .5 ln 2 + .5 ln(2/3) = .5 ln(4/3); argmax 0 (first of a tie) vs 1: disagree. */
    float fa[2] = {3, 4}, ya[2] = {0, 0}, yqa[2] = {0, (float)log(3.0)};
    fr_fid_add(&a, fa, fa, 2, ya, yqa, 2, 0);
    /* Sample B: orthogonal features (cos 0, |d|^2 = 2, |f|^2 = 1), same logits: agree, KL 0. */
    float fb[2] = {1, 0}, fqb[2] = {0, 1}, yb[2] = {2, 1};
    fr_fid_add(&a, fb, fqb, 2, yb, yb, 2, 0);
    fr_fidelity f;
    fr_fid_finish(&a, &f);
    FR_CHECK(f.n == 2);
    FR_CHECK_NEAR(f.cos, 0.5, 1e-12);
    FR_CHECK_NEAR(f.rel_mse, 2.0 / 26.0, 1e-12);
    FR_CHECK_NEAR(f.agree, 0.5, 1e-12);
    FR_CHECK_NEAR(f.kl, 0.5 * log(4.0 / 3.0) / 2, 1e-6);
    FR_CHECK(f.zero_q == 0);

    /* Probabilities given directly (a graph ending in softmax): the same KL; p = 0 terms vanish. */
    fr_fid_acc_init(&a);
    float p[3] = {0.5f, 0.5f, 0}, q[3] = {0.25f, 0.75f, 0};
    float g1[3] = {1, 2, 2}, g2[3] = {2, 4, 4};   /* parallel: cos 1; |d|^2 = 9, |f|^2 = 9 */
    fr_fid_add(&a, g1, g2, 3, p, q, 3, 1);
    fr_fid_finish(&a, &f);
    FR_CHECK_NEAR(f.cos, 1.0, 1e-12);
    FR_CHECK_NEAR(f.rel_mse, 1.0, 1e-12);
    FR_CHECK_NEAR(f.kl, 0.5 * log(4.0 / 3.0), 1e-6);
    FR_CHECK(f.agree == 0);

    /* Zero vectors: both zero = the same (cos 1), one zero = cos 0; empty = NaN.  Only a
     * quantized feature that died (FP non-zero, quantized all zeros) counts in zero_q. */
    fr_fid_acc_init(&a);
    float z[2] = {0, 0}, o[2] = {1, 1};
    fr_fid_add(&a, z, z, 2, NULL, NULL, 0, 0);
    fr_fid_add(&a, z, o, 2, NULL, NULL, 0, 0);
    fr_fid_finish(&a, &f);
    FR_CHECK_NEAR(f.cos, 0.5, 1e-12);
    FR_CHECK(isinf(f.rel_mse));
    FR_CHECK(f.zero_q == 0);
    fr_fid_add(&a, o, z, 2, NULL, NULL, 0, 0);
    fr_fid_add(&a, o, z, 2, NULL, NULL, 0, 0);
    fr_fid_finish(&a, &f);
    FR_CHECK(f.zero_q == 2 && f.n == 4);
    char note[160];
    FR_CHECK(!strcmp(fr_fid_zero_note(note, sizeof note, 0, 4, 0), ""));
    FR_CHECK(strstr(fr_fid_zero_note(note, sizeof note, 2, 4, 0), "all zeros on 2 of 4 samples") != NULL);
    FR_CHECK(strstr(fr_fid_zero_note(note, sizeof note, 3, 9, 1), "on 3 of 9 tokens") != NULL);
    fr_fid_acc_init(&a);
    fr_fid_finish(&a, &f);
    FR_CHECK(f.n == 0 && isnan(f.cos));
}

static void zoo(fr_model *m, fr_zoo_arch arch)
{
    fr_model_init(m);
    FR_CHECK(fr_zoo_build(m, arch, 7) == FR_OK);
    for (int c = 0; c < 4; c++) { m->meta.mean[c] = 0; m->meta.std[c] = 1; }
}

static void test_feature_rule(void)
{
    fr_model m;
    zoo(&m, FR_ZOO_RESNET);
    int k = fr_fid_feature_node(&m.g);
    FR_CHECKF(m.g.nodes[k].op == FR_OP_GAP, "resnet feature node %s", m.g.nodes[k].name);
    fr_model_free(&m);
    zoo(&m, FR_ZOO_MOBILENET);
    k = fr_fid_feature_node(&m.g);
    FR_CHECKF(m.g.nodes[k].op == FR_OP_GAP, "mobilenet feature node %s", m.g.nodes[k].name);
    fr_err e;
    fr_err_clear(&e);
    int n2;
    FR_CHECK(fr_fid_resolve(&m.g, m.g.nodes[3].name, &n2, &e) == FR_OK && n2 == 3);
    FR_CHECK(fr_fid_resolve(&m.g, "no-such-node", &n2, &e) == FR_EINPUT && strstr(e.msg, "no-such-node"));
    fr_model_free(&m);
    /* The MLP is all head: the input of its last fully connected layer (the 128 hidden units). */
    zoo(&m, FR_ZOO_MLP);
    k = fr_fid_feature_node(&m.g);
    const fr_node *n = &m.g.nodes[k];
    FR_CHECKF(n->op != FR_OP_INPUT && n->c * n->h * n->w == 128, "mlp feature node %s (%d)", n->name, n->c * n->h * n->w);
    fr_model_free(&m);
}

static void random_eval(fr_model *m, int n)
{
    fr_rng r;
    fr_rng_seed(&r, 11);
    size_t per = (size_t)m->meta.in_c * m->meta.in_h * m->meta.in_w;
    m->eval = (fr_dataset){.n = n, .c = m->meta.in_c, .h = m->meta.in_h, .w = m->meta.in_w, .dtype = 0,
                           .scale = 1.0f / 255.0f};
    m->eval.u8 = fr_amalloc((size_t)n * per);
    m->eval.labels = fr_xmalloc((size_t)n * sizeof(int32_t));
    for (size_t i = 0; i < (size_t)n * per; i++) m->eval.u8[i] = (uint8_t)fr_rng_below(&r, 256);
    for (int i = 0; i < n; i++) m->eval.labels[i] = (int32_t)fr_rng_below(&r, 10);
}

static void test_fp_vs_fp(void)
{
    fr_model m;
    zoo(&m, FR_ZOO_RESNET);
    random_eval(&m, 37);   /* not a multiple of the batch: the last batch is partial */
    fr_err e;
    fr_err_clear(&e);
    fr_fidelity f;
    double afp = -2, aq = -2, acc = -2;
    int node = fr_fid_feature_node(&m.g);
    FR_CHECK(fr_eval_fidelity(&m.g, &m.meta, &m.eval, NULL, NULL, 8, 0, node, &f, &afp, &aq, &e) == FR_OK);
    FR_CHECK(f.n == 37 && f.feat_node == node && f.feat_dim > 1);
    FR_CHECK_NEAR(f.cos, 1.0, 1e-12);
    FR_CHECK(f.rel_mse == 0);
    FR_CHECK(f.agree == 1);
    FR_CHECK(f.kl == 0);
    FR_CHECK(fr_eval_accuracy(&m, NULL, NULL, 8, &acc, &e) == FR_OK);
    FR_CHECK(afp == acc && aq == acc);

    /* A perturbed layer: less than perfect, and the two-graph form agrees with the one-graph form. */
    int layer = -1;
    for (int i = 1; i < m.g.n_nodes && layer < 0; i++)
        if (m.g.nodes[i].op == FR_OP_CONV) layer = i;
    const fr_tensor *t = &m.g.tensors[m.g.nodes[layer].param[0]];
    int64_t nw = fr_tensor_numel(t);
    float *w = fr_xmalloc((size_t)nw * sizeof(float));
    for (int64_t i = 0; i < nw; i++) w[i] = t->data[i] * (i % 3 == 0 ? -1.0f : 1.3f);
    const float **ws = fr_xcalloc((size_t)m.g.n_nodes, sizeof *ws);
    ws[layer] = w;
    fr_fidelity f2, f3;
    FR_CHECK(fr_eval_fidelity(&m.g, &m.meta, &m.eval, ws, NULL, 8, 0, node, &f2, NULL, NULL, &e) == FR_OK);
    FR_CHECKF(f2.cos < 0.999 && f2.cos > -1 && f2.rel_mse > 0 && f2.kl > 0, "cos %g rel %g kl %g", f2.cos, f2.rel_mse, f2.kl);
    fr_model q;
    zoo(&q, FR_ZOO_RESNET);   /* same seed: the same network, as a second graph */
    FR_CHECK(fr_eval_fidelity2(&m.g, node, &q.g, node, ws, NULL, &m.meta, &m.eval, 8, 0, &f3, NULL, NULL, &e) == FR_OK);
    FR_CHECK(f3.cos == f2.cos && f3.rel_mse == f2.rel_mse && f3.agree == f2.agree && f3.kl == f2.kl);
    /* max_samples limits the count. */
    FR_CHECK(fr_eval_fidelity(&m.g, &m.meta, &m.eval, ws, NULL, 8, 10, node, &f3, NULL, NULL, &e) == FR_OK && f3.n == 10);
    /* Without labels: fidelity still, accuracies -1. */
    free(m.eval.labels);
    m.eval.labels = NULL;
    FR_CHECK(fr_eval_fidelity(&m.g, &m.meta, &m.eval, ws, NULL, 8, 0, node, &f3, &afp, &aq, &e) == FR_OK);
    FR_CHECK(afp == -1 && aq == -1 && f3.cos == f2.cos);
    free(ws);
    free(w);
    fr_model_free(&q);
    fr_model_free(&m);
}

/* A bundle whose eval set has no labels writes and reads back (it used to be refused). */
static void test_frm_eval_without_labels(void)
{
    fr_model m, r;
    zoo(&m, FR_ZOO_MLP);
    random_eval(&m, 5);
    free(m.eval.labels);
    m.eval.labels = NULL;
    m.calib = m.eval;
    m.calib.u8 = fr_amalloc((size_t)5 * 784);
    memcpy(m.calib.u8, m.eval.u8, (size_t)5 * 784);
    char path[] = "/tmp/fr_fid_nolabels_XXXXXX";
    int fd = mkstemp(path);
    FR_CHECK(fd >= 0);
    close(fd);
    fr_err e;
    fr_err_clear(&e);
    FR_CHECKF(fr_frm_write(path, &m, 1, &e) == FR_OK, "%s", e.msg);
    fr_model_init(&r);
    FR_CHECKF(fr_frm_read(path, &r, &e) == FR_OK, "%s", e.msg);
    FR_CHECK(r.eval.n == 5 && r.eval.labels == NULL && memcmp(r.eval.u8, m.eval.u8, (size_t)5 * 784) == 0);
    unlink(path);
    fr_model_free(&r);
    fr_model_free(&m);
}

static void test_photo_crops(void)
{
    char dir[] = "/tmp/fr_photo_XXXXXX";
    FR_CHECK(mkdtemp(dir) != NULL);
    fr_err e;
    fr_err_clear(&e);
    /* A colour gradient and a grey one (written as RGB with equal channels). */
    int W = 60, H = 40;
    uint8_t *rgb = fr_xmalloc((size_t)W * H * 3), *grey = fr_xmalloc((size_t)W * H * 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + 3 * ((size_t)y * W + x), *g = grey + 3 * ((size_t)y * W + x);
            p[0] = (uint8_t)(4 * x); p[1] = (uint8_t)(6 * y); p[2] = (uint8_t)(x * y % 251);
            g[0] = g[1] = g[2] = (uint8_t)((x * 7 + y * 3) % 256);
        }
    char p1[64], p2[64];
    snprintf(p1, sizeof p1, "%s/c.png", dir);
    snprintf(p2, sizeof p2, "%s/g.png", dir);
    FR_CHECK(fr_png_write(p1, rgb, W, H, &e) == FR_OK && fr_png_write(p2, grey, W, H, &e) == FR_OK);
    const char *names[2] = {"c.png", "g.png"};
    int n = 6, S = 16;
    size_t per = (size_t)3 * S * S;
    uint8_t *a = fr_xmalloc(n * per), *b = fr_xmalloc(n * per), *c = fr_xmalloc(n * per);
    FR_CHECK(fr_photo_crops(dir, names, 2, FR_PHOTO_CALIB, n, S, 5, a, &e) == FR_OK);
    FR_CHECK(fr_photo_crops(dir, names, 2, FR_PHOTO_CALIB, n, S, 5, b, &e) == FR_OK);
    FR_CHECK(memcmp(a, b, n * per) == 0);
    FR_CHECK(fr_photo_crops(dir, names, 2, FR_PHOTO_CALIB, n, S, 6, c, &e) == FR_OK);
    FR_CHECK(memcmp(a, c, n * per) != 0);
    FR_CHECK(fr_photo_crops(dir, names, 2, FR_PHOTO_EVAL, n, S, 5, c, &e) == FR_OK);
    FR_CHECK(memcmp(a, c, n * per) != 0);
    /* Odd crops come from the grey photo: three equal planes; even ones from the colour one. */
    size_t pl = (size_t)S * S;
    FR_CHECK(memcmp(a + per, a + per + pl, pl) == 0 && memcmp(a + per, a + per + 2 * pl, pl) == 0);
    FR_CHECK(memcmp(a, a + pl, pl) != 0);
    /* A missing photo names the file. */
    const char *bad[1] = {"missing.png"};
    FR_CHECK(fr_photo_crops(dir, bad, 1, FR_PHOTO_CALIB, 1, S, 5, a, &e) != FR_OK && strstr(e.msg, "missing.png"));
    /* The fixed splits: no photo in both lists of a set; the wide set is photographs only
     * (no skimage micrograph) and holds every skimage photograph but those two. */
    for (int set = FR_PHOTO_SKIMAGE; set <= FR_PHOTO_WIDE; set++) {
        int nc, ne;
        const char *const *lc = fr_photo_split(set, FR_PHOTO_CALIB, &nc), *const *le = fr_photo_split(set, FR_PHOTO_EVAL, &ne);
        int shared = 0, micro = 0;
        for (int i = 0; i < nc; i++) {
            micro += strstr(lc[i], "/ihc.png") != NULL || strstr(lc[i], "/cell.png") != NULL;
            for (int j = 0; j < ne; j++) shared += strcmp(lc[i], le[j]) == 0;
        }
        FR_CHECKF(nc >= 4 && ne >= 2 && shared == 0, "set %d: %d calib, %d eval, %d shared", set, nc, ne, shared);
        FR_CHECK(set == FR_PHOTO_SKIMAGE ? nc == 7 && ne == 4 && micro == 2 : nc == 21 && ne == 12 && micro == 0);
    }
    unlink(p1);
    unlink(p2);
    rmdir(dir);
    free(rgb); free(grey); free(a); free(b); free(c);
}

int main(void)
{
    FR_RUN(test_known_answers);
    FR_RUN(test_feature_rule);
    FR_RUN(test_fp_vs_fp);
    FR_RUN(test_frm_eval_without_labels);
    FR_RUN(test_photo_crops);
    return FR_REPORT();
}
