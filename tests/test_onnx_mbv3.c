/* test_onnx_mbv3.c — a MobileNetV3-style network exported by torch with symbolic batch, height
 * and width imports as is and computes what torch computed (issue 15 items 4 and 6).
 *
 *   test_onnx_mbv3 [DIR]     fixtures in DIR (default tests/torch/mbv3), listed in DIR/fixtures.txt
 *
 * The fixtures were written once by tests/tools/torch_mbv3_fixture.py (torch 1.13, random
 * seeded weights): HardSwish (a node at opset 17, HardSigmoid+Mul at 10 and 13), SE gates inside
 * inverted residuals (one pooled by ReduceMean over H and W, as timm writes SE), ReLU6 as Relu
 * then Clip(max) (attribute form at opset 10, inputs at 13/17) and x.reshape(x.shape[0], -1) (Shape -> Gather -> Unsqueeze -> Concat -> Reshape), with
 * torch's logits at 32x32 and 40x48 inputs.  For each opset and each size this test checks
 *   - without a shape, import fails with one message naming the symbolic dim ('height');
 *   - with the size as the shape (as `--calib` data or `--input-shape` give it), the forward
 *     matches torch's logits within 1e-4 relative;
 *   - the Relu+Clip pairs are fused (no clamp activation feeds another);
 *   - BRECQ units: each of the three inverted residuals is one block unit, the SE convs inside
 *     (7 units; the split rule gives 10);
 *   - a strict --input-shape that contradicts a static dim, or has the wrong rank, is refused.
 * torch is not needed at test time.  Without the fixture folder the test passes with 0 checks.
 * Given a DIR (same fixtures.txt format: "model FILE OPSET", "size H W INPUT.npy LOGITS.npy"),
 * only the import and forward checks run: that is how full torchvision MobileNetV2/V3 exports
 * were checked (too large to commit). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fr_test.h"
#include "frtui/dataio.h"
#include "frtui/exec.h"
#include "frtui/onnx.h"
#include "frtui/partition.h"

static const char *dir = "tests/torch/mbv3";
static int own_dir = 1;   /* 0: a DIR given on the command line (any export; structure not checked) */

typedef struct { char onnx[128]; int opset; } model_fx;
typedef struct { int h, w; char input[128], logits[128]; } size_fx;
static model_fx models[8];
static size_fx sizes[8];
static int n_models, n_sizes;

static int read_list(void)
{
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/fixtures.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        if (n_models < 8 && sscanf(line, "model %127s %d", models[n_models].onnx, &models[n_models].opset) == 2) n_models++;
        else if (n_sizes < 8 && sscanf(line, "size %d %d %127s %127s", &sizes[n_sizes].h, &sizes[n_sizes].w,
                                       sizes[n_sizes].input, sizes[n_sizes].logits) == 4)
            n_sizes++;
    }
    fclose(f);
    return 0;
}

static int is_clamp(fr_op op) { return op == FR_OP_RELU || op == FR_OP_RELU6 || op == FR_OP_CLIP; }

static void check_partition(const fr_model *m, const char *name)
{
    fr_graph g;
    fr_graph_copy(&g, &m->g);
    fr_graph_fold_bn(&g);
    fr_partition p;
    fr_err e;
    FR_CHECKF(fr_partition_build(&g, 0, FR_UNITS_BRECQ, &p, &e) == FR_OK, "%s: %s", name, e.msg);
    int blocks = 0, big = 0;
    for (int k = 0; k < p.n; k++) {
        blocks += p.units[k].is_block;
        big += p.units[k].n_layers >= 4;   /* the two SE blocks: 4 and 5 convs */
    }
    FR_CHECKF(p.n == 7 && blocks == 3 && big == 2, "%s: brecq %d units, %d blocks, %d with SE", name, p.n, blocks, big);
    fr_partition_free(&p);
    FR_CHECK(fr_partition_build(&g, 0, FR_UNITS_SPLIT, &p, &e) == FR_OK);
    FR_CHECKF(p.n == 10, "%s: split %d units", name, p.n);
    fr_partition_free(&p);
    fr_graph_free(&g);
}

static void check_model(const model_fx *mf)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, mf->onnx);
    fr_model m;
    fr_err e;
    /* No shape: refused, naming the dim. */
    int rc = fr_onnx_import(path, &m, &e);
    FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "'height'") && strstr(e.msg, "--input-shape") && strstr(e.msg, mf->onnx),
              "%s without a shape: rc %d, %s", mf->onnx, rc, e.msg);
    if (rc == FR_OK) fr_model_free(&m);
    for (int s = 0; s < n_sizes; s++) {
        const size_fx *sf = &sizes[s];
        /* Odd sizes use the strict --input-shape form with the batch, the others the data form. */
        fr_onnx_shape sh = s % 2 ? (fr_onnx_shape){.n = 4, .d = {1, 3, sf->h, sf->w}, .strict = 1}
                                 : (fr_onnx_shape){.n = 3, .d = {3, sf->h, sf->w}, .strict = 0};
        rc = fr_onnx_import_shaped(path, &sh, &m, &e);
        FR_CHECKF(rc == FR_OK, "%s at %dx%d: %s", mf->onnx, sf->h, sf->w, e.msg);
        if (rc) continue;
        FR_CHECK(m.meta.in_c == 3 && m.meta.in_h == sf->h && m.meta.in_w == sf->w);
        int pairs = 0;
        for (int i = 1; i < m.g.n_nodes; i++) {
            const fr_node *n = &m.g.nodes[i];
            pairs += is_clamp(n->op) && n->n_in == 1 && is_clamp(m.g.nodes[n->in[0]].op);
        }
        FR_CHECKF(pairs == 0, "%s: %d clamp pairs left unfused", mf->onnx, pairs);
        if (s == 0 && own_dir) check_partition(&m, mf->onnx);
        char ip[512], lp[512];
        snprintf(ip, sizeof ip, "%s/%s", dir, sf->input);
        snprintf(lp, sizeof lp, "%s/%s", dir, sf->logits);
        fr_npy in, ref;
        if (fr_npy_read(ip, &in, &e) || fr_npy_read(lp, &ref, &e)) {
            FR_CHECKF(0, "%s", e.msg);
            fr_model_free(&m);
            continue;
        }
        int nb = (int)in.shape[0];
        FR_CHECK(in.dtype == FR_NPY_F32 && in.ndim == 4 && in.shape[2] == sf->h && in.shape[3] == sf->w);
        int per = m.meta.n_classes;
        FR_CHECK(ref.dtype == FR_NPY_F32 && ref.ndim == 2 && ref.shape[0] == nb && ref.shape[1] == per);
        fr_exec *ex = fr_exec_new(&m.g, 0, m.g.n_nodes - 1, nb, FR_EXEC_INFER, &e);
        FR_CHECKF(ex != NULL, "%s", e.msg);
        if (ex && ref.shape[1] == per) {
            fr_exec_bind_input(ex, 0, in.data);
            fr_exec_forward(ex, nb);
            const float *y = fr_exec_output(ex), *r = ref.data;
            /* Relative to the largest logit of the sample (random weights give small logits). */
            double worst = 0;
            for (int i = 0; i < nb; i++) {
                double big = 1e-6;
                for (int c = 0; c < per; c++) big = fmax(big, fabs(r[i * per + c]));
                for (int c = 0; c < per; c++) worst = fmax(worst, fabs(y[i * per + c] - r[i * per + c]) / big);
            }
            FR_CHECKF(worst <= 1e-4, "%s at %dx%d: logits differ from torch by %.3g", mf->onnx, sf->h, sf->w, worst);
            printf("  %-16s opset %2d %dx%d: %2d nodes, max rel logit error %.2e\n", mf->onnx, mf->opset, sf->h, sf->w,
                   m.g.n_nodes, worst);
        }
        if (ex) fr_exec_free(ex);
        fr_npy_free(&in);
        fr_npy_free(&ref);
        fr_model_free(&m);
    }
    /* Strict shapes: a static dim that disagrees (channels), and a wrong rank. */
    fr_onnx_shape bad = {.n = 3, .d = {1, 32, 32}, .strict = 1};
    rc = fr_onnx_import_shaped(path, &bad, &m, &e);
    FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "fixes at 3"), "channel conflict: %s", e.msg);
    if (rc == FR_OK) fr_model_free(&m);
    bad = (fr_onnx_shape){.n = 2, .d = {32, 32}, .strict = 1};
    rc = fr_onnx_import_shaped(path, &bad, &m, &e);
    FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "rank 4"), "rank: %s", e.msg);
    if (rc == FR_OK) fr_model_free(&m);
}

static void test_mbv3_fixtures(void)
{
    if (read_list()) {
        printf("test_onnx_mbv3: %s/fixtures.txt absent; skipping\n", dir);
        return;
    }
    FR_CHECK(n_models >= 1 && n_sizes >= 1 && (!own_dir || (n_models == 3 && n_sizes == 2)));
    for (int k = 0; k < n_models; k++) check_model(&models[k]);
}

static void test_parse_shape(void)
{
    fr_onnx_shape s;
    fr_err e;
    FR_CHECK(fr_onnx_parse_shape("1x3x224x224", &s, &e) == FR_OK && s.n == 4 && s.d[3] == 224 && s.strict);
    FR_CHECK(fr_onnx_parse_shape("3,224,224", &s, &e) == FR_OK && s.n == 3 && s.d[0] == 3);
    FR_CHECK(fr_onnx_parse_shape("784", &s, &e) == FR_OK && s.n == 1 && s.d[0] == 784);
    static const char *const bad[] = {"", "x", "3x", "3xx4", "0x224x224", "-3x4", "1x2x3x4x5", "3x224x224 ", "3.5x2",
                                      "99999999999999999999", "3x224xW"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        FR_CHECKF(fr_onnx_parse_shape(bad[k], &s, &e) == FR_EINPUT && strstr(e.msg, "--input-shape"), "'%s' accepted",
                  bad[k]);
}

int main(int argc, char **argv)
{
    if (argc > 1) dir = argv[1], own_dir = 0;
    FR_RUN(test_parse_shape);
    FR_RUN(test_mbv3_fixtures);
    return FR_REPORT();
}
