/* graph.c — construction, validation, shape inference and BN folding for fr_graph/fr_model.
 *
 * Design note: every loader (bundle reader, ONNX and tfjs importers, trainer) funnels through
 * fr_graph_validate, so the executor may trust the invariants listed in graph.h and only
 * asserts them.  Validation never allocates in proportion to untrusted sizes.
 */
#include "frtui/graph.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[FR_OP__COUNT] = {
    [FR_OP_INPUT] = "input",       [FR_OP_CONV] = "conv",         [FR_OP_LINEAR] = "linear",
    [FR_OP_RELU] = "relu",         [FR_OP_RELU6] = "relu6",       [FR_OP_ADD] = "add",
    [FR_OP_MAXPOOL] = "maxpool",   [FR_OP_AVGPOOL] = "avgpool",   [FR_OP_GAP] = "gap",
    [FR_OP_FLATTEN] = "flatten",   [FR_OP_BN] = "batchnorm",      [FR_OP_SOFTMAX] = "softmax",
    [FR_OP_SIGMOID] = "sigmoid",   [FR_OP_HARDSIGMOID] = "hardsigmoid",
    [FR_OP_HARDSWISH] = "hardswish", [FR_OP_CLIP] = "clip",       [FR_OP_MUL] = "mul",
    [FR_OP_SUB] = "sub",           [FR_OP_DIV] = "div",           [FR_OP_CONCAT] = "concat",
    [FR_OP_PAD] = "pad",           [FR_OP_TRANSPOSE] = "transpose", [FR_OP_RESHAPE] = "reshape",
    [FR_OP_LAYERNORM] = "layernorm", [FR_OP_RMSNORM] = "rmsnorm", [FR_OP_GELU] = "gelu",
    [FR_OP_SILU] = "silu",         [FR_OP_ROPE] = "rope",         [FR_OP_ATTENTION] = "attention",
    [FR_OP_EMBED] = "embed",
};

const char *fr_op_name(fr_op op)
{
    if ((int)op < 0 || op >= FR_OP__COUNT) return "?";
    return op_names[op];
}

int fr_op_from_name(const char *name)
{
    for (int i = 0; i < FR_OP__COUNT; i++)
        if (strcmp(op_names[i], name) == 0) return i;
    return -1;
}

int64_t fr_tensor_numel(const fr_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dim[i];
    return n;
}

void fr_graph_init(fr_graph *g) { memset(g, 0, sizeof *g); }

void fr_graph_free(fr_graph *g)
{
    for (int i = 0; i < g->n_tensors; i++) fr_afree(g->tensors[i].data);
    free(g->tensors);
    free(g->nodes);
    memset(g, 0, sizeof *g);
}

int fr_graph_add_tensor(fr_graph *g, const char *name, int ndim, const int64_t *dim)
{
    FR_ASSERT(ndim >= 1 && ndim <= 4);
    if (g->n_tensors == g->cap_tensors) {
        g->cap_tensors = g->cap_tensors ? 2 * g->cap_tensors : 16;
        g->tensors = fr_xrealloc(g->tensors, (size_t)g->cap_tensors * sizeof *g->tensors);
    }
    fr_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    for (int i = 0; i < 4; i++) t->dim[i] = i < ndim ? dim[i] : 1;
    int64_t n = fr_tensor_numel(t);
    FR_ASSERT(n >= 0);
    t->data = fr_amalloc((size_t)(n ? n : 1) * sizeof(float));
    if (!t->data) fr_abort(__FILE__, __LINE__, "out of memory for tensor %s", name);
    memset(t->data, 0, (size_t)(n ? n : 1) * sizeof(float));
    return g->n_tensors++;
}

int fr_graph_add_node(fr_graph *g, const char *name, fr_op op, int n_in, const int *in)
{
    FR_ASSERT(n_in >= 0 && n_in <= FR_MAX_IN);
    if (g->n_nodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 32;
        g->nodes = fr_xrealloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
    }
    fr_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->op = op;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    for (int i = 0; i < FR_MAX_PARAM; i++) n->param[i] = -1;
    n->a.sh = n->a.sw = n->a.dh = n->a.dw = n->a.groups = 1;
    n->a.eps = 1e-5f;
    n->a.perm[0] = 0; n->a.perm[1] = 1; n->a.perm[2] = 2;
    return g->n_nodes++;
}

int fr_graph_find_node(const fr_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return i;
    return -1;
}

int fr_graph_find_tensor(const fr_graph *g, const char *name)
{
    for (int i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return i;
    return -1;
}

int fr_node_is_layer(const fr_node *n) { return n->op == FR_OP_CONV || n->op == FR_OP_LINEAR; }

int fr_graph_lm_vocab(const fr_graph *g)
{
    if (g->n_nodes < 3) return 0;
    const fr_node *in = &g->nodes[0], *out = &g->nodes[g->n_nodes - 1];
    if (in->h != 1 || in->w != 1 || out->c != in->c || out->h != 1 || out->w < 2) return 0;
    int readers = 0;
    for (int i = 1; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == 0) {
                if (g->nodes[i].op != FR_OP_EMBED) return 0;
                readers++;
            }
    return readers ? out->w : 0;
}

int64_t fr_graph_param_count(const fr_graph *g)
{
    int64_t s = 0;
    for (int i = 0; i < g->n_tensors; i++) s += fr_tensor_numel(&g->tensors[i]);
    return s;
}

/* Per-sample dims of a broadcast constant: the tensor's dims right-aligned to (C, H, W). */
static int const_bcast_dims(const fr_tensor *t, int d[3])
{
    d[0] = d[1] = d[2] = 1;
    int nd = t->ndim;
    /* A leading batch dim of 1 (ONNX [1,C,1,1]) is dropped. */
    int start = 0;
    if (nd == 4) { if (t->dim[0] != 1) return -1; start = 1; }
    int k = 2;
    for (int i = nd - 1; i >= start; i--, k--) {
        if (k < 0) return -1;
        d[k] = (int)t->dim[i];
    }
    return 0;
}

static int bcast_ok(int a, int b) { return b == 1 || b == a; }

/* Number of activation inputs each op takes; -1 = variable (concat), -2 = 1 or 2 (binary). */
static int op_arity(fr_op op)
{
    switch (op) {
    case FR_OP_INPUT: return 0;
    case FR_OP_ADD: case FR_OP_SUB: case FR_OP_MUL: case FR_OP_DIV: return -2;
    case FR_OP_CONCAT: return -1;
    case FR_OP_ATTENTION: return 3;
    default: return 1;
    }
}

#define NODE_ERR(code, ...) fr_err_set(e, code, __VA_ARGS__)

static const fr_tensor *param(const fr_graph *g, const fr_node *n, int k)
{
    int t = n->param[k];
    return (t >= 0 && t < g->n_tensors) ? &g->tensors[t] : NULL;
}

/* The largest kernel side the ONNX importer accepts; the validator enforces it for .frm too. */
#define FR_MAX_KERNEL 4096
#define TRY_NODE(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

/* Stride and dilation are bounded by the padded input: a larger stride selects the same single
 * window, and the depthwise kernel's time grew linearly with it (611 s for a 0.07 s job from a
 * crafted .frm; issue 14, item 4).  The importer checked this, the .frm reader did not. */
static int window_fits(const fr_node *n, const fr_attrs *a, const fr_node *x, fr_err *e)
{
    int64_t ph = (int64_t)x->h + a->pt + a->pb, pw = (int64_t)x->w + a->pl + a->pr;
    if (a->sh > ph || a->sw > pw || a->dh > ph || a->dw > pw)
        return NODE_ERR(FR_EINPUT, "node %s: stride %dx%d / dilation %dx%d exceed the padded input %lldx%lld", n->name,
                        a->sh, a->sw, a->dh, a->dw, (long long)ph, (long long)pw);
    return FR_OK;
}

int fr_graph_infer_shapes(fr_graph *g, int in_c, int in_h, int in_w, fr_err *e)
{
    const int64_t lim = (int64_t)1 << 28;
    for (int i = 0; i < g->n_nodes; i++) {
        fr_node *n = &g->nodes[i];
        const fr_node *x = n->n_in > 0 ? &g->nodes[n->in[0]] : NULL;
        const fr_attrs *a = &n->a;
        switch (n->op) {
        case FR_OP_INPUT:
            n->c = in_c; n->h = in_h; n->w = in_w;
            break;
        case FR_OP_CONV: {
            const fr_tensor *W = param(g, n, 0), *B = param(g, n, 1);
            if (!W || W->ndim != 4)
                return NODE_ERR(FR_EINPUT, "node %s: conv weight missing or not 4-D", n->name);
            if (a->groups < 1 || x->c % a->groups || W->dim[0] % a->groups)
                return NODE_ERR(FR_EINPUT, "node %s: %d input channels / %lld outputs not divisible by groups %d",
                                n->name, x->c, (long long)W->dim[0], a->groups);
            if (W->dim[1] != x->c / a->groups || W->dim[2] != a->kh || W->dim[3] != a->kw)
                return NODE_ERR(FR_EINPUT, "node %s: weight shape [%lld,%lld,%lld,%lld] does not match input "
                                "channels %d/groups %d and kernel %dx%d", n->name, (long long)W->dim[0],
                                (long long)W->dim[1], (long long)W->dim[2], (long long)W->dim[3], x->c,
                                a->groups, a->kh, a->kw);
            if (B && fr_tensor_numel(B) != W->dim[0])
                return NODE_ERR(FR_EINPUT, "node %s: bias has %lld entries, expected %lld", n->name,
                                (long long)fr_tensor_numel(B), (long long)W->dim[0]);
            if (a->sh < 1 || a->sw < 1 || a->dh < 1 || a->dw < 1 || a->pt < 0 || a->pl < 0 || a->pb < 0 || a->pr < 0 ||
                a->kh > FR_MAX_KERNEL || a->kw > FR_MAX_KERNEL)
                return NODE_ERR(FR_EINPUT, "node %s: invalid kernel/stride/dilation/padding", n->name);
            TRY_NODE(window_fits(n, a, x, e));
            /* A window reaching past the padded input is refused here, not truncated toward zero
             * into a 1-wide output the kernels refuse with an assertion (found by fuzz_exec). */
            int64_t eh = (int64_t)x->h + a->pt + a->pb - (int64_t)a->dh * (a->kh - 1) - 1;
            int64_t ew = (int64_t)x->w + a->pl + a->pr - (int64_t)a->dw * (a->kw - 1) - 1;
            int64_t oh = eh < 0 ? 0 : eh / a->sh + 1, ow = ew < 0 ? 0 : ew / a->sw + 1;
            if (oh < 1 || ow < 1 || oh > lim || ow > lim)
                return NODE_ERR(FR_EINPUT, "node %s: output spatial size %lldx%lld is invalid", n->name,
                                (long long)oh, (long long)ow);
            n->c = (int)W->dim[0]; n->h = (int)oh; n->w = (int)ow;
            break;
        }
        case FR_OP_LINEAR: {
            const fr_tensor *W = param(g, n, 0), *B = param(g, n, 1);
            if (!W || W->ndim != 2)
                return NODE_ERR(FR_EINPUT, "node %s: linear weight missing or not 2-D", n->name);
            if (a->tokens < 0 || (a->tokens > 0 && (x->c != a->tokens || x->h != 1)))
                return NODE_ERR(FR_EINPUT, "node %s: %d tokens, but producer %s is %dx%dx%d (tokens x 1 x features "
                                "expected)", n->name, a->tokens, x->name, x->c, x->h, x->w);
            int64_t in = a->tokens ? (int64_t)x->w : (int64_t)x->c * x->h * x->w;
            if (W->dim[1] != in)
                return NODE_ERR(FR_EINPUT, "node %s: weight expects %lld inputs, producer %s gives %lld",
                                n->name, (long long)W->dim[1], x->name, (long long)in);
            if (B && fr_tensor_numel(B) != W->dim[0])
                return NODE_ERR(FR_EINPUT, "node %s: bias has %lld entries, expected %lld", n->name,
                                (long long)fr_tensor_numel(B), (long long)W->dim[0]);
            if (a->tokens) { n->c = a->tokens; n->h = 1; n->w = (int)W->dim[0]; }
            else { n->c = (int)W->dim[0]; n->h = n->w = 1; }
            break;
        }
        case FR_OP_RELU: case FR_OP_RELU6: case FR_OP_SIGMOID: case FR_OP_HARDSIGMOID:
        case FR_OP_HARDSWISH: case FR_OP_CLIP: case FR_OP_SOFTMAX: case FR_OP_SILU:
            n->c = x->c; n->h = x->h; n->w = x->w;
            break;
        case FR_OP_GELU:
            if (a->form != 0 && a->form != 1) return NODE_ERR(FR_EINPUT, "node %s: gelu form %d (0 erf, 1 tanh)", n->name, a->form);
            n->c = x->c; n->h = x->h; n->w = x->w;
            break;
        case FR_OP_ROPE:
            if (x->h != 1 || a->heads < 1 || x->w % a->heads || (x->w / a->heads) % 2 || !(a->theta > 1) ||
                !isfinite(a->theta))
                return NODE_ERR(FR_EINPUT, "node %s: rope needs (T, 1, heads * even head size) and theta > 1; got "
                                "%dx%dx%d, %d heads, theta %g", n->name, x->c, x->h, x->w, a->heads, (double)a->theta);
            n->c = x->c; n->h = 1; n->w = x->w;
            break;
        case FR_OP_ATTENTION: {
            const fr_node *k = &g->nodes[n->in[1]], *v = &g->nodes[n->in[2]];
            if (a->heads < 1 || a->kv_heads < 1 || a->heads % a->kv_heads || x->h != 1 || x->w % a->heads)
                return NODE_ERR(FR_EINPUT, "node %s: %d heads / %d kv heads do not fit q %dx%dx%d", n->name, a->heads,
                                a->kv_heads, x->c, x->h, x->w);
            const int hd = x->w / a->heads;
            if (k->c != x->c || v->c != x->c || k->h != 1 || v->h != 1 || k->w != a->kv_heads * hd || v->w != k->w)
                return NODE_ERR(FR_EINPUT, "node %s: k %dx%dx%d / v %dx%dx%d do not match q %dx%dx%d with %d kv heads",
                                n->name, k->c, k->h, k->w, v->c, v->h, v->w, x->c, x->h, x->w, a->kv_heads);
            n->c = x->c; n->h = 1; n->w = x->w;
            break;
        }
        case FR_OP_EMBED: {
            const fr_tensor *t = param(g, n, 0);
            if (!t || t->ndim != 2 || x->h != 1 || x->w != 1)
                return NODE_ERR(FR_EINPUT, "node %s: embed needs token ids (T, 1, 1) and a [vocab, d] table", n->name);
            n->c = x->c; n->h = 1; n->w = (int)t->dim[1];
            break;
        }
        case FR_OP_LAYERNORM: case FR_OP_RMSNORM: {
            const int np = n->op == FR_OP_LAYERNORM ? 2 : 1;
            for (int k = 0; k < np; k++) {
                const fr_tensor *t = param(g, n, k);
                if ((k == 0 || t) && (!t || fr_tensor_numel(t) != x->w))
                    return NODE_ERR(FR_EINPUT, "node %s: %s parameter %d missing or not of size %d (the feature count)",
                                    n->name, fr_op_name(n->op), k, x->w);
            }
            if (!(n->a.eps > 0) || !isfinite(n->a.eps))
                return NODE_ERR(FR_EINPUT, "node %s: %s eps must be positive", n->name, fr_op_name(n->op));
            n->c = x->c; n->h = x->h; n->w = x->w;
            break;
        }
        case FR_OP_BN: {
            for (int k = 0; k < 4; k++) {
                const fr_tensor *t = param(g, n, k);
                if (!t || fr_tensor_numel(t) != x->c)
                    return NODE_ERR(FR_EINPUT, "node %s: batchnorm parameter %d missing or not of size %d",
                                    n->name, k, x->c);
            }
            if (!(n->a.eps > 0) || !isfinite(n->a.eps))
                return NODE_ERR(FR_EINPUT, "node %s: batchnorm eps must be positive", n->name);
            n->c = x->c; n->h = x->h; n->w = x->w;
            break;
        }
        case FR_OP_ADD: case FR_OP_SUB: case FR_OP_MUL: case FR_OP_DIV: {
            int d[3];
            if (n->n_in == 2) {
                const fr_node *y = &g->nodes[n->in[1]];
                d[0] = y->c; d[1] = y->h; d[2] = y->w;
            } else {
                const fr_tensor *t = param(g, n, 0);
                if (!t || const_bcast_dims(t, d) != 0)
                    return NODE_ERR(FR_EINPUT, "node %s: constant operand missing or not broadcastable", n->name);
            }
            if (!bcast_ok(x->c, d[0]) || !bcast_ok(x->h, d[1]) || !bcast_ok(x->w, d[2]))
                return NODE_ERR(FR_EINPUT, "node %s: cannot broadcast %dx%dx%d onto %dx%dx%d", n->name,
                                d[0], d[1], d[2], x->c, x->h, x->w);
            n->c = x->c; n->h = x->h; n->w = x->w;
            break;
        }
        case FR_OP_MAXPOOL: case FR_OP_AVGPOOL: {
            if (a->kh < 1 || a->kw < 1 || a->sh < 1 || a->sw < 1 || a->pt < 0 || a->pl < 0 || a->pb < 0 || a->pr < 0
                || a->pt >= a->kh || a->pb >= a->kh || a->pl >= a->kw || a->pr >= a->kw || a->kh > FR_MAX_KERNEL
                || a->kw > FR_MAX_KERNEL)
                return NODE_ERR(FR_EINPUT, "node %s: invalid pooling kernel/stride/padding", n->name);
            TRY_NODE(window_fits(n, a, x, e));
            int64_t eh = (int64_t)x->h + a->pt + a->pb - a->kh, ew = (int64_t)x->w + a->pl + a->pr - a->kw;
            int64_t oh = eh < 0 ? 0 : eh / a->sh + 1, ow = ew < 0 ? 0 : ew / a->sw + 1;
            if (oh < 1 || ow < 1)
                return NODE_ERR(FR_EINPUT, "node %s: pooling window larger than input", n->name);
            n->c = x->c; n->h = (int)oh; n->w = (int)ow;
            break;
        }
        case FR_OP_GAP:
            n->c = x->c; n->h = n->w = 1;
            break;
        case FR_OP_FLATTEN: {
            int64_t c = (int64_t)x->c * x->h * x->w;
            if (c > lim) return NODE_ERR(FR_EINPUT, "node %s: flattened size too large", n->name);
            n->c = (int)c; n->h = n->w = 1;
            break;
        }
        case FR_OP_CONCAT: {
            int64_t c = 0;
            for (int k = 0; k < n->n_in; k++) {
                const fr_node *y = &g->nodes[n->in[k]];
                if (y->h != x->h || y->w != x->w)
                    return NODE_ERR(FR_EINPUT, "node %s: concat inputs differ in spatial size", n->name);
                c += y->c;
            }
            if (c > lim) return NODE_ERR(FR_EINPUT, "node %s: concat too large", n->name);
            n->c = (int)c; n->h = x->h; n->w = x->w;
            break;
        }
        case FR_OP_PAD:
            if (a->pt < 0 || a->pl < 0 || a->pb < 0 || a->pr < 0 || a->pt + a->pb > 65536 || a->pl + a->pr > 65536)
                return NODE_ERR(FR_EINPUT, "node %s: invalid padding", n->name);
            n->c = x->c; n->h = x->h + a->pt + a->pb; n->w = x->w + a->pl + a->pr;
            break;
        case FR_OP_TRANSPOSE: {
            int seen = 0, d[3] = {x->c, x->h, x->w}, o[3];
            for (int k = 0; k < 3; k++) {
                if (a->perm[k] < 0 || a->perm[k] > 2 || (seen & (1 << a->perm[k])))
                    return NODE_ERR(FR_EINPUT, "node %s: invalid permutation", n->name);
                seen |= 1 << a->perm[k];
                o[k] = d[a->perm[k]];
            }
            n->c = o[0]; n->h = o[1]; n->w = o[2];
            break;
        }
        case FR_OP_RESHAPE: {
            /* Three int32 sides overflow int64 (found by fuzz_frms, F4): multiply with a check. */
            int64_t want = 0, have = (int64_t)x->c * x->h * x->w;
            if (a->out_c < 1 || a->out_h < 1 || a->out_w < 1 ||
                __builtin_mul_overflow((int64_t)a->out_c, (int64_t)a->out_h, &want) ||
                __builtin_mul_overflow(want, (int64_t)a->out_w, &want) || want != have)
                return NODE_ERR(FR_EINPUT, "node %s: reshape to %dx%dx%d does not preserve %lld elements", n->name,
                                a->out_c, a->out_h, a->out_w, (long long)have);
            n->c = a->out_c; n->h = a->out_h; n->w = a->out_w;
            break;
        }
        default:
            return NODE_ERR(FR_EINPUT, "node %s: unknown operator %d", n->name, (int)n->op);
        }
        int64_t act;
        if (__builtin_mul_overflow((int64_t)n->c, (int64_t)n->h, &act) || __builtin_mul_overflow(act, (int64_t)n->w, &act) ||
            act > lim)
            return NODE_ERR(FR_EINPUT, "node %s: activation of %dx%dx%d is too large", n->name, n->c, n->h, n->w);
    }
    return FR_OK;
}

int fr_graph_validate(fr_graph *g, const fr_meta *m, const char *src, fr_err *e)
{
    if (g->n_nodes < 2) return fr_err_set(e, FR_EINPUT, "%s: graph has no operators", src);
    if (g->nodes[0].op != FR_OP_INPUT)
        return fr_err_set(e, FR_EINPUT, "%s: first node must be the input", src);
    if (m->in_c < 1 || m->in_h < 1 || m->in_w < 1 || (int64_t)m->in_c * m->in_h * m->in_w > ((int64_t)1 << 26))
        return fr_err_set(e, FR_EINPUT, "%s: invalid input shape %dx%dx%d", src, m->in_c, m->in_h, m->in_w);
    for (int i = 0; i < g->n_tensors; i++) {
        const fr_tensor *t = &g->tensors[i];
        if (!t->data) return fr_err_set(e, FR_EINPUT, "%s: tensor %s has no data", src, t->name);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        fr_node *n = &g->nodes[i];
        if ((int)n->op < 0 || n->op >= FR_OP__COUNT)
            return fr_err_set(e, FR_EINPUT, "%s: node %s has an unknown operator", src, n->name);
        if (i > 0 && n->op == FR_OP_INPUT)
            return fr_err_set(e, FR_EINPUT, "%s: node %s: more than one input node", src, n->name);
        int ar = op_arity(n->op);
        if ((ar >= 0 && n->n_in != ar) || (ar == -2 && (n->n_in < 1 || n->n_in > 2)) ||
            (ar == -1 && (n->n_in < 1 || n->n_in > FR_MAX_IN)))
            return fr_err_set(e, FR_EINPUT, "%s: node %s (%s) has %d inputs", src, n->name, fr_op_name(n->op), n->n_in);
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] < 0 || n->in[k] >= g->n_nodes)
                return fr_err_set(e, FR_EINPUT, "%s: node %s: input %d refers to node %d, which does not exist",
                                  src, n->name, k, n->in[k]);
            if (n->in[k] >= i)
                return fr_err_set(e, FR_EINPUT, "%s: node %s: input from %s is not earlier in the graph (cycle or "
                                  "unsorted graph)", src, n->name, g->nodes[n->in[k]].name);
        }
        if (n->n_param < 0 || n->n_param > FR_MAX_PARAM)
            return fr_err_set(e, FR_EINPUT, "%s: node %s: bad parameter count", src, n->name);
        for (int k = 0; k < FR_MAX_PARAM; k++)
            if (n->param[k] < -1 || n->param[k] >= g->n_tensors)
                return fr_err_set(e, FR_EINPUT, "%s: node %s: parameter %d refers to a missing tensor", src, n->name, k);
    }
    fr_err sub;
    fr_err_clear(&sub);
    if (fr_graph_infer_shapes(g, m->in_c, m->in_h, m->in_w, &sub) != FR_OK)
        return fr_err_set(e, FR_EINPUT, "%s: %s", src, sub.msg);
    for (int i = 0; i < g->n_tensors; i++) {
        const fr_tensor *t = &g->tensors[i];
        int64_t n = fr_tensor_numel(t);
        for (int64_t k = 0; k < n; k++)
            if (!isfinite(t->data[k]))
                return fr_err_set(e, FR_EINPUT, "%s: tensor %s holds a non-finite value at index %lld", src, t->name,
                                  (long long)k);
    }
    return FR_OK;
}

static void compact(fr_graph *g, const int *remap);

/* Number of consumers of each node's output. */
static void count_uses(const fr_graph *g, int *uses)
{
    memset(uses, 0, (size_t)g->n_nodes * sizeof *uses);
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) uses[g->nodes[i].in[k]]++;
}

void fr_graph_fold_bn(fr_graph *g)
{
    if (g->n_nodes == 0) return;
    int *uses = fr_xcalloc((size_t)g->n_nodes, sizeof *uses);
    int *remap = fr_xcalloc((size_t)g->n_nodes, sizeof *remap);
    count_uses(g, uses);
    /* Pass 1: fold, marking removed BN nodes with remap = producer index. */
    for (int i = 0; i < g->n_nodes; i++) {
        remap[i] = i;
        fr_node *n = &g->nodes[i];
        if (n->op != FR_OP_BN || n->n_in != 1) continue;
        fr_node *p = &g->nodes[n->in[0]];
        if (!fr_node_is_layer(p) || uses[n->in[0]] != 1 || n->in[0] == g->n_nodes - 1) continue;
        fr_tensor *W = &g->tensors[p->param[0]];
        int64_t O = W->dim[0], per = fr_tensor_numel(W) / O;
        if (p->param[1] < 0) {
            char nm[FR_NAME_MAX + 8];
            snprintf(nm, sizeof nm, "%.*s.bias", FR_NAME_MAX - 8, p->name);
            int64_t d[1] = {O};
            int t = fr_graph_add_tensor(g, nm, 1, d);
            W = &g->tensors[p->param[0]];     /* the tensor array may have moved */
            p->param[1] = t;
            if (p->n_param < 2) p->n_param = 2;
        }
        float *B = g->tensors[p->param[1]].data;
        const float *gam = g->tensors[n->param[0]].data, *bet = g->tensors[n->param[1]].data;
        const float *mu = g->tensors[n->param[2]].data, *var = g->tensors[n->param[3]].data;
        for (int64_t o = 0; o < O; o++) {
            /* Folding in double keeps the folded weights as close as float allows. */
            double sc = (double)gam[o] / sqrt((double)var[o] + (double)n->a.eps);
            for (int64_t k = 0; k < per; k++) W->data[o * per + k] = (float)(W->data[o * per + k] * sc);
            B[o] = (float)(bet[o] + ((double)B[o] - mu[o]) * sc);
        }
        remap[i] = remap[n->in[0]];
        n->op = FR_OP__COUNT;   /* tombstone */
    }
    compact(g, remap);
    free(remap);
    free(uses);
}

/* Clamp interval of a clamp-family activation; 0 when n is not one. */
static int clamp_of(const fr_node *n, float *lo, float *hi)
{
    switch (n->op) {
    case FR_OP_RELU: *lo = 0; *hi = FLT_MAX; return 1;
    case FR_OP_RELU6: *lo = 0; *hi = 6; return 1;
    case FR_OP_CLIP: *lo = n->a.alpha; *hi = n->a.beta; return 1;
    default: return 0;
    }
}

int fr_graph_fuse_acts(fr_graph *g)
{
    if (g->n_nodes == 0) return 0;
    int *uses = fr_xcalloc((size_t)g->n_nodes, sizeof *uses);
    int *remap = fr_xcalloc((size_t)g->n_nodes, sizeof *remap);
    count_uses(g, uses);
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        remap[i] = i;
        fr_node *q = &g->nodes[i];
        float lo2, hi2, lo1, hi1;
        if (q->n_in != 1 || !clamp_of(q, &lo2, &hi2)) continue;
        int pi = remap[q->in[0]];   /* final: earlier removals point at live nodes */
        q->in[0] = pi;
        fr_node *p = &g->nodes[pi];
        int p_clamp = clamp_of(p, &lo1, &hi1);
        if (!p_clamp && (p->op == FR_OP_SIGMOID || p->op == FR_OP_HARDSIGMOID)) lo1 = 0, hi1 = 1;
        else if (!p_clamp) continue;
        /* A clamp that contains its input's whole range does nothing (Relu after Relu6 or a
         * sigmoid, Clip(0, 6) after a hard-sigmoid): its readers read the input instead.  The
         * graph's output node stays (it must be the last node). */
        if (lo2 <= lo1 && hi2 >= hi1 && i != g->n_nodes - 1) {
            remap[i] = pi;
            uses[pi] += uses[i] - 1;
            q->op = FR_OP__COUNT;
            fused++;
            continue;
        }
        if (!p_clamp || uses[pi] != 1) continue;
        /* clamp(clamp(x, a, b), c, d) = clamp(x, max(a, c), min(b, d)) when the intervals meet;
         * disjoint ones make a constant, which is left alone (no exporter writes that). */
        float lo = fmaxf(lo1, lo2), hi = fminf(hi1, hi2);
        if (lo > hi) continue;
        q->op = lo == 0 && hi == FLT_MAX ? FR_OP_RELU : lo == 0 && hi == 6 ? FR_OP_RELU6 : FR_OP_CLIP;
        q->a.alpha = q->op == FR_OP_CLIP ? lo : 0;
        q->a.beta = q->op == FR_OP_CLIP ? hi : 0;
        q->in[0] = p->in[0];
        remap[pi] = p->in[0];
        p->op = FR_OP__COUNT;   /* tombstone; q keeps its name (its output is what others read) */
        fused++;
    }
    if (fused) compact(g, remap);
    free(remap);
    free(uses);
    return fused;
}

/* Removes tombstoned nodes (op FR_OP__COUNT), rewriting inputs through remap (a removed node's
 * readers read remap[node] instead), then to the new positions. */
static void compact(fr_graph *g, const int *remap)
{
    int *newpos = fr_xcalloc((size_t)g->n_nodes, sizeof *newpos);
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == FR_OP__COUNT) { newpos[i] = -1; continue; }
        newpos[i] = k;
        fr_node nd = g->nodes[i];
        for (int j = 0; j < nd.n_in; j++) nd.in[j] = newpos[remap[nd.in[j]]];
        g->nodes[k++] = nd;
    }
    g->n_nodes = k;
    free(newpos);
}

void fr_model_init(fr_model *m)
{
    memset(m, 0, sizeof *m);
    fr_graph_init(&m->g);
    snprintf(m->meta.layout, sizeof m->meta.layout, "NCHW");
    for (int c = 0; c < 4; c++) m->meta.std[c] = 1.0f;
}

void fr_dataset_free(fr_dataset *d)
{
    fr_afree(d->u8);
    fr_afree(d->f32);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

void fr_model_free(fr_model *m)
{
    fr_graph_free(&m->g);
    fr_dataset_free(&m->calib);
    fr_dataset_free(&m->eval);
    if (m->meta.class_names) {
        for (int i = 0; i < m->meta.n_classes; i++) free(m->meta.class_names[i]);
        free(m->meta.class_names);
    }
    free(m->quant_json);
    fr_model_init(m);
}

void fr_dataset_sample(const fr_dataset *d, const fr_meta *m, int i, float *out)
{
    FR_ASSERT(i >= 0 && i < d->n);
    size_t hw = (size_t)d->h * d->w, per = (size_t)d->c * hw;
    for (int c = 0; c < d->c; c++) {
        float mean = c < 4 ? m->mean[c] : 0.0f, inv = c < 4 && m->std[c] != 0 ? 1.0f / m->std[c] : 1.0f;
        for (size_t k = 0; k < hw; k++) {
            size_t idx = (size_t)i * per + (size_t)c * hw + k;
            float raw = d->dtype == 0 ? (float)d->u8[idx] : d->f32[idx];
            out[(size_t)c * hw + k] = (raw * d->scale + d->offset - mean) * inv;
        }
    }
}

void fr_graph_copy(fr_graph *dst, const fr_graph *src)
{
    fr_graph_init(dst);
    for (int t = 0; t < src->n_tensors; t++) {
        const fr_tensor *s = &src->tensors[t];
        int k = fr_graph_add_tensor(dst, s->name, s->ndim, s->dim);
        memcpy(dst->tensors[k].data, s->data, (size_t)fr_tensor_numel(s) * sizeof(float));
    }
    dst->cap_nodes = dst->n_nodes = src->n_nodes;
    dst->nodes = fr_xmalloc((size_t)(src->n_nodes ? src->n_nodes : 1) * sizeof *dst->nodes);
    memcpy(dst->nodes, src->nodes, (size_t)src->n_nodes * sizeof *dst->nodes);
}

void fr_graph_head_split(const fr_graph *g, int i, int *head_rows, int *head_cols)
{
    *head_rows = *head_cols = 0;
    if (i < 0 || i >= g->n_nodes || g->nodes[i].op != FR_OP_LINEAR) return;
    const fr_node *n = &g->nodes[i];
    const fr_node *src = n->n_in > 0 ? &g->nodes[n->in[0]] : NULL;
    if (src && src->op == FR_OP_ATTENTION && src->a.heads > 0 && src->w % src->a.heads == 0)
        *head_cols = src->w / src->a.heads;
    for (int j = i + 1; j < g->n_nodes; j++) {
        const fr_node *c = &g->nodes[j];
        for (int k = 0; k < c->n_in; k++) {
            if (c->in[k] != i) continue;
            int heads = c->op == FR_OP_ROPE ? c->a.heads
                      : c->op == FR_OP_ATTENTION ? (k == 0 ? c->a.heads : c->a.kv_heads) : 0;
            if (heads > 0 && n->w % heads == 0) *head_rows = n->w / heads;
        }
    }
}
