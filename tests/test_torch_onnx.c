/* test_torch_onnx.c — models exported by PyTorch's torch.onnx.export import and run like torch.
 *
 *   test_torch_onnx [DIR]     fixtures in DIR (default tests/torch), listed in DIR/fixtures.txt
 *
 * The fixtures (tests/torch/README.md) were made by tests/tools/torch_fixture.py with torch 1.13:
 * two small Fashion-MNIST CNNs (ResNet-ish; MobileNetV2-ish with SE, Hardsigmoid, Hardswish,
 * ReLU6) exported at opsets 9, 13 and 17, with and without constant folding, plus torch's logits
 * on 16 test images and torch's top-1 on 256.  For each fixture this test checks
 *   - import succeeds and leaves no BatchNormalization node (folded into its conv);
 *   - the whole-graph forward on the 16 images matches torch's logits within 1e-4 relative;
 *   - fr_eval_accuracy on the 256 images equals torch's count of correct answers;
 *   - fr_onnx_rewrite_weights with 4-bit fake-quantised weights keeps the file size and touches
 *     only weight payload bytes, and the rewritten file re-imports to the same function as the
 *     original graph run with those weights (the path `frtui export --onnx` takes).
 * torch is not needed: everything compared against is in the committed files.  Without the
 * fixture folder the test prints a note and passes with 0 checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/dataio.h"
#include "frtui/exec.h"
#include "frtui/onnx.h"

#define MAX_FIX 32

typedef struct fixture {
    char onnx[128], logits[128];
    int correct, opset, fold, keep;
} fixture;

static const char *dir = "tests/torch";
static float g_mean = 0, g_std = 1;
static int n_eval, n_logits, n_fix;
static fixture fix[MAX_FIX];
static fr_dataset images;       /* uint8 N,1,28,28, scale 1/255 */
static int32_t *labels;
static int n_labels;
static double worst_rel;        /* largest relative logit error over all fixtures */

static int load_manifest(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fixtures.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        fixture x;
        if (line[0] == '#') continue;
        if (sscanf(line, "mean %f", &g_mean) == 1 || sscanf(line, "std %f", &g_std) == 1 ||
            sscanf(line, "n_eval %d", &n_eval) == 1 || sscanf(line, "n_logits %d", &n_logits) == 1)
            continue;
        if (n_fix < MAX_FIX && sscanf(line, "model %127s %127s %d %d %d %d", x.onnx, x.logits, &x.correct, &x.opset,
                                      &x.fold, &x.keep) == 6)
            fix[n_fix++] = x;
    }
    fclose(f);
    return 0;
}

static void set_meta(fr_model *m)
{
    m->meta.mean[0] = g_mean;
    m->meta.std[0] = g_std;
}

/* Whole-graph forward of the first nb images; returns malloc'd logits (nb x *per). */
static float *forward(const fr_model *m, const float *const *weights, int nb, int *per)
{
    fr_err e;
    fr_err_clear(&e);
    fr_exec *ex = fr_exec_new((fr_graph *)&m->g, 0, m->g.n_nodes - 1, nb, FR_EXEC_INFER, &e);
    if (!ex) { printf("exec: %s\n", e.msg); return NULL; }
    size_t in = (size_t)images.c * images.h * images.w;
    float *x = fr_xmalloc(in * (size_t)nb * sizeof(float));
    for (int i = 0; i < nb; i++) fr_dataset_sample(&images, &m->meta, i, x + (size_t)i * in);
    if (weights)
        for (int k = 0; k < m->g.n_nodes; k++)
            if (weights[k]) fr_exec_set_weight(ex, k, weights[k]);
    fr_exec_bind_input(ex, 0, x);
    fr_exec_forward(ex, nb);
    const fr_node *o = &m->g.nodes[m->g.n_nodes - 1];
    *per = o->c * o->h * o->w;
    float *y = fr_xmalloc((size_t)*per * (size_t)nb * sizeof(float));
    memcpy(y, fr_exec_output(ex), (size_t)*per * (size_t)nb * sizeof(float));
    fr_exec_free(ex);
    free(x);
    return y;
}

static int count_ops(const fr_model *m, fr_op op)
{
    int n = 0;
    for (int k = 0; k < m->g.n_nodes; k++) n += m->g.nodes[k].op == op;
    return n;
}

/* 4-bit symmetric per-tensor round-to-nearest: a stand-in for a quantizer's dequantised Ŵ. */
static float *fake_quant(const fr_tensor *t)
{
    int64_t n = fr_tensor_numel(t);
    float mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(t->data[i]));
    float s = mx > 0 ? mx / 7.0f : 1.0f;
    float *q = fr_xmalloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) q[i] = s * fminf(7.0f, fmaxf(-8.0f, nearbyintf(t->data[i] / s)));
    return q;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = fr_xmalloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

/* Rewrites every conv/linear weight with a fake-quantised copy, re-imports, compares. */
static void check_rewrite(const fixture *fx, const char *path, const fr_model *m, int per)
{
    int nn = m->g.n_nodes, nw = 0;
    const char **names = fr_xmalloc((size_t)nn * sizeof *names);
    const float **data = fr_xmalloc((size_t)nn * sizeof *data);
    int64_t *numel = fr_xmalloc((size_t)nn * sizeof *numel);
    float **over = calloc((size_t)nn, sizeof *over);
    int64_t total = 0;
    for (int k = 0; k < nn; k++) {
        const fr_node *n = &m->g.nodes[k];
        if (!fr_node_is_layer(n)) continue;
        const fr_tensor *t = &m->g.tensors[n->param[0]];
        over[k] = fake_quant(t);
        names[nw] = t->name;
        data[nw] = over[k];
        numel[nw] = fr_tensor_numel(t);
        total += numel[nw];
        nw++;
    }
    char out[256];
    snprintf(out, sizeof out, "%s/frtui_torch_rw.%d.onnx", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    fr_err e;
    fr_err_clear(&e);
    int rc = fr_onnx_rewrite_weights(path, out, names, data, numel, nw, &e);
    FR_CHECKF(rc == FR_OK, "%s: rewrite: %s", fx->onnx, e.msg);
    if (rc == FR_OK) {
        size_t na = 0, nb = 0, diff = 0;
        unsigned char *a = slurp(path, &na), *b = slurp(out, &nb);
        FR_CHECKF(a && b && na == nb, "%s: rewritten size %zu != %zu", fx->onnx, nb, na);
        if (a && b && na == nb)
            for (size_t i = 0; i < na; i++) diff += a[i] != b[i];
        /* Only float payloads may change: at most 4 bytes per rewritten weight. */
        FR_CHECKF(diff > 0 && diff <= (size_t)total * 4, "%s: %zu bytes changed for %lld weights", fx->onnx, diff,
                  (long long)total);
        free(a);
        free(b);

        /* The rewritten model (still with BN nodes in it) must compute what the imported graph
         * computes with the fake-quantised weights swapped in. */
        fr_model q;
        fr_model_init(&q);
        rc = fr_onnx_import(out, &q, &e);
        FR_CHECKF(rc == FR_OK, "%s: re-import: %s", fx->onnx, e.msg);
        if (rc == FR_OK) {
            set_meta(&q);
            int pa = 0, pb = 0;
            float *ya = forward(m, (const float *const *)over, n_logits, &pa);
            float *yb = forward(&q, NULL, n_logits, &pb);
            FR_CHECK(ya && yb && pa == per && pb == per);
            double worst = 0;
            if (ya && yb && pa == pb)
                for (int i = 0; i < n_logits * per; i++) {
                    double d = fabs((double)ya[i] - yb[i]) / fmax(1.0, fabs((double)ya[i]));
                    if (d > worst) worst = d;
                }
            FR_CHECKF(worst <= 1e-4, "%s: re-imported fake-quant model differs by %.3g (relative)", fx->onnx, worst);
            free(ya);
            free(yb);
        }
        fr_model_free(&q);
    }
    unlink(out);
    for (int k = 0; k < nn; k++) free(over[k]);
    free(over);
    free(names);
    free(data);
    free(numel);
}

static void check_fixture(const fixture *fx)
{
    char path[512], lpath[512];
    if (snprintf(path, sizeof path, "%s/%s", dir, fx->onnx) >= (int)sizeof path ||
        snprintf(lpath, sizeof lpath, "%s/%s", dir, fx->logits) >= (int)sizeof lpath) {
        FR_CHECKF(0, "%s: fixture path too long", dir);
        return;
    }
    fr_err e;
    fr_err_clear(&e);
    fr_model m;
    fr_model_init(&m);
    int rc = fr_onnx_import(path, &m, &e);
    FR_CHECKF(rc == FR_OK, "%s (opset %d, folding %d): import: %s", fx->onnx, fx->opset, fx->fold, e.msg);
    if (rc) { fr_model_free(&m); return; }
    set_meta(&m);
    FR_CHECKF(m.meta.in_c == 1 && m.meta.in_h == 28 && m.meta.in_w == 28, "%s: input %dx%dx%d", fx->onnx, m.meta.in_c,
              m.meta.in_h, m.meta.in_w);
    FR_CHECKF(count_ops(&m, FR_OP_BN) == 0, "%s: %d BatchNormalization nodes left unfolded", fx->onnx,
              count_ops(&m, FR_OP_BN));

    fr_npy ref;
    rc = fr_npy_read(lpath, &ref, &e);
    FR_CHECKF(rc == FR_OK, "%s", e.msg);
    if (rc) { fr_model_free(&m); return; }
    FR_CHECK(ref.dtype == FR_NPY_F32 && ref.ndim == 2 && ref.shape[0] == n_logits);
    int per = 0;
    float *y = forward(&m, NULL, n_logits, &per);
    FR_CHECK(y != NULL && per == ref.shape[1] && per == m.meta.n_classes);
    if (y && per == ref.shape[1]) {
        const float *r = ref.data;
        double worst = 0;
        int agree = 0;
        for (int i = 0; i < n_logits; i++) {
            int at = 0, ar = 0;
            for (int c = 0; c < per; c++) {
                double a = y[i * per + c], b = r[i * per + c];
                double d = fabs(a - b) / fmax(1.0, fmax(fabs(a), fabs(b)));
                if (d > worst) worst = d;
                if (y[i * per + c] > y[i * per + at]) at = c;
                if (r[i * per + c] > r[i * per + ar]) ar = c;
            }
            agree += at == ar;
        }
        if (worst > worst_rel) worst_rel = worst;
        FR_CHECKF(worst <= 1e-4, "%s: logits differ from torch by %.3g (relative)", fx->onnx, worst);
        FR_CHECKF(agree == n_logits, "%s: argmax agrees with torch on %d/%d images", fx->onnx, agree, n_logits);
        printf("  %-24s opset %2d fold %d: %3d nodes, max rel logit error %.2e", fx->onnx, fx->opset, fx->fold,
               m.g.n_nodes, worst);
    }
    free(y);
    fr_npy_free(&ref);

    /* Top-1 on the evaluation images through the same path `frtui eval` takes. */
    snprintf(lpath, sizeof lpath, "%s/images.npy", dir);
    FR_CHECKF(fr_npy_read_dataset(lpath, &m.eval, &e) == FR_OK, "%s", e.msg);
    if (m.eval.n > 0) {
        m.eval.labels = fr_xmalloc((size_t)m.eval.n * sizeof(int32_t));
        memcpy(m.eval.labels, labels, (size_t)m.eval.n * sizeof(int32_t));
        double acc = -1;
        rc = fr_eval_accuracy(&m, NULL, NULL, 64, &acc, &e);
        FR_CHECKF(rc == FR_OK, "%s: eval: %s", fx->onnx, e.msg);
        int correct = (int)lround(acc * m.eval.n);
        FR_CHECKF(correct == fx->correct, "%s: frtui top-1 %d/%d, torch %d/%d", fx->onnx, correct, m.eval.n,
                  fx->correct, m.eval.n);
        printf(", top-1 %d/%d (torch %d)\n", correct, m.eval.n, fx->correct);
    }

    check_rewrite(fx, path, &m, per);
    fr_model_free(&m);
}

static void test_torch_fixtures(void)
{
    FR_CHECK(n_fix >= 2);
    FR_CHECK(g_std > 0 && n_eval > 0 && n_logits > 0);
    FR_CHECK(images.n == n_eval && n_labels == n_eval);
    if (images.n != n_eval || n_labels != n_eval) return;
    int opsets[3] = {0};
    for (int i = 0; i < n_fix; i++) {
        check_fixture(&fix[i]);
        opsets[0] |= fix[i].opset == 9;
        opsets[1] |= fix[i].opset == 13;
        opsets[2] |= fix[i].opset == 17;
    }
    FR_CHECK(opsets[0] && opsets[1] && opsets[2]);
    printf("  worst relative logit error vs torch over %d fixtures: %.2e\n", n_fix, worst_rel);
}

int main(int argc, char **argv)
{
    if (argc > 1) dir = argv[1];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("test_torch_onnx: %s is missing; skipping (regenerate with tests/tools/torch_fixture.py)\n", dir);
        return FR_REPORT();
    }
    if (load_manifest() != 0) {
        printf("not ok - %s/fixtures.txt is missing\n", dir);
        fr_t_fail++;
        return FR_REPORT();
    }
    fr_err e;
    fr_err_clear(&e);
    char p[512];
    snprintf(p, sizeof p, "%s/images.npy", dir);
    FR_CHECKF(fr_npy_read_dataset(p, &images, &e) == FR_OK, "%s", e.msg);
    snprintf(p, sizeof p, "%s/labels.npy", dir);
    FR_CHECKF(fr_npy_read_labels(p, &labels, &n_labels, &e) == FR_OK, "%s", e.msg);
    FR_RUN(test_torch_fixtures);
    fr_dataset_free(&images);
    free(labels);
    return FR_REPORT();
}
