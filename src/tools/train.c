/* train.c — sample architectures and the deterministic trainer; see include/frtui/train.h. */
#include "frtui/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/exec.h"
#include "frtui/ops.h"

/* ---- builders ------------------------------------------------------------------------------ */

typedef struct { fr_model *m; fr_rng rng; int c, h, w; } zb;

static void kaiming(zb *b, int t, int fan_in)
{
    fr_tensor *T = &b->m->g.tensors[t];
    float sd = sqrtf(2.0f / (float)fan_in);
    int64_t n = fr_tensor_numel(T);
    for (int64_t i = 0; i < n; i++) T->data[i] = sd * fr_rng_normal(&b->rng);
}

static int conv(zb *b, const char *name, int in, int out_c, int k, int stride, int groups)
{
    fr_graph *g = &b->m->g;
    char nm[FR_NAME_MAX + 8];
    int cin = g->nodes[in].c;
    int64_t d[4] = {out_c, cin / groups, k, k};
    snprintf(nm, sizeof nm, "%s.weight", name);
    int t = fr_graph_add_tensor(g, nm, 4, d);
    kaiming(b, t, cin / groups * k * k);
    int n = fr_graph_add_node(g, name, FR_OP_CONV, 1, &in);
    fr_node *nd = &g->nodes[n];
    nd->n_param = 2;
    nd->param[0] = t;
    nd->param[1] = -1;
    nd->a.kh = nd->a.kw = k;
    nd->a.sh = nd->a.sw = stride;
    nd->a.pt = nd->a.pl = nd->a.pb = nd->a.pr = k / 2;
    nd->a.groups = groups;
    fr_err e;
    FR_ASSERT(fr_graph_infer_shapes(g, b->c, b->h, b->w, &e) == FR_OK);
    return n;
}

static int bn(zb *b, const char *name, int in)
{
    fr_graph *g = &b->m->g;
    int c = g->nodes[in].c, t[4];
    int64_t d[1] = {c};
    const char *suf[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        char nm[FR_NAME_MAX + 16];
        snprintf(nm, sizeof nm, "%s.%s", name, suf[k]);
        t[k] = fr_graph_add_tensor(g, nm, 1, d);
    }
    for (int i = 0; i < c; i++) g->tensors[t[0]].data[i] = 1.0f, g->tensors[t[3]].data[i] = 1.0f;
    int n = fr_graph_add_node(g, name, FR_OP_BN, 1, &in);
    g->nodes[n].n_param = 4;
    for (int k = 0; k < 4; k++) g->nodes[n].param[k] = t[k];
    g->nodes[n].a.eps = 1e-5f;
    fr_err e;
    FR_ASSERT(fr_graph_infer_shapes(g, b->c, b->h, b->w, &e) == FR_OK);
    return n;
}

static int unary(zb *b, const char *name, fr_op op, int in)
{
    int n = fr_graph_add_node(&b->m->g, name, op, 1, &in);
    fr_err e;
    FR_ASSERT(fr_graph_infer_shapes(&b->m->g, b->c, b->h, b->w, &e) == FR_OK);
    return n;
}

static int add2(zb *b, const char *name, int x, int y)
{
    int in[2] = {x, y};
    int n = fr_graph_add_node(&b->m->g, name, FR_OP_ADD, 2, in);
    fr_err e;
    FR_ASSERT(fr_graph_infer_shapes(&b->m->g, b->c, b->h, b->w, &e) == FR_OK);
    return n;
}

static int linear(zb *b, const char *name, int in, int out)
{
    fr_graph *g = &b->m->g;
    const fr_node *p = &g->nodes[in];
    int fan = p->c * p->h * p->w;
    char nm[FR_NAME_MAX + 8];
    int64_t d[2] = {out, fan}, d1[1] = {out};
    snprintf(nm, sizeof nm, "%s.weight", name);
    int t = fr_graph_add_tensor(g, nm, 2, d);
    kaiming(b, t, fan);
    snprintf(nm, sizeof nm, "%s.bias", name);
    int tb = fr_graph_add_tensor(g, nm, 1, d1);
    int n = fr_graph_add_node(g, name, FR_OP_LINEAR, 1, &in);
    g->nodes[n].n_param = 2;
    g->nodes[n].param[0] = t;
    g->nodes[n].param[1] = tb;
    fr_err e;
    FR_ASSERT(fr_graph_infer_shapes(g, b->c, b->h, b->w, &e) == FR_OK);
    return n;
}

static int conv_bn(zb *b, const char *name, int in, int out_c, int k, int stride, int groups, fr_op act)
{
    char nm[FR_NAME_MAX];
    int x = conv(b, name, in, out_c, k, stride, groups);
    snprintf(nm, sizeof nm, "%.80s.bn", name);
    x = bn(b, nm, x);
    if (act != FR_OP_INPUT) {
        snprintf(nm, sizeof nm, "%.80s.%s", name, fr_op_name(act));
        x = unary(b, nm, act, x);
    }
    return x;
}

static int basic_block(zb *b, const char *name, int in, int out_c, int stride)
{
    char nm[FR_NAME_MAX];
    int cin = b->m->g.nodes[in].c;
    snprintf(nm, sizeof nm, "%s.conv1", name);
    int x = conv_bn(b, nm, in, out_c, 3, stride, 1, FR_OP_RELU);
    snprintf(nm, sizeof nm, "%s.conv2", name);
    x = conv_bn(b, nm, x, out_c, 3, 1, 1, FR_OP_INPUT);
    int sc = in;
    if (stride != 1 || cin != out_c) {
        snprintf(nm, sizeof nm, "%s.down", name);
        sc = conv_bn(b, nm, in, out_c, 1, stride, 1, FR_OP_INPUT);
    }
    snprintf(nm, sizeof nm, "%s.add", name);
    x = add2(b, nm, x, sc);
    snprintf(nm, sizeof nm, "%s.relu", name);
    return unary(b, nm, FR_OP_RELU, x);
}

static int inverted_residual(zb *b, const char *name, int in, int out_c, int stride, int t)
{
    char nm[FR_NAME_MAX];
    int cin = b->m->g.nodes[in].c, x = in, hid = cin * t;
    if (t != 1) {
        snprintf(nm, sizeof nm, "%s.expand", name);
        x = conv_bn(b, nm, x, hid, 1, 1, 1, FR_OP_RELU6);
    }
    snprintf(nm, sizeof nm, "%s.dw", name);
    x = conv_bn(b, nm, x, hid, 3, stride, hid, FR_OP_RELU6);
    snprintf(nm, sizeof nm, "%s.project", name);
    x = conv_bn(b, nm, x, out_c, 1, 1, 1, FR_OP_INPUT);
    if (stride == 1 && cin == out_c) {
        snprintf(nm, sizeof nm, "%s.add", name);
        x = add2(b, nm, x, in);
    }
    return x;
}

static const char *const zoo_names[FR_ZOO__COUNT] = {"mlp-fmnist", "resnet-fmnist", "mobilenetv2-fmnist"};
const char *fr_zoo_name(fr_zoo_arch arch) { return (unsigned)arch < FR_ZOO__COUNT ? zoo_names[arch] : "?"; }

int fr_zoo_build(fr_model *m, fr_zoo_arch arch, uint64_t seed)
{
    zb b = {.m = m, .c = 1, .h = 28, .w = 28};
    fr_rng_stream(&b.rng, seed, 0x200);
    m->meta.in_c = 1; m->meta.in_h = 28; m->meta.in_w = 28;
    snprintf(m->meta.name, sizeof m->meta.name, "%s", fr_zoo_name(arch));
    int x = fr_graph_add_node(&m->g, "input", FR_OP_INPUT, 0, NULL);
    FR_ASSERT(fr_graph_infer_shapes(&m->g, 1, 28, 28, NULL) == FR_OK);
    switch (arch) {
    case FR_ZOO_MLP:
        x = unary(&b, "flatten", FR_OP_FLATTEN, x);
        x = linear(&b, "fc1", x, 256);
        x = unary(&b, "fc1.relu", FR_OP_RELU, x);
        x = linear(&b, "fc2", x, 128);
        x = unary(&b, "fc2.relu", FR_OP_RELU, x);
        x = linear(&b, "fc3", x, 10);
        break;
    case FR_ZOO_RESNET:
        /* ~0.24 M parameters: stem at 28x28, two 32-channel blocks at 14x14 and three
         * 64-channel blocks at 7x7 (the bench's standard BasicBlock shapes). */
        x = conv_bn(&b, "stem", x, 16, 3, 1, 1, FR_OP_RELU);
        x = basic_block(&b, "layer1.0", x, 32, 2);
        x = basic_block(&b, "layer1.1", x, 32, 1);
        x = basic_block(&b, "layer2.0", x, 64, 2);
        x = basic_block(&b, "layer2.1", x, 64, 1);
        x = basic_block(&b, "layer2.2", x, 64, 1);
        x = unary(&b, "gap", FR_OP_GAP, x);
        x = linear(&b, "fc", x, 10);
        break;
    case FR_ZOO_MOBILENET:
        x = conv_bn(&b, "stem", x, 16, 3, 1, 1, FR_OP_RELU6);
        x = inverted_residual(&b, "ir0", x, 16, 1, 1);
        x = inverted_residual(&b, "ir1", x, 24, 2, 6);
        x = inverted_residual(&b, "ir2", x, 24, 1, 6);
        x = inverted_residual(&b, "ir3", x, 32, 2, 6);
        x = inverted_residual(&b, "ir4", x, 32, 1, 6);
        x = inverted_residual(&b, "ir5", x, 32, 1, 6);
        x = conv_bn(&b, "head", x, 128, 1, 1, 1, FR_OP_RELU6);
        x = unary(&b, "gap", FR_OP_GAP, x);
        x = linear(&b, "fc", x, 10);
        break;
    default:
        FR_ASSERT(0);
    }
    (void)x;
    m->meta.n_classes = 10;
    return FR_OK;
}

/* ---- trainer ------------------------------------------------------------------------------- */

static int trainable(const fr_graph *g, int t)
{
    /* BN running statistics (params 2, 3 of a BN node) are updated by the forward pass, not by
     * the optimiser. */
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == FR_OP_BN && (g->nodes[i].param[2] == t || g->nodes[i].param[3] == t)) return 0;
    return 1;
}

static int decayed(const fr_graph *g, int t)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (fr_node_is_layer(&g->nodes[i]) && g->nodes[i].param[0] == t) return 1;
    return 0;
}

void fr_adam_init(fr_adam *o, const fr_graph *g, const fr_exec *x)
{
    o->m = fr_xcalloc((size_t)g->n_tensors, sizeof(float *));
    o->v = fr_xcalloc((size_t)g->n_tensors, sizeof(float *));
    o->decay = fr_xcalloc((size_t)g->n_tensors, 1);
    for (int t = 0; t < g->n_tensors; t++)
        if (fr_exec_param_grad(x, t) && trainable(g, t)) {
            size_t k = (size_t)fr_tensor_numel(&g->tensors[t]);
            o->m[t] = fr_xcalloc(k, sizeof(float));
            o->v[t] = fr_xcalloc(k, sizeof(float));
            o->decay[t] = (char)decayed(g, t);
        }
}

void fr_adam_step(fr_adam *o, fr_graph *g, const fr_exec *x, float lr, float weight_decay, int step)
{
    float bc1 = 1.0f - powf(0.9f, (float)(step + 1)), bc2 = 1.0f - powf(0.999f, (float)(step + 1));
    for (int t = 0; t < g->n_tensors; t++) {
        if (!o->m[t]) continue;
        const float *gr = fr_exec_param_grad(x, t);
        float *w = g->tensors[t].data, *mm = o->m[t], *vv = o->v[t];
        float wd = o->decay[t] ? weight_decay : 0.0f;
        int64_t k = fr_tensor_numel(&g->tensors[t]);
        for (int64_t q = 0; q < k; q++) {
            mm[q] = 0.9f * mm[q] + 0.1f * gr[q];
            vv[q] = 0.999f * vv[q] + 0.001f * gr[q] * gr[q];
            w[q] -= lr * ((mm[q] / bc1) / (sqrtf(vv[q] / bc2) + 1e-8f) + wd * w[q]);
        }
    }
}

void fr_adam_free(fr_adam *o, const fr_graph *g)
{
    for (int t = 0; t < g->n_tensors; t++) { free(o->m[t]); free(o->v[t]); }
    free(o->m); free(o->v); free(o->decay);
}

int fr_train(fr_model *m, const fr_dataset *train, const fr_train_config *c, FILE *log, fr_err *e)
{
    if (!train->labels || train->n == 0) return fr_err_set(e, FR_EINPUT, "training set has no labels");
    fr_graph *g = &m->g;
    int n = c->n_train > 0 && c->n_train < train->n ? c->n_train : train->n;
    int B = c->batch;
    fr_exec *x = fr_exec_new(g, 0, g->n_nodes - 1, B, FR_EXEC_TRAIN, e);
    if (!x) return e->code;
    size_t per = (size_t)m->meta.in_c * m->meta.in_h * m->meta.in_w;
    const fr_node *out = &g->nodes[g->n_nodes - 1];
    int ncls = out->c;
    float *in = fr_xmalloc((size_t)B * per * sizeof(float));
    float *dlog = fr_xmalloc((size_t)B * ncls * sizeof(float));
    int32_t *lab = fr_xmalloc((size_t)B * sizeof(int32_t));
    int *perm = fr_xmalloc((size_t)n * sizeof(int));
    fr_adam opt;
    fr_adam_init(&opt, g, x);
    fr_rng rng;
    fr_rng_stream(&rng, c->seed, 0x300);
    int steps_per_epoch = n / B, total = steps_per_epoch * c->epochs, step = 0;
    for (int i = 0; i < n; i++) perm[i] = i;
    double t0 = fr_now();
    for (int ep = 0; ep < c->epochs; ep++) {
        for (int i = n - 1; i > 0; i--) {
            int j = (int)fr_rng_below(&rng, (uint32_t)(i + 1)), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        double loss_sum = 0;
        long correct = 0;
        for (int s = 0; s < steps_per_epoch; s++, step++) {
            for (int k = 0; k < B; k++) {
                int idx = perm[s * B + k];
                fr_dataset_sample(train, &m->meta, idx, in + (size_t)k * per);
                lab[k] = train->labels[idx];
            }
            fr_exec_bind_input(x, 0, in);
            fr_exec_forward(x, B);
            const float *y = fr_exec_output(x);
            float loss = fr_softmax_xent(B, ncls, y, lab, dlog);
            if (!isfinite(loss)) {
                fr_err_set(e, FR_ENUM, "training diverged (loss %g) at epoch %d step %d", loss, ep, s);
                goto fail;
            }
            loss_sum += loss;
            for (int k = 0; k < B; k++) {
                int best = 0;
                for (int q = 1; q < ncls; q++) if (y[k * ncls + q] > y[k * ncls + best]) best = q;
                correct += best == lab[k];
            }
            fr_exec_backward(x, B, dlog, 0);
            float lr = 0.5f * c->lr * (1.0f + cosf(3.14159265f * (float)step / (float)total));
            fr_adam_step(&opt, g, x, lr, c->weight_decay, step);
        }
        if (log)
            fprintf(log, "  epoch %d/%d: loss %.4f, train acc %.2f%%, %.0f s\n", ep + 1, c->epochs,
                    loss_sum / steps_per_epoch, 100.0 * correct / ((double)steps_per_epoch * B), fr_now() - t0);
    }
    int rc = FR_OK;
    if (0) {
fail:
        rc = e->code;
    }
    fr_adam_free(&opt, g);
    free(perm); free(lab); free(dlog); free(in);
    fr_exec_free(x);
    return rc;
}
