/* test_engine.c — graph executor, BN folding, partitioning, the reconstruction engine and the
 * worker protocol, on tiny models built here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fr_test.h"
#include "model_builder.h"
#include "frtui/par.h"
#include "frtui/conv.h"
#include "frtui/exec.h"
#include "frtui/partition.h"
#include "frtui/recon.h"
#include "frtui/train.h"
#include "frtui/worker.h"

/* ---- a tiny residual CNN: conv-bn-relu, BasicBlock, depthwise IR block, gap, linear ---- */

static int add_conv(fr_model *m, fr_rng *r, const char *name, int in, int o, int k, int stride, int groups, int bias)
{
    return fr_tb_conv(m, r, name, in, o, k, stride, groups, 0.5f, bias ? 0.1f : -1);
}

static int add_op(fr_model *m, const char *name, fr_op op, int n_in, int a, int b)
{
    int n = fr_tb_node(m, name, op, a, n_in == 2 ? b : -1);
    fr_tb_infer(m);
    return n;
}

/* Builds the model with `ncal` random calibration images and `neval` labelled eval images
 * whose labels are the FP model's own predictions (so FP accuracy is 100%). */
static void tiny_model(fr_model *m, uint64_t seed, int ncal, int neval)
{
    fr_rng r;
    fr_rng_seed(&r, seed);
    fr_tb_begin(m, "tiny", "input", 2, 8, 8);
    fr_tb_infer(m);
    int x = 0;
    x = add_conv(m, &r, "stem", x, 8, 3, 1, 1, 0);
    x = fr_tb_bn(m, &r, "stem.bn", x);
    x = add_op(m, "stem.relu", FR_OP_RELU, 1, x, 0);
    int s = x;
    x = add_conv(m, &r, "b1.conv1", x, 8, 3, 1, 1, 1);
    x = add_op(m, "b1.relu1", FR_OP_RELU, 1, x, 0);
    x = add_conv(m, &r, "b1.conv2", x, 8, 3, 1, 1, 1);
    x = add_op(m, "b1.add", FR_OP_ADD, 2, x, s);
    x = add_op(m, "b1.relu", FR_OP_RELU, 1, x, 0);
    int s2 = x;
    x = add_conv(m, &r, "ir.expand", x, 16, 1, 1, 1, 1);
    x = add_op(m, "ir.relu6a", FR_OP_RELU6, 1, x, 0);
    x = add_conv(m, &r, "ir.dw", x, 16, 3, 1, 16, 1);
    x = add_op(m, "ir.relu6b", FR_OP_RELU6, 1, x, 0);
    x = add_conv(m, &r, "ir.project", x, 8, 1, 1, 1, 1);
    x = add_op(m, "ir.add", FR_OP_ADD, 2, x, s2);
    x = add_op(m, "gap", FR_OP_GAP, 1, x, 0);
    fr_graph *g = &m->g;
    fr_tb_linear(m, &r, "fc.w", "fc.b", "fc", x, 8, 4, 0.5f, 1);
    fr_tb_infer(m);
    m->meta.n_classes = 4;
    m->calib = (fr_dataset){.n = ncal, .c = 2, .h = 8, .w = 8, .dtype = 1, .scale = 1, .offset = 0};
    m->calib.f32 = fr_amalloc((size_t)ncal * 128 * sizeof(float));
    for (int i = 0; i < ncal * 128; i++) m->calib.f32[i] = fr_rng_normal(&r);
    if (neval) {
        m->eval = (fr_dataset){.n = neval, .c = 2, .h = 8, .w = 8, .dtype = 1, .scale = 1, .offset = 0};
        m->eval.f32 = fr_amalloc((size_t)neval * 128 * sizeof(float));
        m->eval.labels = fr_xcalloc((size_t)neval, sizeof(int32_t));
        for (int i = 0; i < neval * 128; i++) m->eval.f32[i] = fr_rng_normal(&r);
        fr_exec *ex = fr_exec_new(g, 0, g->n_nodes - 1, neval, FR_EXEC_INFER, NULL);
        fr_exec_bind_input(ex, 0, m->eval.f32);
        fr_exec_forward(ex, neval);
        const float *y = fr_exec_output(ex);
        for (int i = 0; i < neval; i++) {
            int best = 0;
            for (int k = 1; k < 4; k++) if (y[i * 4 + k] > y[i * 4 + best]) best = k;
            m->eval.labels[i] = best;
        }
        fr_exec_free(ex);
    }
}

/* ---- executor ---------------------------------------------------------------------------- */

static double loss_of(fr_exec *x, int nb, const float *R, size_t n)
{
    fr_exec_forward(x, nb);
    const float *y = fr_exec_output(x);
    double s = 0;
    for (size_t k = 0; k < n; k++) s += (double)y[k] * R[k];
    return s;
}

/* Central difference of the loss w.r.t. *p.  ReLU/ReLU6 kinks make a finite difference wrong
 * when a perturbation crosses one, so two step sizes are compared: when they disagree a kink
 * lies inside and the entry is skipped (NaN) and counted; the test requires few skips. */
static double fd_check(fr_exec *x, int nb, const float *R, size_t out_n, float *p, int *skipped)
{
    double fd[2];
    const float hs[2] = {2e-3f, 1e-3f};
    float keep = *p;
    for (int j = 0; j < 2; j++) {
        *p = keep + hs[j];
        double lp = loss_of(x, nb, R, out_n);
        *p = keep - hs[j];
        double lm = loss_of(x, nb, R, out_n);
        *p = keep;
        fd[j] = (lp - lm) / (2.0 * hs[j]);
    }
    if (fabs(fd[0] - fd[1]) > 1e-2 * fmax(1.0, fabs(fd[1]))) { (*skipped)++; return NAN; }
    return fd[1];
}

/* dL/dW of every conv/linear in the unit [first, last] of g, and dL/dinput, against central
 * differences. */
static void grad_check_range(fr_graph *g, int first, int last)
{
    FR_CHECK(first > 0 && last > first);
    if (!(first > 0 && last > first)) return;
    int nb = 3;
    fr_exec *x = fr_exec_new(g, first, last, nb, FR_EXEC_GRAD, NULL);
    FR_CHECK(x && fr_exec_n_inputs(x) == 1);
    int in_node = fr_exec_input_node(x, 0);
    size_t in_n = (size_t)nb * g->nodes[in_node].c * g->nodes[in_node].h * g->nodes[in_node].w;
    size_t out_n = (size_t)nb * g->nodes[last].c * g->nodes[last].h * g->nodes[last].w;
    float *in = fr_xmalloc(in_n * sizeof(float)), *R = fr_xmalloc(out_n * sizeof(float));
    fr_rng r;
    fr_rng_seed(&r, 11);
    /* Inputs are post-ReLU activations: keep them positive and away from kinks. */
    for (size_t k = 0; k < in_n; k++) in[k] = 0.2f + fr_rng_uniform(&r);
    for (size_t k = 0; k < out_n; k++) R[k] = fr_rng_normal(&r);
    fr_exec_bind_input(x, 0, in);
    loss_of(x, nb, R, out_n);
    fr_exec_backward(x, nb, R, 1);
    int checked = 0, bad = 0, skipped = 0;
    for (int i = first; i <= last; i++) {
        const fr_node *nd = &g->nodes[i];
        const int norm = nd->op == FR_OP_LAYERNORM || nd->op == FR_OP_RMSNORM;
        if (!fr_node_is_layer(nd) && !norm) continue;
        for (int pk = 0; pk < (norm ? nd->n_param : 1); pk++) {   /* a layer's weight; a norm's gamma, beta */
            if (nd->param[pk] < 0) continue;
            fr_tensor *W = &g->tensors[nd->param[pk]];
            const float *G = fr_exec_param_grad(x, nd->param[pk]);
            int64_t n = fr_tensor_numel(W);
            for (int64_t k = 0; k < n; k += 1 + n / 40) {
                double fd = fd_check(x, nb, R, out_n, &W->data[k], &skipped);
                if (isnan(fd)) continue;
                checked++;
                if (fabs(fd - G[k]) > 5e-3 * fmax(1.0, fabs(fd))) {
                    bad++;
                    printf("  grad %s param %d [%lld]: analytic %g, numeric %g\n", nd->name, pk, (long long)k, G[k], fd);
                }
            }
        }
    }
    /* Input gradient (summed over both paths of the residual). */
    loss_of(x, nb, R, out_n);
    fr_exec_backward(x, nb, R, 1);
    const float *gi = fr_exec_input_grad(x, 0);
    float *gcopy = fr_xmalloc(in_n * sizeof(float));
    memcpy(gcopy, gi, in_n * sizeof(float));
    for (size_t k = 0; k < in_n; k += 1 + in_n / 40) {
        double fd = fd_check(x, nb, R, out_n, &in[k], &skipped);
        if (isnan(fd)) continue;
        checked++;
        if (fabs(fd - gcopy[k]) > 5e-3 * fmax(1.0, fabs(fd))) {
            bad++;
            printf("  input grad [%zu]: analytic %g, numeric %g\n", k, gcopy[k], fd);
        }
    }
    FR_CHECKF(skipped * 5 < checked, "%d entries skipped near kinks, %d checked", skipped, checked);
    FR_CHECKF(bad == 0, "%d of %d gradient entries disagree", bad, checked);
    FR_CHECK(checked > 100);
    free(gcopy); free(in); free(R);
    fr_exec_free(x);
}

static void test_exec_gradients(void)
{
    fr_model m;
    tiny_model(&m, 3, 4, 0);
    fr_graph_fold_bn(&m.g);
    fr_graph *g = &m.g;
    /* Kinks (ReLU, ReLU6) make finite differences unreliable near 0; their own backward passes
     * are checked in test_ops.  Here the graph plumbing is under test (residual fan-out,
     * depthwise, gradient accumulation), so the activations become smooth sigmoids. */
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == FR_OP_RELU || g->nodes[i].op == FR_OP_RELU6) g->nodes[i].op = FR_OP_SIGMOID;
    grad_check_range(g, fr_graph_find_node(g, "b1.conv1"), fr_graph_find_node(g, "ir.add"));
    fr_model_free(&m);
}

/* Folding BN must not change the network's output. */
static void test_fold_bn(void)
{
    fr_model m;
    tiny_model(&m, 5, 4, 0);
    fr_graph *g = &m.g;
    int n0 = g->n_nodes;
    fr_exec *x = fr_exec_new(g, 0, g->n_nodes - 1, 4, FR_EXEC_INFER, NULL);
    fr_exec_bind_input(x, 0, m.calib.f32);
    fr_exec_forward(x, 4);
    float before[16];
    memcpy(before, fr_exec_output(x), sizeof before);
    fr_exec_free(x);
    fr_graph_fold_bn(g);
    FR_CHECK(g->n_nodes == n0 - 1);
    FR_CHECK(fr_graph_find_node(g, "stem.bn") < 0);
    fr_err e;
    FR_CHECK(fr_graph_validate(g, &m.meta, "tiny", &e) == FR_OK);
    x = fr_exec_new(g, 0, g->n_nodes - 1, 4, FR_EXEC_INFER, NULL);
    fr_exec_bind_input(x, 0, m.calib.f32);
    fr_exec_forward(x, 4);
    const float *after = fr_exec_output(x);
    double md = 0;
    for (int k = 0; k < 16; k++) md = fmax(md, fabs(before[k] - after[k]));
    FR_CHECKF(md < 1e-4, "max diff %g", md);
    fr_exec_free(x);
    fr_model_free(&m);
}

/* ---- partition ----------------------------------------------------------------------------- */

static void test_partition_tiny(void)
{
    fr_model m;
    tiny_model(&m, 1, 2, 0);
    fr_graph_fold_bn(&m.g);
    fr_partition p;
    fr_err e;
    FR_CHECK(fr_partition_build(&m.g, 0, FR_UNITS_BRECQ, &p, &e) == FR_OK);
    /* stem (conv+relu), BasicBlock, inverted residual, gap+fc */
    FR_CHECKF(p.n == 4, "%d units", p.n);
    if (p.n == 4) {
        FR_CHECK(!p.units[0].is_block && p.units[0].n_layers == 1);
        FR_CHECK(p.units[1].is_block && p.units[1].n_layers == 2 && p.units[1].n_ext == 1);
        FR_CHECK(p.units[2].is_block && p.units[2].n_layers == 3);
        FR_CHECK(!p.units[3].is_block && strstr(p.units[3].ops, "gap") && strstr(p.units[3].ops, "linear"));
        FR_CHECK(fr_partition_find(&p, &m.g, "ir.dw") == 2);
    }
    /* Units cover 1..n-1 exactly, in order. */
    int next = 1;
    for (int k = 0; k < p.n; k++) { FR_CHECK(p.units[k].first == next); next = p.units[k].last + 1; }
    FR_CHECK(next == m.g.n_nodes);
    fr_partition_free(&p);
    FR_CHECK(fr_partition_build(&m.g, 1, FR_UNITS_BRECQ, &p, &e) == FR_OK);
    FR_CHECKF(p.n == 7, "%d layer units", p.n);
    fr_partition_free(&p);
    FR_CHECK(fr_partition_find(&p, &m.g, "nope") < 0);
    fr_model_free(&m);
}

/* An inverted residual as torch and Keras export it: ReLU6 as Relu then Clip(0,6), a Pad before
 * the stride-2 depthwise, an SE gate after it.  BRECQ's rule makes it one unit (the SE convs
 * inside); the split rule breaks it up.  Built unfused, as an old bundle would hold it. */
/* A node whose attributes are set before shapes are inferred. */
static int add_act(fr_model *m, const char *name, fr_op op, int in, float alpha, float beta)
{
    int n = fr_tb_node(m, name, op, in, -1);
    m->g.nodes[n].a.alpha = alpha;
    m->g.nodes[n].a.beta = beta;
    fr_tb_infer(m);
    return n;
}

static void build_ir_export(fr_model *m)
{
    fr_rng r;
    fr_rng_seed(&r, 7);
    fr_tb_begin(m, "irx", "input", 3, 8, 8);
    fr_tb_infer(m);
    int x = add_conv(m, &r, "stem", 0, 8, 3, 1, 1, 1);
    x = add_op(m, "stem.relu", FR_OP_RELU, 1, x, 0);
    x = add_op(m, "stem.clip", FR_OP_RELU6, 1, x, 0);
    x = add_conv(m, &r, "ir.expand", x, 16, 1, 1, 1, 1);
    x = add_op(m, "ir.relu", FR_OP_RELU, 1, x, 0);
    x = add_act(m, "ir.clip", FR_OP_CLIP, x, 0, 6);
    x = fr_tb_node(m, "ir.pad", FR_OP_PAD, x, -1);
    m->g.nodes[x].a.pb = m->g.nodes[x].a.pr = 1;
    fr_tb_infer(m);
    int d = add_conv(m, &r, "ir.dw", x, 16, 3, 2, 16, 1);
    m->g.nodes[d].a.pt = m->g.nodes[d].a.pl = m->g.nodes[d].a.pb = m->g.nodes[d].a.pr = 0;
    fr_tb_infer(m);
    x = add_op(m, "ir.dw.hs", FR_OP_HARDSWISH, 1, d, 0);
    int k = x;
    x = add_op(m, "ir.se.gap", FR_OP_GAP, 1, k, 0);
    x = add_conv(m, &r, "ir.se.fc1", x, 4, 1, 1, 1, 1);
    x = add_op(m, "ir.se.relu", FR_OP_RELU, 1, x, 0);
    x = add_conv(m, &r, "ir.se.fc2", x, 16, 1, 1, 1, 1);
    x = add_act(m, "ir.se.gate", FR_OP_HARDSIGMOID, x, 1.0f / 6, 0.5f);
    x = add_op(m, "ir.se.mul", FR_OP_MUL, 2, k, x);
    x = add_conv(m, &r, "ir.project", x, 8, 1, 1, 1, 1);
    x = add_op(m, "gap", FR_OP_GAP, 1, x, 0);
    fr_tb_linear(m, &r, "fc.w", "fc.b", "fc", x, 8, 4, 0.5f, 1);
    fr_tb_infer(m);
}

static void test_partition_rules(void)
{
    fr_model m;
    build_ir_export(&m);
    fr_partition p;
    fr_err e;
    FR_CHECK(fr_partition_build(&m.g, 0, FR_UNITS_BRECQ, &p, &e) == FR_OK);
    FR_CHECKF(p.n == 3, "brecq: %d units", p.n);
    if (p.n == 3) {
        FR_CHECK(!p.units[0].is_block && strcmp(p.units[0].ops, "conv,relu,relu6") == 0);
        FR_CHECKF(p.units[1].is_block && p.units[1].n_layers == 5, "%s", p.units[1].ops);
        FR_CHECK(strcmp(p.units[1].name, "block:ir.expand") == 0);
        FR_CHECK(fr_partition_find(&p, &m.g, "ir.se.fc2") == 1);
    }
    fr_partition_free(&p);
    FR_CHECK(fr_partition_build(&m.g, 0, FR_UNITS_SPLIT, &p, &e) == FR_OK);
    int big = 0;
    for (int k = 0; k < p.n; k++) big |= p.units[k].n_layers >= 3;
    FR_CHECKF(p.n > 3 && !big, "split: %d units", p.n);
    fr_partition_free(&p);
    /* Fusing the activation pairs keeps the function and the BRECQ units, and leaves the split
     * rule with the same block the BRECQ rule finds minus the Pad/SE cases. */
    fr_exec *x0 = fr_exec_new(&m.g, 0, m.g.n_nodes - 1, 2, FR_EXEC_INFER, NULL);
    float in[2 * 3 * 8 * 8], y0[8];
    fr_rng r;
    fr_rng_seed(&r, 3);
    for (int i = 0; i < 2 * 3 * 64; i++) in[i] = 3 * fr_rng_normal(&r);
    fr_exec_bind_input(x0, 0, in);
    fr_exec_forward(x0, 2);
    memcpy(y0, fr_exec_output(x0), sizeof y0);
    fr_exec_free(x0);
    int n0 = m.g.n_nodes;
    FR_CHECK(fr_graph_fuse_acts(&m.g) == 2);
    FR_CHECK(m.g.n_nodes == n0 - 2);
    FR_CHECK(fr_graph_validate(&m.g, &m.meta, "fused", &e) == FR_OK);
    int ic = fr_graph_find_node(&m.g, "ir.clip"), sc = fr_graph_find_node(&m.g, "stem.clip");
    FR_CHECK(ic > 0 && m.g.nodes[ic].op == FR_OP_RELU6 && sc > 0 && m.g.nodes[sc].op == FR_OP_RELU6);
    FR_CHECK(fr_graph_find_node(&m.g, "ir.relu") < 0);
    fr_exec *x1 = fr_exec_new(&m.g, 0, m.g.n_nodes - 1, 2, FR_EXEC_INFER, NULL);
    fr_exec_bind_input(x1, 0, in);
    fr_exec_forward(x1, 2);
    const float *y1 = fr_exec_output(x1);
    for (int k = 0; k < 8; k++) FR_CHECKF(y1[k] == y0[k], "output %d: %g vs %g", k, y1[k], y0[k]);
    fr_exec_free(x1);
    FR_CHECK(fr_partition_build(&m.g, 0, FR_UNITS_BRECQ, &p, &e) == FR_OK);
    FR_CHECK(p.n == 3 && p.units[1].n_layers == 5);
    fr_partition_free(&p);
    fr_model_free(&m);
}

/* Clamp pairs fuse to the intersection; a clamp containing its input's range goes; a shared
 * or disjoint pair stays. */
static void test_fuse_acts(void)
{
    fr_model m;
    fr_tb_begin(&m, "acts", "input", 2, 2, 2);
    fr_tb_infer(&m);
    int a = add_act(&m, "c1", FR_OP_CLIP, 0, -1, 3);
    int b = add_op(&m, "r1", FR_OP_RELU, 1, a, 0);           /* -> clip(0, 3) */
    int c = add_op(&m, "r2", FR_OP_RELU, 1, b, 0);           /* contains [0, 3]: removed */
    int d = add_act(&m, "c2", FR_OP_CLIP, c, 5, 7);          /* disjoint from [0, 3]: kept */
    int s = add_op(&m, "sum", FR_OP_ADD, 2, d, c);
    int h = add_act(&m, "hs", FR_OP_HARDSIGMOID, s, 0.2f, 0.5f);
    int k = add_act(&m, "c3", FR_OP_RELU6, h, 0, 0);         /* [0, 6] contains [0, 1]: removed */
    int o = add_op(&m, "out", FR_OP_RELU, 1, k, 0);          /* redundant too, but the output: kept */
    (void)o;
    float in[16], y0[16];
    for (int i = 0; i < 16; i++) in[i] = (float)(i - 7) * 0.9f;
    fr_exec *x = fr_exec_new(&m.g, 0, m.g.n_nodes - 1, 2, FR_EXEC_INFER, NULL);
    fr_exec_bind_input(x, 0, in);
    fr_exec_forward(x, 2);
    memcpy(y0, fr_exec_output(x), sizeof y0);
    fr_exec_free(x);
    FR_CHECK(fr_graph_fuse_acts(&m.g) == 3);   /* c1+r1 -> r1 = clip(0,3); r2 and c3 removed */
    int r1 = fr_graph_find_node(&m.g, "r1");
    FR_CHECK(r1 == 1 && m.g.nodes[r1].op == FR_OP_CLIP && m.g.nodes[r1].a.alpha == 0 && m.g.nodes[r1].a.beta == 3);
    FR_CHECK(fr_graph_find_node(&m.g, "r2") < 0 && fr_graph_find_node(&m.g, "c3") < 0 && fr_graph_find_node(&m.g, "c1") < 0);
    FR_CHECKF(m.g.n_nodes == 6, "%d nodes", m.g.n_nodes);
    if (m.g.n_nodes == 6) {
        FR_CHECK(m.g.nodes[2].op == FR_OP_CLIP && m.g.nodes[2].in[0] == 1);                     /* c2 */
        FR_CHECK(m.g.nodes[3].op == FR_OP_ADD && m.g.nodes[3].in[0] == 2 && m.g.nodes[3].in[1] == 1);
        FR_CHECK(m.g.nodes[5].op == FR_OP_RELU && m.g.nodes[5].in[0] == 4);                      /* out */
        x = fr_exec_new(&m.g, 0, m.g.n_nodes - 1, 2, FR_EXEC_INFER, NULL);
        fr_exec_bind_input(x, 0, in);
        fr_exec_forward(x, 2);
        FR_CHECK(memcmp(fr_exec_output(x), y0, sizeof y0) == 0);   /* the same function, bit for bit */
        fr_exec_free(x);
    }
    fr_err e;
    FR_CHECK(fr_graph_infer_shapes(&m.g, 2, 2, 2, &e) == FR_OK);
    fr_model_free(&m);
}

/* The BRECQ unit of an inverted residual with Pad, hard-swish and an SE gate (the unit the
 * reconstruction backpropagates through): weight and input gradients against finite
 * differences.  ReLU/ReLU6/Clip become sigmoids as above; hard-swish and hard-sigmoid stay
 * (their kinks at +-3 are crossed rarely, and fd_check skips those entries). */
static void test_exec_gradients_se(void)
{
    fr_model m;
    build_ir_export(&m);
    fr_graph *g = &m.g;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == FR_OP_RELU || g->nodes[i].op == FR_OP_RELU6 || g->nodes[i].op == FR_OP_CLIP)
            g->nodes[i].op = FR_OP_SIGMOID;
    grad_check_range(g, fr_graph_find_node(g, "ir.expand"), fr_graph_find_node(g, "ir.project"));
    fr_model_free(&m);
}

static void test_partition_zoo(void)
{
    static const int want_blocks[FR_ZOO__COUNT] = {0, 5, 6};
    static const int want_units[FR_ZOO__COUNT] = {3, 7, 9};
    for (int a = 0; a < FR_ZOO__COUNT; a++) {
        fr_model m;
        fr_model_init(&m);
        fr_zoo_build(&m, (fr_zoo_arch)a, 1);
        fr_err e;
        FR_CHECK(fr_graph_validate(&m.g, &m.meta, "zoo", &e) == FR_OK);
        fr_graph_fold_bn(&m.g);
        fr_partition p;
        FR_CHECK(fr_partition_build(&m.g, 0, FR_UNITS_BRECQ, &p, &e) == FR_OK);
        int blocks = 0;
        for (int k = 0; k < p.n; k++) blocks += p.units[k].is_block;
        FR_CHECKF(blocks == want_blocks[a] && p.n == want_units[a], "%s: %d units, %d blocks", fr_zoo_name((fr_zoo_arch)a),
                  p.n, blocks);
        fr_partition_free(&p);
        fr_model_free(&m);
    }
}

/* ---- reconstruction ------------------------------------------------------------------------- */

static fr_run_config tiny_cfg(fr_method m, int bits, int iters)
{
    fr_run_config c;
    fr_run_config_preset(&c, "teaching", NULL);
    c.method = m;
    c.bits = bits;
    c.iters = iters;
    c.batch = 8;
    c.first_last_bits = 0;
    return c;
}

typedef struct run_result {
    int n_units;
    double loss_after[8], loss_rtn[8];
    float *codes;       /* all codes concatenated */
    size_t n_codes;
    float *losses;
    size_t n_losses;
    int status[8];
    double acc;
} run_result;

/* Issue 18: the equation strip recomputes a code from the view's own factors; they must give
 * exactly the engine's codes (the quantizer's order: s1 * (S2 * (s3 * s4)), rint, clamp). */
static void check_view_factors(const fr_unit_view *v)
{
    for (int l = 0; l < v->n_layers; l++) {
        const fr_layer_view *L = &v->layers[l];
        FR_CHECK(L->s1_init && L->qlo && L->qhi);
        if (v->method != FR_METHOD_FLEXROUND || v->status != FR_UNIT_DONE) {
            FR_CHECK(!L->s3 && !L->s4);
            continue;
        }
        FR_CHECK(L->s3 && L->s2 && L->s_comb);
        if (!L->s3) continue;
        int cols = (int)(L->n / L->o), khw = L->kh * L->kw;
        int64_t bad = 0, badc = 0;
        for (int64_t k = 0; k < L->n; k++) {
            int r = (int)(k / cols), j = (int)(k % cols) / khw, g = L->n_s1 > 1 ? r : 0;
            float s34 = L->s3[r] * (L->s4 ? L->s4[j] : 1.0f);
            float q = rintf(L->w[k] / (L->s1[g] * (L->s2[k] * s34)));
            q = q < L->qlo[g] ? L->qlo[g] : q > L->qhi[g] ? L->qhi[g] : q;
            bad += q != L->code[k];
            badc += fabsf(L->s2[k] * s34 - L->s_comb[k]) > 1e-5f * L->s_comb[k];
        }
        FR_CHECKF(bad == 0 && badc == 0, "%s: %lld codes and %lld S2*s3*s4 differ from the view's factors", L->name,
                  (long long)bad, (long long)badc);
    }
}

static void run_engine(const fr_model *m, const fr_run_config *c, run_result *out)
{
    memset(out, 0, sizeof *out);
    fr_err e;
    fr_recon *r = fr_recon_new(m, c, &e);
    FR_CHECKF(r != NULL, "%s", e.msg);
    if (!r) return;
    const fr_partition *p = fr_recon_partition(r);
    out->n_units = p->n;
    for (int k = 0; k < p->n; k++) {
        FR_CHECK(fr_recon_begin(r, k, &e) == FR_OK);
        while (fr_recon_iter(r) < fr_recon_iters(r) && fr_recon_step(r) == FR_OK) {}
        int nl = 0;
        const float *L = fr_recon_loss(r, &nl);
        out->losses = fr_xrealloc(out->losses, (out->n_losses + (size_t)nl + 1) * sizeof(float));
        if (nl) memcpy(out->losses + out->n_losses, L, (size_t)nl * sizeof(float));
        out->n_losses += (size_t)nl;
        FR_CHECK(fr_recon_end(r, &e) == FR_OK);
        fr_unit_view *v = fr_recon_view(r, k);
        check_view_factors(v);
        out->loss_after[k] = v->loss_after;
        out->loss_rtn[k] = v->loss_rtn;
        out->status[k] = v->status;
        fr_unit_view_release(v);
        const fr_layer_result *res = fr_recon_results(r, k, &nl);
        for (int l = 0; l < nl; l++) {
            out->codes = fr_xrealloc(out->codes, (out->n_codes + (size_t)res[l].n + 1) * sizeof(float));
            for (int64_t i = 0; i < res[l].n; i++) out->codes[out->n_codes + (size_t)i] = (float)res[l].code[i];
            out->n_codes += (size_t)res[l].n;
        }
    }
    if (m->eval.n) FR_CHECK(fr_recon_accuracy(r, 1, 0, &out->acc, &e) == FR_OK);
    fr_recon_free(r);
}

static void free_result(run_result *r) { free(r->codes); free(r->losses); }

static void test_determinism(void)
{
    fr_model m;
    tiny_model(&m, 7, 48, 0);
    for (int meth = 1; meth < FR_METHOD__COUNT; meth++) {
        fr_run_config c = tiny_cfg((fr_method)meth, 4, 60);
        c.qdrop = meth == FR_METHOD_FLEXROUND;   /* exercise the QDrop random mixing too */
        run_result a, b;
        run_engine(&m, &c, &a);
        run_engine(&m, &c, &b);
        FR_CHECK(a.n_codes == b.n_codes && a.n_codes > 0 && memcmp(a.codes, b.codes, a.n_codes * sizeof(float)) == 0);
        FR_CHECK(a.n_losses == b.n_losses && a.n_losses == (size_t)a.n_units * 60 &&
                 memcmp(a.losses, b.losses, a.n_losses * sizeof(float)) == 0);
        c.seed = 99;
        run_result d;
        run_engine(&m, &c, &d);
        FR_CHECK(d.n_losses == a.n_losses && memcmp(a.losses, d.losses, a.n_losses * sizeof(float)) != 0);
        free_result(&a); free_result(&b); free_result(&d);
    }
    fr_model_free(&m);
}

/* On a small case the learned methods must reconstruct better than RTN, FlexRound at least as
 * well as AdaRound (summed unit losses on the calibration set). */
static void test_method_ordering(void)
{
    fr_model m;
    tiny_model(&m, 21, 128, 0);
    double tot[FR_METHOD__COUNT] = {0};
    for (int meth = 0; meth < FR_METHOD__COUNT; meth++) {
        fr_run_config c = tiny_cfg((fr_method)meth, 3, 400);
        run_result r;
        run_engine(&m, &c, &r);
        for (int k = 0; k < r.n_units; k++) tot[meth] += r.loss_after[k];
        if (meth == 0)
            for (int k = 0; k < r.n_units; k++) FR_CHECK(fabs(r.loss_after[k] - r.loss_rtn[k]) <= 1e-6 * fmax(1, r.loss_rtn[k]));
        free_result(&r);
    }
    printf("  W3 summed unit loss: RTN %.5g, AdaRound %.5g, FlexRound %.5g\n", tot[0], tot[1], tot[2]);
    FR_CHECK(tot[1] < tot[0]);
    FR_CHECK(tot[2] < tot[0]);
    FR_CHECK(tot[2] <= tot[1] * 1.02);
    fr_model_free(&m);
}

static void test_nan_fallback(void)
{
    fr_model m;
    tiny_model(&m, 9, 32, 0);
    /* Activations of ~1e20 make dL/dŴ overflow float32: the engine must notice at the first
     * iteration and fall back to RTN instead of poisoning later units. */
    for (int i = 0; i < m.calib.n * 128; i++) m.calib.f32[i] *= 1e20f;
    fr_run_config c = tiny_cfg(FR_METHOD_FLEXROUND, 4, 30);
    fr_err e;
    fr_recon *r = fr_recon_new(&m, &c, &e);
    FR_CHECK(r != NULL);
    int fell = 0;
    for (int k = 0; r && k < fr_recon_partition(r)->n; k++) {
        FR_CHECK(fr_recon_begin(r, k, &e) == FR_OK);
        for (int it = 0; it < 3000 && fr_recon_iter(r) < fr_recon_iters(r); it++)
            if (fr_recon_step(r) != FR_OK) break;
        FR_CHECK(fr_recon_end(r, &e) == FR_OK);
        fr_unit_view *v = fr_recon_view(r, k);
        if (v->status == FR_UNIT_FALLBACK) {
            fell++;
            FR_CHECK(strstr(v->note, "iteration") != NULL);
            FR_CHECK(fabs(v->loss_after - v->loss_rtn) <= 1e-6 * fmax(1, v->loss_rtn));
        }
        FR_CHECK(isfinite(v->loss_after));
        fr_unit_view_release(v);
    }
    FR_CHECKF(fell >= 1, "%d unit(s) fell back", fell);
    fr_recon_free(r);
    fr_model_free(&m);
}

static void test_bad_config(void)
{
    fr_model m;
    tiny_model(&m, 2, 8, 0);
    fr_err e;
    fr_run_config c = tiny_cfg(FR_METHOD_FLEXROUND, 9, 10);
    FR_CHECK(fr_recon_new(&m, &c, &e) == NULL && e.code == FR_EINPUT && strstr(e.msg, "bits"));
    c = tiny_cfg(FR_METHOD_FLEXROUND, 4, -1);
    FR_CHECK(fr_recon_new(&m, &c, &e) == NULL && e.code == FR_EINPUT && strstr(e.msg, "iters"));
    c = tiny_cfg(FR_METHOD_FLEXROUND, 4, 10);
    c.batch = 0;
    FR_CHECK(fr_recon_new(&m, &c, &e) == NULL && e.code == FR_EINPUT);
    fr_dataset_free(&m.calib);
    c = tiny_cfg(FR_METHOD_FLEXROUND, 4, 10);
    FR_CHECK(fr_recon_new(&m, &c, &e) == NULL && e.code == FR_EINPUT && strstr(e.msg, "calibration"));
    FR_CHECK(fr_run_config_preset(&c, "nope", &e) == FR_EINPUT);
    fr_model_free(&m);
}

static void test_accuracy_and_cache(void)
{
    fr_model m;
    tiny_model(&m, 13, 64, 200);
    fr_run_config c = tiny_cfg(FR_METHOD_RTN, 8, 0);
    run_result r;
    run_engine(&m, &c, &r);
    /* 8-bit RTN of a model whose labels are its own predictions keeps nearly all of them. */
    FR_CHECKF(r.acc > 0.9, "acc %.3f", r.acc);
    free_result(&r);
    fr_err e;
    c.max_cache_mb = 1;
    fr_model big;
    tiny_model(&big, 13, 4096, 0);   /* 4096 x 2x8x8 x 4 B x stores > 1 MB */
    fr_recon *rr = fr_recon_new(&big, &c, &e);
    FR_CHECKF(rr == NULL && e.code == FR_ENOMEM && strstr(e.msg, "max-cache-mb"), "%s", e.msg);
    fr_recon_free(rr);
    fr_model_free(&big);
    fr_model_free(&m);
}

/* ---- worker protocol (also run under TSan) ------------------------------------------------ */

static int wait_for(fr_worker *w, int (*pred)(const fr_snapshot *, int), int arg, double timeout)
{
    double t0 = fr_now();
    while (fr_now() - t0 < timeout) {
        fr_snapshot *s = fr_worker_acquire(w);
        int ok = pred(s, arg);
        fr_snapshot_release(s);
        if (ok) return 1;
        usleep(2000);
    }
    return 0;
}

static int is_paused(const fr_snapshot *s, int a) { (void)a; return s->status == FR_RUN_PAUSED; }
static int is_done(const fr_snapshot *s, int a) { (void)a; return s->status == FR_RUN_DONE; }
static int unit_running(const fr_snapshot *s, int k) { return s->cur_unit == k; }

static void test_worker_protocol(void)
{
    fr_model m;
    tiny_model(&m, 17, 32, 16);
    fr_run_config c = tiny_cfg(FR_METHOD_FLEXROUND, 4, 400);
    fr_err e;
    fr_worker *w = fr_worker_new(&m, &c, &e);
    FR_CHECK(w != NULL);
    fr_snapshot *s0 = fr_worker_acquire(w);
    FR_CHECK(s0 && s0->status == FR_RUN_IDLE && s0->n_units == 4 && s0->units[0] && s0->units[0]->status == FR_UNIT_PENDING);
    fr_snapshot_release(s0);
    FR_CHECK(fr_worker_start(w, &e) == FR_OK);
    FR_CHECK(fr_worker_send(w, FR_CMD_PAUSE, 0) == 0);
    FR_CHECK(wait_for(w, is_paused, 0, 10));
    fr_snapshot *a = fr_worker_acquire(w);
    usleep(50000);
    fr_snapshot *b = fr_worker_acquire(w);
    /* Paused: no iterations happen. */
    int ia = a->cur_unit >= 0 ? a->units[a->cur_unit]->iter : -1, ib = b->cur_unit >= 0 ? b->units[b->cur_unit]->iter : -1;
    FR_CHECK(ia == ib);
    fr_snapshot_release(a);
    fr_snapshot_release(b);
    /* Step one unit: runs to the end of the current unit, then pauses again. */
    FR_CHECK(fr_worker_send(w, FR_CMD_STEP_UNIT, 0) == 0);
    FR_CHECK(wait_for(w, unit_running, 1, 20) || wait_for(w, is_paused, 0, 20));
    FR_CHECK(wait_for(w, is_paused, 0, 20));
    fr_snapshot *s = fr_worker_acquire(w);
    FR_CHECK(s->units[0]->status == FR_UNIT_DONE);
    uint64_t g1 = s->gen;
    fr_snapshot_release(s);
    /* Commands flood: the queue must never block or crash. */
    for (int i = 0; i < 500; i++) fr_worker_send(w, FR_CMD_SET_ITERS, 50);
    fr_worker_send(w, FR_CMD_SET_STEP_MODE, 0);
    fr_worker_send(w, FR_CMD_RESUME, 0);
    FR_CHECK(wait_for(w, is_done, 0, 60));
    s = fr_worker_acquire(w);
    FR_CHECK(s->gen > g1);
    for (int k = 0; k < s->n_units; k++) FR_CHECK(s->units[k]->status == FR_UNIT_DONE);
    FR_CHECK(s->acc_q >= 0 && s->acc_fp >= 0);
    fr_snapshot *held = s;   /* hold it across the worker's death: it must stay valid */
    fr_worker_free(w);
    FR_CHECK(held->units[held->n_units - 1]->n_loss > 0);
    fr_snapshot_release(held);
    /* Cancel mid-run. */
    c.iters = 100000;
    w = fr_worker_new(&m, &c, &e);
    fr_worker_start(w, &e);
    usleep(20000);
    double t0 = fr_now();
    fr_worker_free(w);
    FR_CHECKF(fr_now() - t0 < 5, "cancel took %.2f s", fr_now() - t0);
    fr_model_free(&m);
}

/* Pads and activations folded into their conv (exec.c) must give the bits of the materialised
 * nodes: outputs, parameter gradients, the input gradient and every folded node's output as
 * fr_exec_out shows it.  Covered: ReLU6 on exact 0 and 6 inputs, then an asymmetric Pad, into a
 * stride-2 depthwise with its own padding; a Clip whose lower bound is not 0 (the padding must
 * stay 0) through a Pad into a stride-1 depthwise; a ReLU before a dense 3x3 (not foldable: not
 * depthwise); a Pad into a 1x1 (which then needs im2col); a Pad read twice (not foldable); a
 * hooked Pad (neither it nor the Clip before it folds while hooked).  The folded run also takes
 * the depthwise kernels' streaming-store paths (fr_conv_set_stream_bytes(0)). */
static void hook_fwd(void *ctx, const float *in, float *out, size_t n)
{
    (void)ctx;
    for (size_t k = 0; k < n; k++) out[k] = 0.5f * in[k];
}
static void hook_bwd(void *ctx, const float *in, const float *dy, float *dx, size_t n)
{
    (void)ctx; (void)in;
    for (size_t k = 0; k < n; k++) dx[k] = 0.5f * dy[k];
}

static void test_pad_fold(void)
{
    fr_model m;
    fr_rng r;
    fr_rng_seed(&r, 5);
    const size_t dflt = fr_conv_stream_bytes();
    fr_tb_begin(&m, "padfold", "input", 6, 13, 37);   /* wide enough for the 8-float vector paths */
    fr_tb_infer(&m);
    int x = add_op(&m, "a1", FR_OP_RELU6, 1, 0, 0);
    int p1 = fr_tb_node(&m, "p1", FR_OP_PAD, x, -1);
    m.g.nodes[p1].a.pt = 1; m.g.nodes[p1].a.pl = 2; m.g.nodes[p1].a.pb = 0; m.g.nodes[p1].a.pr = 1;
    fr_tb_infer(&m);
    x = add_conv(&m, &r, "dw1", p1, 6, 3, 2, 6, 1);                   /* own padding 1 as well */
    x = add_act(&m, "a2", FR_OP_CLIP, x, 0.25f, 3.0f);
    int p2 = fr_tb_node(&m, "p2", FR_OP_PAD, x, -1);
    m.g.nodes[p2].a.pb = 1; m.g.nodes[p2].a.pr = 1;
    fr_tb_infer(&m);
    x = add_conv(&m, &r, "dw2", p2, 6, 3, 1, 6, 1);
    m.g.nodes[x].a.pt = m.g.nodes[x].a.pl = m.g.nodes[x].a.pb = m.g.nodes[x].a.pr = 0;
    fr_tb_infer(&m);
    int a3 = x = add_op(&m, "a3", FR_OP_RELU, 1, x, 0);
    int c2 = add_conv(&m, &r, "dense", x, 5, 3, 1, 1, 1);
    int p3 = fr_tb_node(&m, "p3", FR_OP_PAD, c2, -1);
    m.g.nodes[p3].a.pt = m.g.nodes[p3].a.pl = m.g.nodes[p3].a.pb = m.g.nodes[p3].a.pr = 1;
    fr_tb_infer(&m);
    int pw = add_conv(&m, &r, "pw", p3, 5, 1, 1, 1, 1);
    int p4 = fr_tb_node(&m, "p4", FR_OP_PAD, pw, -1);                 /* read by a conv and the add */
    m.g.nodes[p4].a.pt = m.g.nodes[p4].a.pl = m.g.nodes[p4].a.pb = m.g.nodes[p4].a.pr = 1;
    fr_tb_infer(&m);
    int c4 = add_conv(&m, &r, "c4", p4, 5, 3, 1, 1, 1);
    int last = add_op(&m, "add", FR_OP_ADD, 2, c4, p4);
    fr_graph *g = &m.g;
    const int nb = 5, first = 1;
    size_t in_n = (size_t)nb * 6 * 13 * 37, out_n = (size_t)nb * g->nodes[last].c * g->nodes[last].h * g->nodes[last].w;
    float *in = fr_xmalloc(in_n * sizeof(float)), *R = fr_xmalloc(out_n * sizeof(float));
    for (size_t k = 0; k < in_n; k++) in[k] = k % 7 == 0 ? 0.0f : k % 7 == 1 ? 6.0f : 4.0f * fr_rng_normal(&r);
    for (size_t k = 0; k < out_n; k++) R[k] = fr_rng_normal(&r);
    fr_exec *xs[2];
    for (int f = 0; f < 2; f++) {
        xs[f] = fr_exec_new(g, first, last, 8, FR_EXEC_GRAD, NULL);
        FR_CHECK(xs[f] != NULL);
        if (!xs[f]) return;
        fr_exec_set_folding(xs[f], f);
        fr_exec_bind_input(xs[f], 0, in);
    }
    /* Folded: a1 and p1 into dw1, a2 and p2 into dw2, p3 into pw, and a3 out of dw2 (computed
     * by its forward sweep: the sole reader of a depthwise conv); p4 has two readers. */
    for (int round = 0; round < 3; round++) {
        if (round == 1) {   /* hooked Pads are never folded */
            fr_out_hook hk = {hook_fwd, hook_bwd, NULL};
            for (int f = 0; f < 2; f++) fr_exec_set_hook(xs[f], p2, &hk);
        }
        if (round == 2) {   /* nor a hooked activation out of its conv */
            fr_out_hook hk = {hook_fwd, hook_bwd, NULL};
            for (int f = 0; f < 2; f++) fr_exec_set_hook(xs[f], a3, &hk);
        }
        for (int f = 0; f < 2; f++) {
            fr_conv_set_stream_bytes(f ? 0 : dflt);   /* the folded run also streams */
            fr_exec_forward(xs[f], nb);
            fr_exec_backward(xs[f], nb, R, 1);
        }
        FR_CHECKF(fr_exec_n_folded(xs[1]) == (round == 0 ? 6 : round == 1 ? 4 : 3) && fr_exec_n_folded(xs[0]) == 0,
                  "round %d: %d nodes folded", round, fr_exec_n_folded(xs[1]));
        FR_CHECK(!memcmp(fr_exec_output(xs[0]), fr_exec_output(xs[1]), out_n * sizeof(float)));
        const fr_node *in0 = &g->nodes[fr_exec_input_node(xs[0], 0)];
        FR_CHECK(!memcmp(fr_exec_input_grad(xs[0], 0), fr_exec_input_grad(xs[1], 0),
                         (size_t)nb * in0->c * in0->h * in0->w * sizeof(float)));
        int diff = 0;
        for (int i = first; i <= last; i++) {
            const fr_node *n = &g->nodes[i];
            size_t cnt = (size_t)nb * n->c * n->h * n->w;
            diff += !!memcmp(fr_exec_out(xs[0], i), fr_exec_out(xs[1], i), cnt * sizeof(float));
            for (int k = 0; k < n->n_param; k++)
                if (n->param[k] >= 0)
                    diff += !!memcmp(fr_exec_param_grad(xs[0], n->param[k]), fr_exec_param_grad(xs[1], n->param[k]),
                                     (size_t)fr_tensor_numel(&g->tensors[n->param[k]]) * sizeof(float));
        }
        FR_CHECKF(diff == 0, "round %d: %d outputs or gradients differ with nodes folded", round, diff);
    }
    /* Bias gradients off (what reconstruction runs): every other gradient keeps its bits, and
     * the biases' gradients are reported as not computed.  Hooks off again, so a3 folds out of
     * dw2, whose backward then writes its masked gradient straight into the wide layout. */
    for (int f = 0; f < 2; f++) {
        fr_exec_set_hook(xs[f], p2, NULL);
        fr_exec_set_hook(xs[f], a3, NULL);
        fr_exec_set_bias_grads(xs[f], f == 0);
        fr_conv_set_stream_bytes(f ? 0 : dflt);
        fr_exec_forward(xs[f], nb);
        fr_exec_backward(xs[f], nb, R, 1);
    }
    FR_CHECKF(fr_exec_n_folded(xs[1]) == 6, "%d nodes folded with the hooks removed", fr_exec_n_folded(xs[1]));
    const fr_node *in0 = &g->nodes[fr_exec_input_node(xs[0], 0)];
    FR_CHECK(!memcmp(fr_exec_input_grad(xs[0], 0), fr_exec_input_grad(xs[1], 0),
                     (size_t)nb * in0->c * in0->h * in0->w * sizeof(float)));
    int nbias = 0, wdiff = 0;
    for (int i = first; i <= last; i++) {
        const fr_node *n = &g->nodes[i];
        if (n->op != FR_OP_CONV) continue;
        wdiff += !!memcmp(fr_exec_param_grad(xs[0], n->param[0]), fr_exec_param_grad(xs[1], n->param[0]),
                          (size_t)fr_tensor_numel(&g->tensors[n->param[0]]) * sizeof(float));
        if (n->param[1] < 0) continue;
        nbias++;
        FR_CHECK(fr_exec_param_grad(xs[0], n->param[1]) != NULL && fr_exec_param_grad(xs[1], n->param[1]) == NULL);
    }
    FR_CHECKF(nbias >= 3 && wdiff == 0, "%d biases, %d weight gradients differ with bias gradients off", nbias, wdiff);
    fr_conv_set_stream_bytes(dflt);
    for (int f = 0; f < 2; f++) fr_exec_free(xs[f]);
    free(in); free(R);
    fr_model_free(&m);
}

/* Tail fold (fr_exec_set_tail_act): a trailing ReLU / ReLU6 / Clip left to the caller, who
 * applies it and its backward in a loss pass of its own (as reconstruction does), must give the
 * bits of the materialised activation: the output (filled on demand), every parameter gradient
 * and the input gradient.  Inputs hit the bounds exactly (a 1x1 identity conv passes 0, 6, 0.25
 * and 3 through unchanged).  Not folded: with the switch off, with the activation hooked, and
 * when its input is read by a second node. */
static double tail_loss(const float *y, const float *t, float *dy, size_t n, int act, float lo, float hi)
{
    double loss = 0;
    for (size_t e = 0; e < n; e++) {
        float d = fr_conv_act_fwd(act, lo, hi, y[e]) - t[e];
        loss += (double)d * d;
        dy[e] = fr_conv_act_bwd(act, lo, hi, y[e], 0.5f * d);
    }
    return loss;
}

static void test_tail_fold(void)
{
    const fr_op ops[3] = {FR_OP_RELU6, FR_OP_CLIP, FR_OP_RELU};   /* v 3: second reader, v 4: hooked */
    for (int v = 0; v < 5; v++) {
        fr_model m;
        fr_rng r;
        fr_rng_seed(&r, 11 + (uint64_t)v);
        fr_tb_begin(&m, "tail", "input", 3, 9, 9);
        fr_tb_infer(&m);
        int id = add_conv(&m, &r, "id", 0, 3, 1, 1, 1, 0);   /* identity: the bounds reach the act exactly */
        fr_tensor *wt = &m.g.tensors[m.g.nodes[id].param[0]];
        for (size_t k = 0; k < (size_t)fr_tensor_numel(wt); k++) wt->data[k] = k % 4 == 0 ? 1.0f : 0.0f;
        int c = add_conv(&m, &r, "stem", id, 4, 3, 2, 1, 1);
        if (v == 3) add_op(&m, "side", FR_OP_RELU, 1, c, 0);   /* a second reader of the act's input */
        int last = add_act(&m, "act", ops[v < 3 ? v : 0], c, v == 1 ? 0.25f : 0.0f, v == 1 ? 3.0f : 6.0f);
        fr_graph *g = &m.g;
        const int nb = 3;
        size_t in_n = (size_t)nb * 3 * 9 * 9, out_n = (size_t)nb * g->nodes[last].c * g->nodes[last].h * g->nodes[last].w;
        float *in = fr_xmalloc(in_n * sizeof(float)), *T = fr_xmalloc(out_n * sizeof(float));
        float *d0 = fr_xmalloc(out_n * sizeof(float)), *d1 = fr_xmalloc(out_n * sizeof(float));
        const float edge[6] = {0.0f, 6.0f, 0.25f, 3.0f, -0.0f, -1.0f};
        for (size_t k = 0; k < in_n; k++) in[k] = k % 3 == 0 ? edge[k / 3 % 6] : 4.0f * fr_rng_normal(&r);
        for (size_t k = 0; k < out_n; k++) T[k] = fr_rng_normal(&r);
        fr_exec *xs[2];
        for (int f = 0; f < 2; f++) {
            xs[f] = fr_exec_new(g, 1, last, 4, FR_EXEC_GRAD, NULL);
            FR_CHECK(xs[f] != NULL);
            if (!xs[f]) return;
            fr_exec_bind_input(xs[f], 0, in);
        }
        if (v == 4) {
            fr_out_hook hk = {hook_fwd, hook_bwd, NULL};
            for (int f = 0; f < 2; f++) fr_exec_set_hook(xs[f], last, &hk);
        }
        /* xs[0]: the activation materialised, the loss on its output */
        fr_exec_forward(xs[0], nb);
        double l0 = tail_loss(fr_exec_output(xs[0]), T, d0, out_n, FR_CONV_ACT_NONE, 0, 0);
        fr_exec_backward(xs[0], nb, d0, 1);
        FR_CHECK(fr_exec_tail(xs[0], &(int){0}, &(float){0}, &(float){0}) == -1);
        /* xs[1]: left to the loss when foldable */
        fr_exec_set_tail_act(xs[1], 1);
        fr_exec_forward(xs[1], nb);
        fr_exec_set_tail_act(xs[1], 0);
        int act = -1;
        float lo = 0, hi = 0;
        int tin = fr_exec_tail(xs[1], &act, &lo, &hi);
        int want = v < 3 ? c : -1;
        FR_CHECKF(tin == want, "variant %d: tail input %d, expected %d", v, tin, want);
        double l1 = tin >= 0 ? tail_loss(fr_exec_out(xs[1], tin), T, d1, out_n, act, lo, hi)
                             : tail_loss(fr_exec_output(xs[1]), T, d1, out_n, FR_CONV_ACT_NONE, 0, 0);
        fr_exec_backward(xs[1], nb, d1, 1);
        FR_CHECKF(l0 == l1, "variant %d: loss %.17g vs %.17g", v, l0, l1);
        FR_CHECKF(!memcmp(fr_exec_output(xs[0]), fr_exec_output(xs[1]), out_n * sizeof(float)), "variant %d: output", v);
        FR_CHECKF(!memcmp(fr_exec_input_grad(xs[0], 0), fr_exec_input_grad(xs[1], 0), in_n * sizeof(float)),
                  "variant %d: input gradient", v);
        int diff = 0;
        for (int i = 1; i <= last; i++)
            for (int k = 0; k < g->nodes[i].n_param; k++) {
                int t = g->nodes[i].param[k];
                if (t >= 0)
                    diff += !!memcmp(fr_exec_param_grad(xs[0], t), fr_exec_param_grad(xs[1], t),
                                     (size_t)fr_tensor_numel(&g->tensors[t]) * sizeof(float));
            }
        FR_CHECKF(diff == 0, "variant %d: %d parameter gradients differ with the tail folded", v, diff);
        for (int f = 0; f < 2; f++) fr_exec_free(xs[f]);
        free(in); free(T); free(d0); free(d1);
        fr_model_free(&m);
    }
}

/* Token graphs (issue 16): per-token Linear, LayerNorm, RMSNorm, GELU (both forms), SiLU and a
 * residual, against central differences through the executor (every weight, gamma, beta and the
 * input), and the per-token Linear against the same weight applied token by token. */
static void test_token_graph(void)
{
    fr_model m;
    fr_rng r;
    fr_rng_seed(&r, 16);
    const int T = 5, d = 6;
    fr_tb_begin(&m, "tokens", "input", T, 1, d);
    fr_tb_infer(&m);
    int x = fr_tb_linear(&m, &r, "l1.w", "l1.b", "l1", 0, d, 8, 0.4f, 1);
    m.g.nodes[x].a.tokens = T;
    fr_tb_infer(&m);
    int gln = fr_tb_tensor(&m, &r, "ln.g", 1, 8, 1, 1, 1, 0.2f, 1, 1.0f), bln = fr_tb_tensor(&m, &r, "ln.b", 1, 8, 1, 1, 1, 0.3f, 1, 0);
    x = fr_tb_node(&m, "ln", FR_OP_LAYERNORM, x, -1);
    fr_tb_params(&m, x, 2, gln, bln, -1, -1);
    m.g.nodes[x].a.eps = 1e-5f;
    x = add_op(&m, "gelu", FR_OP_GELU, 1, x, 0);
    int x2 = fr_tb_linear(&m, &r, "l2.w", "l2.b", "l2", x, 8, 8, 0.4f, 0);
    m.g.nodes[x2].a.tokens = T;
    fr_tb_infer(&m);
    int grm = fr_tb_tensor(&m, &r, "rms.g", 1, 8, 1, 1, 1, 0.2f, 1, 1.0f);
    x = fr_tb_node(&m, "rms", FR_OP_RMSNORM, x2, -1);
    fr_tb_params(&m, x, 1, grm, -1, -1, -1);
    m.g.nodes[x].a.eps = 1e-6f;
    x = add_op(&m, "silu", FR_OP_SILU, 1, x, 0);
    x = add_op(&m, "gelu2", FR_OP_GELU, 1, x, 0);
    m.g.nodes[x].a.form = 1;
    int x3 = fr_tb_linear(&m, &r, "l3.w", "l3.b", "l3", x, 8, d, 0.4f, 1);
    m.g.nodes[x3].a.tokens = T;
    fr_tb_infer(&m);
    int last = add_op(&m, "res", FR_OP_ADD, 2, x3, 0);
    FR_CHECK(m.g.nodes[last].c == T && m.g.nodes[last].h == 1 && m.g.nodes[last].w == d);
    grad_check_range(&m.g, 1, last);

    /* per token = the weight applied to each token's row */
    fr_exec *e = fr_exec_new(&m.g, 1, 1, 2, FR_EXEC_INFER, NULL);
    float in[2 * 5 * 6];
    for (int k = 0; k < 2 * T * d; k++) in[k] = fr_rng_normal(&r);
    fr_exec_bind_input(e, 0, in);
    fr_exec_forward(e, 2);
    const float *y = fr_exec_output(e), *W = m.g.tensors[m.g.nodes[1].param[0]].data, *b = m.g.tensors[m.g.nodes[1].param[1]].data;
    double err = 0;
    for (int s = 0; s < 2 * T; s++)
        for (int o = 0; o < 8; o++) {
            double t = b[o];
            for (int k = 0; k < d; k++) t += (double)W[o * d + k] * in[s * d + k];
            err = fmax(err, fabs(t - y[s * 8 + o]));
        }
    FR_CHECKF(err < 1e-5, "per-token linear off by %g", err);
    fr_exec_free(e);

    /* shape rules: tokens must match the producer's rows; a norm's gamma the feature count */
    m.g.nodes[1].a.tokens = T + 1;
    fr_err er;
    FR_CHECK(fr_graph_infer_shapes(&m.g, T, 1, d, &er) == FR_EINPUT && strstr(er.msg, "tokens"));
    m.g.nodes[1].a.tokens = T;
    FR_CHECK(fr_graph_infer_shapes(&m.g, T, 1, d, &er) == FR_OK);
    fr_model_free(&m);
}

/* Attention block through the executor (issue 16): RMSNorm, q/k/v per-token Linears, RoPE on q
 * and k, causal attention with 2 query heads on 1 KV head, the output Linear and the residual,
 * against central differences for every weight, gamma and the input; then the token embedding:
 * ids -> table rows -> Linear, its table gradient against central differences. */
static void test_attention_graph(void)
{
    fr_model m;
    fr_rng r;
    fr_rng_seed(&r, 17);
    const int T = 6, d = 8, hd = 4;
    fr_tb_begin(&m, "attn", "input", T, 1, d);
    fr_tb_infer(&m);
    int grm = fr_tb_tensor(&m, &r, "n.g", 1, d, 1, 1, 1, 0.2f, 1, 1.0f);
    int nrm = fr_tb_node(&m, "norm", FR_OP_RMSNORM, 0, -1);
    fr_tb_params(&m, nrm, 1, grm, -1, -1, -1);
    m.g.nodes[nrm].a.eps = 1e-6f;
    fr_tb_infer(&m);
    int lin[3], outs[3] = {2 * hd, hd, hd};
    const char *nm[3] = {"q", "k", "v"};
    for (int q = 0; q < 3; q++) {
        char wn[16], bn[16];
        snprintf(wn, sizeof wn, "%s.w", nm[q]);
        snprintf(bn, sizeof bn, "%s.b", nm[q]);
        lin[q] = fr_tb_linear(&m, &r, wn, bn, nm[q], nrm, d, outs[q], 0.5f, 0);
        m.g.nodes[lin[q]].a.tokens = T;
        fr_tb_infer(&m);
    }
    int rq = fr_tb_node(&m, "rope.q", FR_OP_ROPE, lin[0], -1);
    m.g.nodes[rq].a.heads = 2; m.g.nodes[rq].a.theta = 100.0f;
    int rk = fr_tb_node(&m, "rope.k", FR_OP_ROPE, lin[1], -1);
    m.g.nodes[rk].a.heads = 1; m.g.nodes[rk].a.theta = 100.0f;
    int in3[3] = {rq, rk, lin[2]};
    int at = fr_graph_add_node(&m.g, "attn", FR_OP_ATTENTION, 3, in3);
    m.g.nodes[at].a.heads = 2; m.g.nodes[at].a.kv_heads = 1;
    fr_tb_infer(&m);
    int o = fr_tb_linear(&m, &r, "o.w", "o.b", "o", at, 2 * hd, d, 0.5f, 0);
    m.g.nodes[o].a.tokens = T;
    fr_tb_infer(&m);
    int last = add_op(&m, "res", FR_OP_ADD, 2, o, 0);
    grad_check_range(&m.g, 1, last);
    fr_model_free(&m);

    /* embedding */
    const int V = 7;
    fr_tb_begin(&m, "emb", "input", T, 1, 1);
    fr_tb_infer(&m);
    int tab = fr_tb_tensor(&m, &r, "emb", 2, V, d, 1, 1, 1.0f, 1, 0);
    int em = fr_tb_node(&m, "embed", FR_OP_EMBED, 0, -1);
    fr_tb_params(&m, em, 1, tab, -1, -1, -1);
    fr_tb_infer(&m);
    int l = fr_tb_linear(&m, &r, "l.w", "l.b", "l", em, d, 3, 0.5f, 0);
    m.g.nodes[l].a.tokens = T;
    fr_tb_infer(&m);
    const int nb = 2;
    fr_exec *x = fr_exec_new(&m.g, 1, l, nb, FR_EXEC_GRAD, NULL);
    float ids[12] = {0, 3, 3, 6, 1, 3, 2, 2, 5, 0, 6, 6};
    float R[2 * 6 * 3];
    for (int k = 0; k < nb * T * 3; k++) R[k] = fr_rng_normal(&r);
    fr_exec_bind_input(x, 0, ids);
    loss_of(x, nb, R, (size_t)nb * T * 3);
    FR_CHECK(!memcmp(fr_exec_out(x, em) + (size_t)3 * d, m.g.tensors[tab].data + (size_t)6 * d, sizeof(float) * d));
    fr_exec_backward(x, nb, R, 1);
    const float *G = fr_exec_param_grad(x, tab);
    float *Gc = fr_xmalloc(sizeof(float) * (size_t)V * d);
    memcpy(Gc, G, sizeof(float) * (size_t)V * d);
    int bad = 0, skipped = 0;
    for (int k = 0; k < V * d; k++) {
        double fd = fd_check(x, nb, R, (size_t)nb * T * 3, &m.g.tensors[tab].data[k], &skipped);
        bad += isnan(fd) || fabs(fd - Gc[k]) > 5e-3 * fmax(1.0, fabs(fd));
    }
    FR_CHECKF(bad == 0, "%d table gradient entries disagree", bad);
    FR_CHECK(Gc[4 * d] == 0.0f);   /* id 4 unused */
    free(Gc);
    fr_exec_free(x);
    fr_model_free(&m);
}

/* A LLaMA-style decoder block: RMSNorm, q/k/v, RoPE, attention (GQA), o, residual; RMSNorm,
 * gate/up, SiLU(gate) * up, down, residual.  Returns the block's last node. */
static int llama_block(fr_model *m, fr_rng *r, const char *p, int x, int T, int d, int heads, int kv, int ff)
{
    char nm[64], wn[64];
    const int hd = d / heads;
#define NAME(s) (snprintf(nm, sizeof nm, "%s.%s", p, s), nm)
#define WNAME(s) (snprintf(wn, sizeof wn, "%s.%s.w", p, s), wn)
    int g1 = fr_tb_tensor(m, r, NAME("n1.g"), 1, d, 1, 1, 1, 0.1f, 1, 1.0f);
    int n1 = fr_tb_node(m, NAME("n1"), FR_OP_RMSNORM, x, -1);
    fr_tb_params(m, n1, 1, g1, -1, -1, -1);
    m->g.nodes[n1].a.eps = 1e-6f;
    fr_tb_infer(m);
    const char *qkv[3] = {"q", "k", "v"};
    int outs[3] = {d, kv * hd, kv * hd}, l[3];
    for (int q = 0; q < 3; q++) {
        l[q] = fr_tb_linear(m, r, WNAME(qkv[q]), NULL, NAME(qkv[q]), n1, d, outs[q], 1.0f / sqrtf((float)d), 0);
        m->g.nodes[l[q]].a.tokens = T;
        fr_tb_infer(m);
    }
    int rq = fr_tb_node(m, NAME("rq"), FR_OP_ROPE, l[0], -1);
    m->g.nodes[rq].a.heads = heads; m->g.nodes[rq].a.theta = 10000.0f;
    int rk = fr_tb_node(m, NAME("rk"), FR_OP_ROPE, l[1], -1);
    m->g.nodes[rk].a.heads = kv; m->g.nodes[rk].a.theta = 10000.0f;
    int in3[3] = {rq, rk, l[2]};
    int at = fr_graph_add_node(&m->g, NAME("attn"), FR_OP_ATTENTION, 3, in3);
    m->g.nodes[at].a.heads = heads; m->g.nodes[at].a.kv_heads = kv;
    fr_tb_infer(m);
    int o = fr_tb_linear(m, r, WNAME("o"), NULL, NAME("o"), at, d, d, 1.0f / sqrtf((float)d), 0);
    m->g.nodes[o].a.tokens = T;
    fr_tb_infer(m);
    int in2[2] = {o, x};
    int h = fr_graph_add_node(&m->g, NAME("res1"), FR_OP_ADD, 2, in2);
    fr_tb_infer(m);
    int g2 = fr_tb_tensor(m, r, NAME("n2.g"), 1, d, 1, 1, 1, 0.1f, 1, 1.0f);
    int n2 = fr_tb_node(m, NAME("n2"), FR_OP_RMSNORM, h, -1);
    fr_tb_params(m, n2, 1, g2, -1, -1, -1);
    m->g.nodes[n2].a.eps = 1e-6f;
    fr_tb_infer(m);
    int gate = fr_tb_linear(m, r, WNAME("gate"), NULL, NAME("gate"), n2, d, ff, 1.0f / sqrtf((float)d), 0);
    m->g.nodes[gate].a.tokens = T;
    fr_tb_infer(m);
    int up = fr_tb_linear(m, r, WNAME("up"), NULL, NAME("up"), n2, d, ff, 1.0f / sqrtf((float)d), 0);
    m->g.nodes[up].a.tokens = T;
    fr_tb_infer(m);
    int sg = fr_tb_node(m, NAME("silu"), FR_OP_SILU, gate, -1);
    fr_tb_infer(m);
    int in4[2] = {sg, up};
    int mu = fr_graph_add_node(&m->g, NAME("mul"), FR_OP_MUL, 2, in4);
    fr_tb_infer(m);
    int dn = fr_tb_linear(m, r, WNAME("down"), NULL, NAME("down"), mu, ff, d, 1.0f / sqrtf((float)ff), 0);
    m->g.nodes[dn].a.tokens = T;
    fr_tb_infer(m);
    int in5[2] = {dn, h};
    int y = fr_graph_add_node(&m->g, NAME("res2"), FR_OP_ADD, 2, in5);
    fr_tb_infer(m);
#undef NAME
#undef WNAME
    return y;
}

/* Block-wise reconstruction on two decoder blocks: each block (attention and MLP halves) is one
 * unit, as in the official FlexRound LLM scripts, and FlexRound ends at least 10 % below RTN on
 * both at W4 (measured: about 30 %). */
static void test_decoder_blocks(void)
{
    fr_model m;
    fr_rng r;
    fr_rng_seed(&r, 18);
    const int T = 8, d = 16;
    fr_tb_begin(&m, "llama2", "input", T, 1, d);
    fr_tb_infer(&m);
    int x = llama_block(&m, &r, "b0", 0, T, d, 4, 2, 32);
    x = llama_block(&m, &r, "b1", x, T, d, 4, 2, 32);
    (void)x;
    const int ncal = 32;
    m.calib = (fr_dataset){.n = ncal, .c = T, .h = 1, .w = d, .dtype = 1, .scale = 1, .offset = 0};
    m.calib.f32 = fr_amalloc((size_t)ncal * T * d * sizeof(float));
    for (int i = 0; i < ncal * T * d; i++) m.calib.f32[i] = fr_rng_normal(&r);
    fr_run_config c = tiny_cfg(FR_METHOD_FLEXROUND, 4, 200);
    fr_err e;
    fr_recon *rc = fr_recon_new(&m, &c, &e);
    FR_CHECKF(rc != NULL, "%s", rc ? "" : e.msg);
    if (!rc) { fr_model_free(&m); return; }
    const fr_partition *p = fr_recon_partition(rc);
    FR_CHECKF(p->n == 2 && p->units[0].n_layers == 7 && p->units[1].n_layers == 7 &&
              p->units[1].first == p->units[0].last + 1, "%d units", p->n);
    fr_recon_free(rc);
    run_result res;
    run_engine(&m, &c, &res);
    for (int k = 0; k < res.n_units; k++)
        FR_CHECKF(res.loss_after[k] < 0.9 * res.loss_rtn[k], "unit %d: RTN %.5g, FlexRound %.5g", k, res.loss_rtn[k],
                  res.loss_after[k]);
    free_result(&res);
    /* the split rule keeps the halves apart (four units) */
    fr_partition sp;
    FR_CHECK(fr_partition_build(&m.g, 0, FR_UNITS_SPLIT, &sp, &e) == FR_OK && sp.n == 4);
    fr_partition_free(&sp);
    fr_model_free(&m);
}

int main(void)
{
    FR_RUN(test_exec_gradients);
    FR_RUN(test_fold_bn);
    FR_RUN(test_partition_tiny);
    FR_RUN(test_partition_zoo);
    FR_RUN(test_partition_rules);
    FR_RUN(test_fuse_acts);
    FR_RUN(test_exec_gradients_se);
    FR_RUN(test_pad_fold);
    FR_RUN(test_tail_fold);
    FR_RUN(test_token_graph);
    FR_RUN(test_attention_graph);
    FR_RUN(test_decoder_blocks);
    FR_RUN(test_determinism);
    FR_RUN(test_method_ordering);
    FR_RUN(test_nan_fallback);
    FR_RUN(test_bad_config);
    FR_RUN(test_accuracy_and_cache);
    FR_RUN(test_worker_protocol);
    /* Again with the kernels split in 2 parts (the default FRTUI_THREADS): the worker thread
     * then drives the par pool while this thread polls and commands it (TSan in .ci/run). */
    fr_par_set_threads(2);
    FR_RUN(test_exec_gradients);
    FR_RUN(test_pad_fold);
    FR_RUN(test_determinism);
    FR_RUN(test_worker_protocol);
    fr_par_set_threads(1);
    return FR_REPORT();
}
