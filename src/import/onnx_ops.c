/* onnx_ops.c — lowering of ONNX operators (with at least one activation input) onto fr_ops.
 *
 * Design note
 *   Each ONNX value that depends on the input is an activation: an fr node plus its ONNX
 *   per-sample shape (rank 1..3, batch excluded).  fr nodes are (C,H,W); ONNX per-sample dims
 *   are mapped left-aligned ([N,D] -> (D,1,1), [N,C,L] -> (C,L,1)), so "axis 1" is always the
 *   fr channel axis.  Constants broadcast against an activation are re-shaped here into a 3-D
 *   (C,H,W) tensor with the same data order, which is what the executor's broadcast expects.
 *   Weight transformations (Gemm alpha/transB, MatMul transpose, Gemm beta on the bias) are
 *   recorded in the origin table so onnx_write.c can invert them.
 *   Anything that cannot be represented exactly is refused with a message naming the node.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_int.h"

static int is_op(const ox_node *nd, const char *op) { return strcmp(nd->op, op) == 0; }

int ox_new_node(ox_ctx *x, const ox_node *nd, const char *suffix, fr_op op, int n_in, const int *in)
{
    fr_graph *g = &x->m->g;
    char nm[FR_NAME_MAX];
    const char *base = nd->name[0] ? nd->name : nd->nout && nd->out[0][0] ? nd->out[0] : NULL;
    if (base && strlen(base) + strlen(suffix) < FR_NAME_MAX) snprintf(nm, sizeof nm, "%.90s%.5s", base, suffix);
    else snprintf(nm, sizeof nm, "%.40s_%d%s", nd->op, g->n_nodes, suffix);
    if (ox_find_node(x, nm) >= 0) snprintf(nm, sizeof nm, "%.60s_%d%s", base ? base : nd->op, g->n_nodes, suffix);
    return fr_graph_add_node(g, nm, op, n_in, in);
}

static void set_act(ox_ctx *x, const ox_node *nd, int node, int rank, const int64_t *d)
{
    if (nd->nout < 1 || !nd->out[0][0]) return;
    ox_val *v = ox_find(x, nd->out[0]);
    v->kind = OX_ACT;
    v->node = node;
    v->rank = rank;
    v->d[0] = v->d[1] = v->d[2] = 1;
    for (int k = 0; k < rank; k++) v->d[k] = d[k];
}

static void alias(ox_ctx *x, const ox_node *nd, const ox_val *v) { set_act(x, nd, v->node, v->rank, v->d); }

static int is_act(const ox_val *v) { return v && v->kind == OX_ACT; }
static int is_const(const ox_val *v) { return v && v->kind == OX_CONST; }

static int const_float(ox_ctx *x, const ox_node *nd, const ox_val *v, float *out)
{
    if (!is_const(v) || v->c.n != 1) return ox_err(x, nd, "input '%.80s' must be a constant scalar", v ? v->name : "");
    *out = (float)ox_const_get(&v->c, 0);
    return FR_OK;
}

const float *ox_fdata(ox_ctx *x, const ox_const *c)
{
    if (c->cls == OX_F) return c->f;
    float *f = ox_alloc(&x->ar, (size_t)(c->n ? c->n : 1) * sizeof(float));
    for (int64_t k = 0; k < c->n; k++) f[k] = (float)c->i[k];
    return f;
}

static int ints_attr(ox_ctx *x, const ox_node *nd, const char *name, int want, int64_t *out, int64_t def)
{
    const ox_attr *a = ox_attr_get(nd, name);
    for (int k = 0; k < want; k++) out[k] = def;
    if (!a) return FR_OK;
    if (a->nis != want) return ox_err(x, nd, "attribute %s has %d entries, expected %d", name, a->nis, want);
    for (int k = 0; k < want; k++) {
        if (a->is[k] < -65536 || a->is[k] > 65536) return ox_err(x, nd, "attribute %s value %lld out of range", name, (long long)a->is[k]);
        out[k] = a->is[k];
    }
    return FR_OK;
}

/* Spatial attributes shared by Conv and the pools.  k = kernel (kh, kw). */
static int spatial(ox_ctx *x, const ox_node *nd, const ox_val *X, const int64_t *k, fr_attrs *a, int is_pool)
{
    int64_t st[2], dl[2], pd[4];
    if (ints_attr(x, nd, "strides", 2, st, 1) || ints_attr(x, nd, "dilations", 2, dl, 1) || ints_attr(x, nd, "pads", 4, pd, 0))
        return FR_EINPUT;
    if (st[0] < 1 || st[1] < 1 || dl[0] < 1 || dl[1] < 1 || k[0] < 1 || k[1] < 1 || k[0] > 4096 || k[1] > 4096)
        return ox_err(x, nd, "invalid kernel/strides/dilations");
    for (int q = 0; q < 4; q++) if (pd[q] < 0) return ox_err(x, nd, "negative padding");
    if (is_pool && (dl[0] != 1 || dl[1] != 1)) return ox_unsupported(x, nd, "dilated pooling");
    const ox_attr *ap = ox_attr_get(nd, "auto_pad");
    const char *mode = ap && ap->has_s ? ap->s : "NOTSET";
    int64_t in[2] = {X->d[1], X->d[2]};
    if (strcmp(mode, "SAME_UPPER") == 0 || strcmp(mode, "SAME_LOWER") == 0) {
        for (int q = 0; q < 2; q++) {
            int64_t out = (in[q] + st[q] - 1) / st[q];
            int64_t tot = FR_MAX(0, (out - 1) * st[q] + (k[q] - 1) * dl[q] + 1 - in[q]);
            int64_t lo = mode[5] == 'U' ? tot / 2 : (tot + 1) / 2;
            pd[q] = lo; pd[q + 2] = tot - lo;
        }
    } else if (strcmp(mode, "VALID") == 0) {
        pd[0] = pd[1] = pd[2] = pd[3] = 0;
    } else if (strcmp(mode, "NOTSET") != 0) {
        return ox_err(x, nd, "unknown auto_pad '%.40s'", mode);
    }
    if (is_pool && ox_attr_int(nd, "ceil_mode", 0)) {
        for (int q = 0; q < 2; q++) {
            int64_t span = in[q] + pd[q] + pd[q + 2] - k[q];
            if (span < 0) return ox_err(x, nd, "pooling window larger than input");
            int64_t oc = (span + st[q] - 1) / st[q] + 1;
            if ((oc - 1) * st[q] >= in[q] + pd[q]) oc--;      /* last window must start inside */
            int64_t extra = (oc - 1) * st[q] + k[q] - (in[q] + pd[q] + pd[q + 2]);
            if (extra > 0) {
                if (is_op(nd, "AveragePool") && ox_attr_int(nd, "count_include_pad", 0))
                    return ox_unsupported(x, nd, "ceil_mode=1 with count_include_pad=1 needs padding that is not counted");
                if (pd[q + 2] + extra >= k[q]) return ox_unsupported(x, nd, "ceil_mode=1 overhang as large as the kernel");
                pd[q + 2] += extra;
            }
        }
    }
    a->kh = (int)k[0]; a->kw = (int)k[1];
    a->sh = (int)st[0]; a->sw = (int)st[1];
    a->dh = (int)dl[0]; a->dw = (int)dl[1];
    a->pt = (int)pd[0]; a->pl = (int)pd[1]; a->pb = (int)pd[2]; a->pr = (int)pd[3];
    return FR_OK;
}

static int out_hw(ox_ctx *x, const ox_node *nd, const ox_val *X, const fr_attrs *a, int64_t *d)
{
    int64_t oh = (X->d[1] + a->pt + a->pb - (int64_t)a->dh * (a->kh - 1) - 1) / a->sh + 1;
    int64_t ow = (X->d[2] + a->pl + a->pr - (int64_t)a->dw * (a->kw - 1) - 1) / a->sw + 1;
    if (X->d[1] + a->pt + a->pb < (int64_t)a->dh * (a->kh - 1) + 1 || X->d[2] + a->pl + a->pr < (int64_t)a->dw * (a->kw - 1) + 1 ||
        oh < 1 || ow < 1)
        return ox_err(x, nd, "kernel larger than the padded input (%lldx%lld)", (long long)X->d[1], (long long)X->d[2]);
    d[1] = oh; d[2] = ow;
    return FR_OK;
}

static int need_act(ox_ctx *x, const ox_node *nd, ox_val **in, int rmin, int rmax)
{
    if (nd->nin < 1 || !is_act(in[0])) return ox_unsupported(x, nd, "first input is not an activation");
    if (in[0]->rank < rmin || in[0]->rank > rmax) {
        char why[96];
        snprintf(why, sizeof why, "input of rank %d (supported: %d..%d)", in[0]->rank + 1, rmin + 1, rmax + 1);
        return ox_unsupported(x, nd, why);
    }
    return FR_OK;
}

static int lower_conv(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (need_act(x, nd, in, 2, 3)) return FR_EINPUT;
    if (in[0]->rank != 3) return ox_unsupported(x, nd, "1-D convolution (only 2-D NCHW convolutions)");
    if (nd->nin < 2 || !is_const(in[1])) return ox_unsupported(x, nd, "weights that are not constant");
    const ox_const *W = &in[1]->c;
    if (W->ndim != 4) return ox_unsupported(x, nd, "weight rank other than 4 (only 2-D convolutions)");
    int64_t k[2] = {W->dim[2], W->dim[3]}, ks[2];
    if (ints_attr(x, nd, "kernel_shape", 2, ks, 0)) return FR_EINPUT;
    if (ox_attr_get(nd, "kernel_shape") && (ks[0] != k[0] || ks[1] != k[1])) return ox_err(x, nd, "kernel_shape does not match the weight");
    int64_t groups = ox_attr_int(nd, "group", 1);
    if (groups < 1 || groups > in[0]->d[0] || W->dim[0] < 1) return ox_err(x, nd, "invalid group count %lld", (long long)groups);
    fr_attrs a;
    memset(&a, 0, sizeof a);
    if (spatial(x, nd, in[0], k, &a, 0)) return FR_EINPUT;
    int64_t d[3] = {W->dim[0], 0, 0};
    if (out_hw(x, nd, in[0], &a, d)) return FR_EINPUT;
    int t = ox_add_tensor(x, in[1]->name, 4, W->dim, ox_fdata(x, W)), tb = -1;
    if (nd->nin > 2 && in[2]) {
        if (!is_const(in[2]) || in[2]->c.n != W->dim[0]) return ox_err(x, nd, "bias must be a constant of %lld values", (long long)W->dim[0]);
        int64_t bd = W->dim[0];
        tb = ox_add_tensor(x, in[2]->name, 1, &bd, ox_fdata(x, &in[2]->c));
        x->orig[tb].is_bias = 1;
    }
    int n = ox_new_node(x, nd, "", FR_OP_CONV, 1, &in[0]->node);
    fr_node *f = &x->m->g.nodes[n];
    a.groups = (int)groups;
    a.eps = f->a.eps;
    a.perm[0] = 0; a.perm[1] = 1; a.perm[2] = 2;
    f->a = a;
    f->param[0] = t; f->param[1] = tb; f->n_param = tb >= 0 ? 2 : 1;
    set_act(x, nd, n, 3, d);
    return FR_OK;
}

/* W[out,in] from B (2-D const): transposed unless transB; scaled by alpha. */
static int lower_linear(ox_ctx *x, const ox_node *nd, ox_val **in, int gemm)
{
    if (nd->nin >= 2 && is_const(in[0]) && is_act(in[1])) return ox_unsupported(x, nd, "constant first operand (activation on the right)");
    if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
    if (in[0]->rank != 1) return ox_unsupported(x, nd, "activation of rank > 2 (only [N, D] inputs)");
    if (gemm && ox_attr_int(nd, "transA", 0)) return ox_unsupported(x, nd, "transA=1 with an activation input");
    if (nd->nin < 2 || !is_const(in[1]) || in[1]->c.ndim != 2) return ox_unsupported(x, nd, "second operand that is not a constant 2-D matrix");
    const ox_const *B = &in[1]->c;
    int transB = gemm && ox_attr_int(nd, "transB", 0);
    double alpha = gemm ? ox_attr_float(nd, "alpha", 1.0f) : 1.0, beta = gemm ? ox_attr_float(nd, "beta", 1.0f) : 1.0;
    int64_t I = transB ? B->dim[1] : B->dim[0], O = transB ? B->dim[0] : B->dim[1];
    if (I != in[0]->d[0]) return ox_err(x, nd, "weight expects %lld inputs, activation has %lld", (long long)I, (long long)in[0]->d[0]);
    if (O < 1) return ox_err(x, nd, "empty weight");
    const float *src = ox_fdata(x, B);
    float *w = ox_alloc(&x->ar, (size_t)(O * I) * sizeof(float));
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++) w[o * I + i] = (float)(alpha * (transB ? src[o * I + i] : src[i * O + o]));
    int64_t wd[2] = {O, I};
    int t = ox_add_tensor(x, in[1]->name, 2, wd, w), tb = -1;
    x->orig[t].transposed = !transB;
    x->orig[t].rows = B->dim[0]; x->orig[t].cols = B->dim[1];
    x->orig[t].scale = alpha;
    if (gemm && nd->nin > 2 && in[2] && beta != 0) {
        if (!is_const(in[2])) return ox_unsupported(x, nd, "bias C that is not constant");
        const ox_const *C = &in[2]->c;
        int ok = C->n == 1 || (C->n == O && C->dim[C->ndim - 1] == O);
        if (!ok) return ox_unsupported(x, nd, "bias C that varies along the batch dimension");
        const float *cs = ox_fdata(x, C);
        float *b = ox_alloc(&x->ar, (size_t)O * sizeof(float));
        for (int64_t o = 0; o < O; o++) b[o] = (float)(beta * cs[C->n == 1 ? 0 : o]);
        tb = ox_add_tensor(x, in[2]->name, 1, &O, b);
        x->orig[tb].scale = beta;
        x->orig[tb].is_bias = 1;
        if (C->n != O) x->orig[tb].onnx = NULL;   /* a broadcast scalar cannot be written back per output */
    }
    int n = ox_new_node(x, nd, "", FR_OP_LINEAR, 1, &in[0]->node);
    fr_node *f = &x->m->g.nodes[n];
    f->param[0] = t; f->param[1] = tb; f->n_param = tb >= 0 ? 2 : 1;
    set_act(x, nd, n, 1, &O);
    return FR_OK;
}

static fr_op bin_op(const ox_node *nd)
{
    return nd->op[0] == 'A' ? FR_OP_ADD : nd->op[0] == 'S' ? FR_OP_SUB : nd->op[0] == 'M' ? FR_OP_MUL : FR_OP_DIV;
}

/* act (op) const; returns the new node. */
static int act_const(ox_ctx *x, const ox_node *nd, const ox_val *A, const ox_val *C, fr_op op, const char *suffix)
{
    const ox_const *c = &C->c;
    int R = A->rank + 1;
    if (c->ndim > R) return -ox_err(x, nd, "constant '%.80s' has more dims than the activation", C->name);
    if (c->ndim == R && c->dim[0] != 1) return -ox_err(x, nd, "constant '%.80s' varies along the batch dimension", C->name);
    int64_t e[3] = {1, 1, 1};
    for (int k = 0; k < A->rank; k++) {
        int ck = k + 1 - (R - c->ndim);
        if (ck >= 0) e[k] = c->dim[ck];
        if (e[k] != 1 && e[k] != A->d[k])
            return -ox_unsupported(x, nd, "constant broadcast that enlarges the activation");
    }
    int t = ox_add_tensor(x, C->name, 3, e, ox_fdata(x, c));
    int n = ox_new_node(x, nd, suffix, op, 1, &A->node);
    x->m->g.nodes[n].param[0] = t;
    x->m->g.nodes[n].n_param = 1;
    return n;
}

static int lower_binary(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (nd->nin != 2 || !in[0] || !in[1]) return ox_err(x, nd, "%s needs two inputs", nd->op);
    fr_op op = bin_op(nd);
    ox_val *A = in[0], *B = in[1];
    int comm = op == FR_OP_ADD || op == FR_OP_MUL;
    if (is_const(A) && comm) { ox_val *t = A; A = B; B = t; }
    if (A->rank > 3 || B->rank > 3) return ox_unsupported(x, nd, "rank");
    if (is_act(A) && is_act(B)) {
        if (A->rank != B->rank) return ox_unsupported(x, nd, "activations of different ranks");
        int fwd = 1, rev = 1;
        for (int k = 0; k < A->rank; k++) {
            fwd &= B->d[k] == A->d[k] || B->d[k] == 1;
            rev &= B->d[k] == A->d[k] || A->d[k] == 1;
        }
        if (!fwd && rev && comm) { ox_val *t = A; A = B; B = t; fwd = 1; }
        if (!fwd) return ox_unsupported(x, nd, "broadcast of the first operand");
        int ins[2] = {A->node, B->node};
        int n = ox_new_node(x, nd, "", op, 2, ins);
        set_act(x, nd, n, A->rank, A->d);
        return FR_OK;
    }
    if (is_act(A)) {
        /* MatMul/Gemm output + 1-D constant bias: fold into the linear layer. */
        fr_node *p = &x->m->g.nodes[A->node];
        if (op == FR_OP_ADD && p->op == FR_OP_LINEAR && p->param[1] < 0 && A->uses == 1 && A->node == x->m->g.n_nodes - 1 &&
            A->rank == 1 && B->c.n == A->d[0] && B->c.dim[B->c.ndim - 1] == A->d[0]) {
            int64_t O = A->d[0];
            int tb = ox_add_tensor(x, B->name, 1, &O, ox_fdata(x, &B->c));
            p = &x->m->g.nodes[A->node];
            x->orig[tb].is_bias = 1;
            p->param[1] = tb;
            p->n_param = 2;
            alias(x, nd, A);
            return FR_OK;
        }
        int n = act_const(x, nd, A, B, op, "");
        if (n < 0) return -n;
        set_act(x, nd, n, A->rank, A->d);
        return FR_OK;
    }
    if (op == FR_OP_SUB) {   /* c - x = (x * -1) + c */
        ox_val neg;
        memset(&neg, 0, sizeof neg);
        neg.name = "";
        neg.kind = OX_CONST;
        if (ox_const_alloc(x, nd, &neg.c, OX_F, 0, NULL)) return FR_EINPUT;
        neg.c.f[0] = -1.0f;
        int n1 = act_const(x, nd, B, &neg, FR_OP_MUL, ".neg");
        if (n1 < 0) return -n1;
        ox_val tmp = *B;
        tmp.node = n1;
        int n2 = act_const(x, nd, &tmp, A, FR_OP_ADD, "");
        if (n2 < 0) return -n2;
        set_act(x, nd, n2, B->rank, B->d);
        return FR_OK;
    }
    return ox_unsupported(x, nd, "constant divided by an activation");
}

static int simple(ox_ctx *x, const ox_node *nd, ox_val **in, fr_op op, float alpha, float beta)
{
    if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
    int n = ox_new_node(x, nd, "", op, 1, &in[0]->node);
    x->m->g.nodes[n].a.alpha = alpha;
    x->m->g.nodes[n].a.beta = beta;
    set_act(x, nd, n, in[0]->rank, in[0]->d);
    return FR_OK;
}

static int lower_clip(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    float lo = -FLT_MAX, hi = FLT_MAX;
    if (x->opset < 11) {
        lo = ox_attr_float(nd, "min", lo);
        hi = ox_attr_float(nd, "max", hi);
    } else {
        if (nd->nin > 1 && in[1] && const_float(x, nd, in[1], &lo)) return FR_EINPUT;
        if (nd->nin > 2 && in[2] && const_float(x, nd, in[2], &hi)) return FR_EINPUT;
    }
    if (isnan(lo) || isnan(hi)) return ox_err(x, nd, "NaN clip bound");
    lo = fmaxf(lo, -FLT_MAX); hi = fminf(hi, FLT_MAX);
    if (lo == 0 && hi == 6) return simple(x, nd, in, FR_OP_RELU6, 0, 0);
    if (lo == 0 && hi == FLT_MAX) return simple(x, nd, in, FR_OP_RELU, 0, 0);
    return simple(x, nd, in, FR_OP_CLIP, lo, hi);
}

/* ReduceMean over the two spatial axes of an NCHW activation is a global average pool: timm's
 * squeeze-and-excitation (x.mean((2, 3), keepdim=True)) and many classifier heads write it so.
 * Axes come from the attribute (opset < 18) or a constant second input (18+); keepdims = 0
 * leaves [N, C], which is the same (C,1,1) node seen at ONNX rank 2.  Other axes are refused. */
static int lower_reduce_mean(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (need_act(x, nd, in, 3, 3)) return FR_EINPUT;
    int64_t ax[8];
    int na = 0;
    const ox_attr *a = ox_attr_get(nd, "axes");
    if (a && a->has_is) {
        for (int k = 0; k < a->nis && na < 8; k++) ax[na++] = a->is[k];
        if (a->nis > 8) na = 9;
    } else if (nd->nin > 1 && in[1]) {
        if (!is_const(in[1]) || in[1]->c.n > 8) return ox_unsupported(x, nd, "axes that are not a constant list");
        for (int64_t k = 0; k < in[1]->c.n; k++) ax[na++] = (int64_t)ox_const_get(&in[1]->c, k);
    }
    int seen = 0;
    for (int k = 0; k < na && na <= 8; k++) {
        int64_t v = ax[k] < 0 ? ax[k] + 4 : ax[k];
        seen |= v == 2 ? 1 : v == 3 ? 2 : 4;
    }
    if (seen != 3) return ox_unsupported(x, nd, "only the mean over both spatial axes (2, 3) is supported");
    int n = ox_new_node(x, nd, "", FR_OP_GAP, 1, &in[0]->node);
    int64_t d[3] = {in[0]->d[0], 1, 1};
    set_act(x, nd, n, ox_attr_int(nd, "keepdims", 1) ? 3 : 1, d);
    return FR_OK;
}

static int lower_bn(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
    if (ox_attr_int(nd, "training_mode", 0) || (x->opset < 7 && ox_attr_int(nd, "is_test", 0) == 0 && ox_attr_get(nd, "is_test")))
        return ox_unsupported(x, nd, "training mode");
    if (ox_attr_int(nd, "spatial", 1) == 0) return ox_unsupported(x, nd, "spatial=0");
    for (int k = 1; k < nd->nout; k++)
        if (nd->out[k][0] && ox_find(x, nd->out[k])->uses) return ox_unsupported(x, nd, "training-mode outputs");
    if (nd->nin != 5) return ox_err(x, nd, "BatchNormalization needs 5 inputs");
    int n = ox_new_node(x, nd, "", FR_OP_BN, 1, &in[0]->node);
    for (int k = 1; k < 5; k++) {
        if (!is_const(in[k]) || in[k]->c.n != in[0]->d[0])
            return ox_err(x, nd, "parameter %d must be a constant of %lld values", k, (long long)in[0]->d[0]);
        int64_t C = in[0]->d[0];
        int t = ox_add_tensor(x, in[k]->name, 1, &C, ox_fdata(x, &in[k]->c));
        x->m->g.nodes[n].param[k - 1] = t;
    }
    x->m->g.nodes[n].n_param = 4;
    x->m->g.nodes[n].a.eps = ox_attr_float(nd, "epsilon", 1e-5f);
    set_act(x, nd, n, in[0]->rank, in[0]->d);
    return FR_OK;
}

static int lower_pool(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
    if (in[0]->rank != 3) return ox_unsupported(x, nd, "1-D or 3-D pooling (only 2-D NCHW)");
    if (nd->nout > 1 && nd->out[1][0]) return ox_unsupported(x, nd, "Indices output");
    int64_t k[2];
    if (ints_attr(x, nd, "kernel_shape", 2, k, 0)) return FR_EINPUT;
    if (!ox_attr_get(nd, "kernel_shape")) return ox_err(x, nd, "kernel_shape is required");
    fr_attrs a;
    memset(&a, 0, sizeof a);
    if (spatial(x, nd, in[0], k, &a, 1)) return FR_EINPUT;
    if (a.pt >= a.kh || a.pb >= a.kh || a.pl >= a.kw || a.pr >= a.kw) return ox_unsupported(x, nd, "padding as large as the kernel");
    int64_t d[3] = {in[0]->d[0], 0, 0};
    if (out_hw(x, nd, in[0], &a, d)) return FR_EINPUT;
    int n = ox_new_node(x, nd, "", nd->op[0] == 'M' ? FR_OP_MAXPOOL : FR_OP_AVGPOOL, 1, &in[0]->node);
    fr_node *f = &x->m->g.nodes[n];
    a.groups = 1;
    a.eps = f->a.eps;
    a.perm[0] = 0; a.perm[1] = 1; a.perm[2] = 2;
    a.count_include_pad = (int)ox_attr_int(nd, "count_include_pad", 0);
    f->a = a;
    set_act(x, nd, n, 3, d);
    return FR_OK;
}

static int lower_reshape(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
    if (nd->nin != 2 || !is_const(in[1]) || in[1]->c.cls != OX_I || in[1]->c.ndim != 1)
        return ox_unsupported(x, nd, "shape that is not a constant (or foldable) 1-D integer tensor");
    const ox_const *s = &in[1]->c;
    const ox_val *X = in[0];
    int64_t P = X->d[0] * X->d[1] * X->d[2];
    int k = (int)s->n;
    if (k < 2 || k > 4) return ox_unsupported(x, nd, "target rank outside 2..4");
    int allow0 = (int)ox_attr_int(nd, "allowzero", 0);
    int64_t t[4], known = 1;
    int neg = -1;
    for (int j = 0; j < k; j++) {
        int64_t v = s->i[j];
        if (v == 0) {
            if (allow0) return ox_unsupported(x, nd, "allowzero=1 with a zero dimension");
            if (j > X->rank) return ox_err(x, nd, "0 in target dim %d copies a missing input dim", j);
            v = j == 0 ? OX_BATCH : X->d[j - 1];
        }
        t[j] = v;
        if (j == 0) continue;
        if (v == OX_BATCH) return ox_unsupported(x, nd, "the batch dimension moved away from the front");
        if (v == -1) { if (neg >= 0) return ox_err(x, nd, "two -1 entries in the target shape"); neg = j; continue; }
        if (v < 1 || v > ((int64_t)1 << 26)) return ox_err(x, nd, "invalid target dim %lld", (long long)v);
        known *= v;
        if (known > ((int64_t)1 << 26)) return ox_err(x, nd, "target shape too large");
    }
    if (t[0] == -1) {
        if (neg >= 0 || known != P) return ox_unsupported(x, nd, "target shape that changes the batch dimension");
    } else if (t[0] != OX_BATCH && !(t[0] == x->batch0 && x->batch0 > 0)) {
        return ox_unsupported(x, nd, "target shape with a fixed leading dim other than the batch size");
    }
    if (neg >= 0) {
        if (P % known) return ox_err(x, nd, "cannot infer -1: %lld elements per sample", (long long)P);
        t[neg] = P / known;
        known = P;
    }
    if (known != P) return ox_err(x, nd, "reshape of %lld elements per sample to %lld", (long long)P, (long long)known);
    int64_t e[3] = {1, 1, 1};
    for (int j = 1; j < k; j++) e[j - 1] = t[j];
    if (e[0] == X->d[0] && e[1] == X->d[1] && e[2] == X->d[2]) {
        set_act(x, nd, X->node, k - 1, e);
        return FR_OK;
    }
    int n = ox_new_node(x, nd, "", FR_OP_RESHAPE, 1, &X->node);
    fr_node *f = &x->m->g.nodes[n];
    f->a.out_c = (int)e[0]; f->a.out_h = (int)e[1]; f->a.out_w = (int)e[2];
    set_act(x, nd, n, k - 1, e);
    return FR_OK;
}

static int lower_flatten(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
    const ox_val *X = in[0];
    int R = X->rank + 1;
    int64_t ax = ox_attr_int(nd, "axis", 1);
    if (ax < 0) ax += R;
    if (ax < 0 || ax > R) return ox_err(x, nd, "axis out of range");
    int64_t lead = 1;
    for (int k = 0; k + 1 < ax; k++) lead *= X->d[k];
    if (ax == 0 || lead != 1) return ox_unsupported(x, nd, "axis that merges the batch with other dims");
    int64_t P = X->d[0] * X->d[1] * X->d[2];
    if (X->rank == 1 || P == X->d[0]) { set_act(x, nd, X->node, 1, &P); return FR_OK; }
    int n = ox_new_node(x, nd, "", FR_OP_FLATTEN, 1, &X->node);
    set_act(x, nd, n, 1, &P);
    return FR_OK;
}

static int lower_transpose(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
    const ox_val *X = in[0];
    int R = X->rank + 1;
    const ox_attr *pa = ox_attr_get(nd, "perm");
    int64_t perm[4] = {0, 1, 2, 3};
    if (pa && pa->nis != R) return ox_err(x, nd, "perm has %d entries for a rank-%d input", pa->nis, R);
    for (int k = 0; k < R; k++) perm[k] = pa ? pa->is[k] : R - 1 - k;
    if (perm[0] != 0) return ox_unsupported(x, nd, "perm that moves the batch dimension");
    int p[3] = {0, 1, 2}, seen = 0;
    for (int k = 0; k + 1 < R; k++) {
        int64_t v = perm[k + 1] - 1;
        if (v < 0 || v >= X->rank || (seen & (1 << v))) return ox_err(x, nd, "invalid perm");
        seen |= 1 << v;
        p[k] = (int)v;
    }
    int64_t d[3] = {X->d[p[0]], X->d[p[1]], X->d[p[2]]};
    if (p[0] == 0 && p[1] == 1 && p[2] == 2) { alias(x, nd, X); return FR_OK; }
    int n = ox_new_node(x, nd, "", FR_OP_TRANSPOSE, 1, &X->node);
    memcpy(x->m->g.nodes[n].a.perm, p, sizeof p);
    set_act(x, nd, n, X->rank, d);
    return FR_OK;
}

static int lower_concat(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (nd->nin < 1 || nd->nin > FR_MAX_IN) return ox_unsupported(x, nd, "more than 8 inputs");
    for (int k = 0; k < nd->nin; k++)
        if (!is_act(in[k])) return ox_unsupported(x, nd, "a constant among activation inputs");
    const ox_val *X = in[0];
    int64_t ax = ox_attr_int(nd, "axis", 1);
    if (ax < 0) ax += X->rank + 1;
    if (ax != 1) return ox_unsupported(x, nd, "axis other than the channel axis 1");
    int64_t d[3] = {0, X->d[1], X->d[2]};
    int ins[FR_MAX_IN];
    for (int k = 0; k < nd->nin; k++) {
        if (in[k]->rank != X->rank || in[k]->d[1] != X->d[1] || in[k]->d[2] != X->d[2])
            return ox_err(x, nd, "inputs differ in shape outside the channel axis");
        d[0] += in[k]->d[0];
        ins[k] = in[k]->node;
    }
    int n = ox_new_node(x, nd, "", FR_OP_CONCAT, nd->nin, ins);
    set_act(x, nd, n, X->rank, d);
    return FR_OK;
}

static int lower_softmax(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
    const ox_val *X = in[0];
    int R = X->rank + 1;
    int64_t ax = ox_attr_int(nd, "axis", x->opset < 13 ? 1 : -1);
    if (ax < 0) ax += R;
    int rest1 = X->d[1] == 1 && X->d[2] == 1;
    int ok = ax == 1 && (X->rank == 1 || x->opset >= 13 || rest1);
    if (!ok) return ox_unsupported(x, nd, "softmax over an axis other than the channels");
    return simple(x, nd, in, FR_OP_SOFTMAX, 0, 0);
}

int ox_lower(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    const char *op = nd->op;
    if (is_op(nd, "Conv")) return lower_conv(x, nd, in);
    if (is_op(nd, "Gemm")) return lower_linear(x, nd, in, 1);
    if (is_op(nd, "MatMul")) return lower_linear(x, nd, in, 0);
    if (is_op(nd, "Add") || is_op(nd, "Sub") || is_op(nd, "Mul") || is_op(nd, "Div")) return lower_binary(x, nd, in);
    if (is_op(nd, "Relu")) return simple(x, nd, in, FR_OP_RELU, 0, 0);
    if (is_op(nd, "Sigmoid")) return simple(x, nd, in, FR_OP_SIGMOID, 0, 0);
    if (is_op(nd, "HardSwish")) return simple(x, nd, in, FR_OP_HARDSWISH, 0, 0);
    if (is_op(nd, "HardSigmoid"))
        return simple(x, nd, in, FR_OP_HARDSIGMOID, ox_attr_float(nd, "alpha", 0.2f), ox_attr_float(nd, "beta", 0.5f));
    if (is_op(nd, "Clip")) return lower_clip(x, nd, in);
    if (is_op(nd, "BatchNormalization")) return lower_bn(x, nd, in);
    if (is_op(nd, "MaxPool") || is_op(nd, "AveragePool")) return lower_pool(x, nd, in);
    if (is_op(nd, "GlobalAveragePool")) {
        if (need_act(x, nd, in, 3, 3)) return FR_EINPUT;
        int n = ox_new_node(x, nd, "", FR_OP_GAP, 1, &in[0]->node);
        int64_t d[3] = {in[0]->d[0], 1, 1};
        set_act(x, nd, n, 3, d);
        return FR_OK;
    }
    if (is_op(nd, "ReduceMean")) return lower_reduce_mean(x, nd, in);
    if (is_op(nd, "Flatten")) return lower_flatten(x, nd, in);
    if (is_op(nd, "Reshape")) return lower_reshape(x, nd, in);
    if (is_op(nd, "Transpose")) return lower_transpose(x, nd, in);
    if (is_op(nd, "Concat")) return lower_concat(x, nd, in);
    if (is_op(nd, "Softmax")) return lower_softmax(x, nd, in);
    if (is_op(nd, "Identity") || is_op(nd, "Dropout")) {
        if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
        if (nd->nout > 1 && nd->out[1][0] && ox_find(x, nd->out[1])->uses) return ox_unsupported(x, nd, "mask output");
        alias(x, nd, in[0]);
        return FR_OK;
    }
    if (is_op(nd, "Expand")) {
        if (need_act(x, nd, in, 1, 3)) return FR_EINPUT;
        if (nd->nin == 2 && is_const(in[1]) && in[1]->c.cls == OX_I && in[1]->c.ndim == 1 && in[1]->c.n <= in[0]->rank + 1) {
            int ok = 1, R = in[0]->rank + 1, off = R - (int)in[1]->c.n;
            for (int k = 0; k < in[1]->c.n; k++) {
                int64_t v = in[1]->c.i[k], have = k + off == 0 ? OX_BATCH : in[0]->d[k + off - 1];
                ok &= v == 1 || v == have;
            }
            if (ok) { alias(x, nd, in[0]); return FR_OK; }
        }
        return ox_unsupported(x, nd, "Expand that enlarges an activation");
    }
    (void)op;
    return ox_unsupported(x, nd, NULL);
}
