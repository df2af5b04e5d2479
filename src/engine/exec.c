/* exec.c — graph executor over a node range; see include/frtui/exec.h for the contract.
 *
 * Design note
 *   Buffers are indexed by *global* node index (arrays of n_nodes pointers) so the hot paths
 *   never translate indices.  Gradients flowing into a node with several consumers (the
 *   residual input of a block) are summed: the first consumer's kernel writes the gradient
 *   buffer directly, later ones write into `tmp` which is then added in.  This keeps the
 *   kernels "overwrite" semantics and costs one extra pass only at fan-out points.
 *
 *   Memory: a few attribute bytes (pads, a large kernel on a padded input) derive activations
 *   of tens of GB, so fr_exec_new walks the plan twice: once to add up every buffer, checked
 *   with fr_mem_need against the memory there is, then to allocate.  The two walks are the
 *   same code, so the checked figure cannot drift from what is allocated
 *   (tests/test_memplan.c and tests/fuzz/fuzz_exec.c hold them to it).
 *
 *   Folding (issue 15, item 5: the units are memory-bound, these passes were a third of a
 *   MobileNetV2 block's time).  Two kinds of node are not materialised when their only consumer
 *   is a conv of the range:
 *   - a zero Pad (tfjs's ZeroPadding2D before every stride-2 depthwise): the conv reads the
 *     Pad's input with the Pad's amounts added to its own; its kernels build the same padded
 *     plane either way (phase planes, im2col columns);
 *   - a ReLU / ReLU6 / Clip feeding a depthwise conv, directly or through such a Pad (the
 *     expand activation of every inverted residual): the depthwise kernel applies it while it
 *     builds its phase planes and applies its backward while it writes dx, so the activation's
 *     forward pass and the write and re-read of its gradient go away.
 *   A third kind runs the other way: a ReLU / ReLU6 / Clip that is the only reader of a
 *   depthwise conv (the activation after every depthwise conv) is computed by that conv's
 *   forward sweep as it writes its output, and the conv's backward applies the activation's
 *   backward as it reads the gradient (conv_oact).  Both buffers stay filled, so nothing is
 *   stale; what goes away is the activation's read of the conv output and the write and re-read
 *   of the gradient between them.
 *   All give the bits of the separate passes (test_engine checks outputs, parameter and input
 *   gradients against the unfolded run).  The decision is taken at each forward (a hook on the
 *   node disables it) and backward follows that forward's decision.  A folded node's output is
 *   filled on demand by fr_exec_out, so readers of intermediate outputs (calibration caches,
 *   activation-quantizer init) never see a stale buffer.  Its buffers are still allocated: a
 *   hook set later turns folding off, and the plan must not depend on hooks.
 */
#include "frtui/exec.h"
#include "exec_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/conv.h"
#include "frtui/ops.h"
#include "frtui/tops.h"

/* One buffer of the plan.  In a dry walk (x->dry) nothing is allocated and only the size is
 * added up (saturating), so the figure checked before allocating is, by construction, the
 * figure the real walk allocates.  What is added is what fr_amalloc asks the allocator for:
 * the size rounded up to 64 bytes (at least 64).  Counting the floats alone understated plans
 * of many small buffers (a 1-float activation takes a 64-byte block): fuzz_exec found a plan
 * of 700 bytes whose allocations went past it and every bookkeeping array (finding F7). */
static float *alloc_f(fr_exec *x, size_t n, int *fail)
{
    size_t b = n > (SIZE_MAX - 63) / sizeof(float) ? SIZE_MAX : n * sizeof(float);
    size_t blk = b == SIZE_MAX ? SIZE_MAX : b ? (b + 63) & ~(size_t)63 : 64;
    x->bytes = blk > SIZE_MAX - x->bytes ? SIZE_MAX : x->bytes + blk;
    if (x->dry || *fail) return NULL;
    float *p = fr_amalloc(b);
    if (!p) { *fail = 1; return NULL; }
    /* Zeroed on every thread: this first touch takes the fresh pages' faults (a 224x224
     * unit's executor is GBs), which one thread alone took while the others waited. */
    fr_zero(n, p);
    return p;
}


static fr_exec *exec_alloc(fr_graph *g, int first, int last, int max_batch, int mode)
{
    FR_ASSERT(first >= 0 && last < g->n_nodes && first <= last && max_batch > 0);
    if (first == 0) first = 1;      /* the input node is always an external input */
    FR_ASSERT(first <= last);
    fr_exec *x = fr_xcalloc(1, sizeof *x);
    x->g = g; x->first = first; x->last = last; x->max_batch = max_batch; x->mode = mode;
    int N = g->n_nodes;
    x->out = fr_xcalloc((size_t)N, sizeof(float *));
    x->pre = fr_xcalloc((size_t)N, sizeof(float *));
    x->grad = fr_xcalloc((size_t)N, sizeof(float *));
    x->wover = fr_xcalloc((size_t)N, sizeof(float *));
    x->hooks = fr_xcalloc((size_t)N, sizeof(fr_out_hook));
    x->has_hook = fr_xcalloc((size_t)N, 1);
    x->grad_set = fr_xcalloc((size_t)N, 1);
    x->pgrad = fr_xcalloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof(float *));
    x->bn_xhat = fr_xcalloc((size_t)N, sizeof(float *));
    x->bn_mean = fr_xcalloc((size_t)N, sizeof(float *));
    x->bn_inv = fr_xcalloc((size_t)N, sizeof(float *));
    x->fold_cons = fr_xcalloc((size_t)N, sizeof(int));
    x->folded = fr_xcalloc((size_t)N, 1);
    x->stale = fr_xcalloc((size_t)N, 1);
    x->ofold_plan = fr_xcalloc((size_t)N, sizeof(int));
    x->oact_of = fr_xcalloc((size_t)N, sizeof(int));
    x->ofolded = fr_xcalloc((size_t)N, 1);
    x->fold_on = 1;
    x->tail = -1;
    x->bias_grads = 1;
    fr_xf_plan(x);
    return x;
}

/* Every buffer of the plan, in one walk shared by sizing (x->dry) and allocation. */
static int plan_walk(fr_exec *x, int *fail, fr_err *e)
{
    fr_graph *g = x->g;
    int first = x->first, last = x->last, mode = x->mode;
    size_t B = (size_t)x->max_batch, scratch = 0;
    unsigned char *tseen = fr_xcalloc((size_t)(g->n_tensors ? g->n_tensors : 1), 1);
    x->n_ext = 0;
    x->bytes = 0;
    x->max_act = 0;
    for (int i = first; i <= last; i++) {
        fr_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int j = n->in[k];
            if (j >= first) continue;
            int seen = 0;
            for (int q = 0; q < x->n_ext; q++) seen |= x->ext[q] == j;
            if (seen) continue;
            if (x->n_ext == MAX_EXT) {
                free(tseen);
                return fr_err_set(e, FR_EINPUT, "node range %s..%s reads more than %d outside values",
                                  g->nodes[first].name, n->name, MAX_EXT);
            }
            x->ext[x->n_ext++] = j;
        }
        size_t sz = fr_xf_node_size(n) * B;
        if (sz > x->max_act) x->max_act = sz;
        x->out[i] = alloc_f(x, sz, fail);
        if (n->op == FR_OP_CONV) {
            fr_conv_shape s;
            fr_xf_conv_shape(g, n, x->max_batch, &s);
            size_t sc = fr_conv_scratch(&s);
            if (sc > scratch) scratch = sc;
            if (n->in[0] >= first && x->fold_cons[n->in[0]] == i && g->nodes[n->in[0]].op == FR_OP_PAD) {
                fr_xf_shape(g, &g->nodes[n->in[0]], &s);
                fr_conv_out_shape(&s);
                sc = fr_conv_scratch(&s);
                if (sc > scratch) scratch = sc;
            }
        }
        if (n->op == FR_OP_ATTENTION) {   /* each row's log-sum-exp; one head's scores per part */
            x->bn_mean[i] = alloc_f(x, (size_t)n->a.heads * n->c * B, fail);
            size_t sc = fr_attention_work(n->c);
            if (sc > scratch) scratch = sc;
            if (mode != FR_EXEC_INFER)   /* dq, dk, dv before they go to their producers */
                x->bn_xhat[i] = alloc_f(x, sz + 2 * fr_xf_node_size(&g->nodes[n->in[1]]) * B, fail);
        }
        if (mode != FR_EXEC_INFER) {
            x->grad[i] = alloc_f(x, sz, fail);
            for (int k = 0; k < n->n_param; k++) {
                int t = n->param[k];
                if (t >= 0 && !tseen[t]) {
                    tseen[t] = 1;
                    x->pgrad[t] = alloc_f(x, (size_t)fr_tensor_numel(&g->tensors[t]), fail);
                }
            }
            if (n->op == FR_OP_LAYERNORM || n->op == FR_OP_RMSNORM) {   /* per-row mean and 1/std */
                x->bn_mean[i] = alloc_f(x, (size_t)n->c * n->h * B, fail);
                x->bn_inv[i] = alloc_f(x, (size_t)n->c * n->h * B, fail);
            }
            if (n->op == FR_OP_BN && mode == FR_EXEC_TRAIN) {
                x->bn_xhat[i] = alloc_f(x, sz, fail);
                x->bn_mean[i] = alloc_f(x, (size_t)n->c, fail);
                x->bn_inv[i] = alloc_f(x, (size_t)n->c, fail);
            }
        }
    }
    free(tseen);
    for (int q = 0; q < x->n_ext; q++) {
        size_t sz = fr_xf_node_size(&g->nodes[x->ext[q]]) * B;
        if (sz > x->max_act) x->max_act = sz;
        if (mode != FR_EXEC_INFER) x->ext_grad[q] = alloc_f(x, sz, fail);
    }
    x->scratch = alloc_f(x, scratch ? scratch : 1, fail);
    x->tmp = alloc_f(x, x->max_act, fail);
    x->tmp2 = alloc_f(x, x->max_act, fail);
    return FR_OK;
}

size_t fr_exec_plan_bytes(fr_graph *g, int first, int last, int max_batch, int mode)
{
    fr_exec *x = exec_alloc(g, first, last, max_batch, mode);
    x->dry = 1;
    int fail = 0;
    size_t b = plan_walk(x, &fail, NULL) ? SIZE_MAX : x->bytes;
    fr_exec_free(x);
    return b;
}

fr_exec *fr_exec_new(fr_graph *g, int first, int last, int max_batch, int mode, fr_err *e)
{
    fr_exec *x = exec_alloc(g, first, last, max_batch, mode);
    int fail = 0;
    /* Size first, refuse before the first byte (issue 14 item 3): a legal graph can derive
     * activations of tens of GB from a few bytes of attributes. */
    x->dry = 1;
    if (plan_walk(x, &fail, e) ||
        fr_mem_need(e, x->bytes, "executing %s..%s at batch %d", g->nodes[x->first].name, g->nodes[last].name,
                    max_batch)) {
        fr_exec_free(x);
        return NULL;
    }
    x->dry = 0;
    plan_walk(x, &fail, e);
    if (fail) {
        fr_err_set(e, FR_ENOMEM, "cannot allocate %.1f MB of activation buffers for %s..%s at batch %d",
                   (double)x->bytes / 1048576.0, g->nodes[x->first].name, g->nodes[last].name, max_batch);
        fr_exec_free(x);
        return NULL;
    }
    return x;
}

void fr_exec_free(fr_exec *x)
{
    if (!x) return;
    int N = x->g->n_nodes;
    for (int i = 0; i < N; i++) {
        fr_afree(x->out[i]); fr_afree(x->pre[i]); fr_afree(x->grad[i]);
        fr_afree(x->bn_xhat[i]); fr_afree(x->bn_mean[i]); fr_afree(x->bn_inv[i]);
    }
    for (int t = 0; t < x->g->n_tensors; t++) fr_afree(x->pgrad[t]);
    for (int q = 0; q < x->n_ext; q++) fr_afree(x->ext_grad[q]);
    fr_afree(x->scratch); fr_afree(x->tmp); fr_afree(x->tmp2);
    free(x->out); free(x->pre); free(x->grad); free(x->wover); free(x->hooks); free(x->has_hook);
    free(x->grad_set); free(x->pgrad); free(x->bn_xhat); free(x->bn_mean); free(x->bn_inv);
    free(x->fold_cons); free(x->folded); free(x->stale);
    free(x->ofold_plan); free(x->oact_of); free(x->ofolded);
    free(x);
}

size_t fr_exec_bytes(const fr_exec *x) { return x->bytes; }
int fr_exec_n_inputs(const fr_exec *x) { return x->n_ext; }
int fr_exec_input_node(const fr_exec *x, int k) { FR_ASSERT(k >= 0 && k < x->n_ext); return x->ext[k]; }

void fr_exec_bind_input(fr_exec *x, int k, const float *data)
{
    FR_ASSERT(k >= 0 && k < x->n_ext);
    x->ext_data[k] = data;
}

void fr_exec_set_weight(fr_exec *x, int node, const float *W)
{
    FR_ASSERT(node >= x->first && node <= x->last && fr_node_is_layer(&x->g->nodes[node]));
    x->wover[node] = W;
}

void fr_exec_set_hook(fr_exec *x, int node, const fr_out_hook *hook)
{
    FR_ASSERT(node >= x->first && node <= x->last);
    if (!hook) { x->has_hook[node] = 0; return; }
    if (!x->pre[node]) {
        size_t sz = fr_xf_node_size(&x->g->nodes[node]) * (size_t)x->max_batch;
        /* Not part of the plan: callers that hook nodes count these in their own estimate. */
        x->pre[node] = fr_amalloc(sz * sizeof(float));
        if (!x->pre[node]) fr_abort(__FILE__, __LINE__, "out of memory for hook buffer");
        x->bytes += sz * sizeof(float);
    }
    x->hooks[node] = *hook;
    x->has_hook[node] = 1;
}

/* A token id stored as a float: ids are checked when data is loaded; a stray value is clamped
 * here, so the table is never read out of bounds. */
static int embed_id(float f, int vocab) { return f >= 0 && f < (float)vocab ? (int)f : f >= (float)vocab ? vocab - 1 : 0; }

const float *fr_exec_out(const fr_exec *x, int node)
{
    FR_ASSERT(node >= x->first && node <= x->last);
    fr_xf_materialise(x, node);
    return x->out[node];
}

const float *fr_exec_output(const fr_exec *x)
{
    fr_xf_materialise(x, x->last);   /* a tail left to the caller (fr_exec_set_tail_act) */
    return x->out[x->last];
}

static const float *weight_of(const fr_exec *x, const fr_node *n, int i)
{
    return x->wover[i] ? x->wover[i] : x->g->tensors[n->param[0]].data;
}

static const float *tensor_or_null(const fr_graph *g, int t) { return t >= 0 ? g->tensors[t].data : NULL; }

static void const_dims(const fr_tensor *t, int d[3])
{
    d[0] = d[1] = d[2] = 1;
    int start = t->ndim == 4 ? 1 : 0, k = 2;
    for (int i = t->ndim - 1; i >= start && k >= 0; i--, k--) d[k] = (int)t->dim[i];
}

static void softmax_channels(int nb, int c, int hw, const float *in, float *y)
{
    for (int s = 0; s < nb; s++)
        for (int p = 0; p < hw; p++) {
            const float *a = in + (size_t)s * c * hw + p;
            float *o = y + (size_t)s * c * hw + p;
            float mx = a[0];
            for (int k = 1; k < c; k++) mx = fmaxf(mx, a[(size_t)k * hw]);
            double sum = 0;
            for (int k = 0; k < c; k++) { o[(size_t)k * hw] = expf(a[(size_t)k * hw] - mx); sum += o[(size_t)k * hw]; }
            float inv = (float)(1.0 / sum);
            for (int k = 0; k < c; k++) o[(size_t)k * hw] *= inv;
        }
}

void fr_exec_forward(fr_exec *x, int nb) { fr_exec_forward_slice(x, nb, 0, 0); }

void fr_exec_forward_slice(fr_exec *x, int nb, int slice_of, int slice0)
{
    FR_ASSERT(nb > 0 && nb <= x->max_batch);
    fr_graph *g = x->g;
    x->fwd_nb = nb;
    fr_xf_decide(x);
    for (int i = x->first; i <= x->last; i++) {
        const fr_node *n = &g->nodes[i];
        if (x->folded[i] || x->ofolded[i] || i == x->tail) continue;
        float *y = x->has_hook[i] ? x->pre[i] : x->out[i];
        const float *a = fr_xf_in_ptr(x, n->in[0]);
        const fr_node *an = &g->nodes[n->in[0]];
        size_t cnt = fr_xf_node_size(n) * (size_t)nb;
        int hw = n->h * n->w;
        switch (n->op) {
        case FR_OP_CONV: {
            fr_conv_shape s;
            fr_xf_conv_shape(g, n, nb, &s);
            s.slice_of = slice_of;
            s.slice0 = slice0;
            a = fr_xf_in_ptr(x, fr_xf_conv_source(x, n, &s));
            fr_xf_conv_oact(x, i, &s);
            fr_conv_forward(&s, a, weight_of(x, n, i), tensor_or_null(g, n->param[1]), y, x->scratch);
            break;
        }
        case FR_OP_LINEAR:
            if (n->a.tokens)
                fr_linear_forward_tokens(nb, n->a.tokens, slice_of, slice0, an->w, n->w, a, weight_of(x, n, i),
                                         tensor_or_null(g, n->param[1]), y);
            else
                fr_linear_forward_slice(nb, slice_of, slice0, (int)fr_xf_node_size(an), n->c, a, weight_of(x, n, i),
                                        tensor_or_null(g, n->param[1]), y);
            break;
        case FR_OP_LAYERNORM: case FR_OP_RMSNORM: {
            /* inference plans keep no statistics buffers: the rows' mean and 1/std go to scratch */
            float *m = x->bn_mean[i] ? x->bn_mean[i] : x->tmp, *r = x->bn_inv[i] ? x->bn_inv[i] : x->tmp2;
            const int rows = nb * n->c * n->h;
            if (n->op == FR_OP_LAYERNORM)
                fr_layernorm_forward(rows, n->w, a, g->tensors[n->param[0]].data, tensor_or_null(g, n->param[1]),
                                     n->a.eps, y, m, r);
            else
                fr_rmsnorm_forward(rows, n->w, a, g->tensors[n->param[0]].data, n->a.eps, y, r);
            break;
        }
        case FR_OP_GELU: fr_gelu_forward(cnt, n->a.form ? FR_GELU_TANH : FR_GELU_ERF, a, y); break;
        case FR_OP_SILU: fr_silu_forward(cnt, a, y); break;
        case FR_OP_ROPE:
            for (int s = 0; s < nb; s++)
                fr_rope(n->c, n->a.heads, n->w / n->a.heads, 0, n->a.theta, 0, a + (size_t)s * fr_xf_node_size(n),
                        y + (size_t)s * fr_xf_node_size(n));
            break;
        case FR_OP_ATTENTION: {
            const fr_node *kn = &g->nodes[n->in[1]];
            const float *k = fr_xf_in_ptr(x, n->in[1]), *v = fr_xf_in_ptr(x, n->in[2]);
            const int T = n->c, hd = n->w / n->a.heads;
            for (int s = 0; s < nb; s++)
                fr_attention_forward(T, n->a.heads, n->a.kv_heads, hd, 1.0f / sqrtf((float)hd), a + (size_t)s * fr_xf_node_size(n),
                                     k + (size_t)s * fr_xf_node_size(kn), v + (size_t)s * fr_xf_node_size(kn),
                                     y + (size_t)s * fr_xf_node_size(n), x->bn_mean[i] + (size_t)s * n->a.heads * T, x->scratch);
            break;
        }
        case FR_OP_EMBED: {
            const fr_tensor *t = &g->tensors[n->param[0]];
            const int vocab = (int)t->dim[0], d = n->w;
            for (size_t r = 0; r < (size_t)nb * n->c; r++)
                memcpy(y + r * d, t->data + (size_t)embed_id(a[r], vocab) * d, sizeof(float) * (size_t)d);
            break;
        }
        case FR_OP_PAD: case FR_OP_RELU: case FR_OP_RELU6: case FR_OP_CLIP: fr_xf_forward(g, n, nb, a, y); break;
        case FR_OP_SIGMOID: fr_sigmoid_forward(cnt, a, y); break;
        case FR_OP_HARDSIGMOID: fr_hardsigmoid_forward(cnt, a, n->a.alpha, n->a.beta, y); break;
        case FR_OP_HARDSWISH: fr_hardswish_forward(cnt, a, y); break;
        case FR_OP_ADD: case FR_OP_SUB: case FR_OP_MUL: case FR_OP_DIV: {
            fr_binop op = n->op == FR_OP_ADD ? FR_BIN_ADD : n->op == FR_OP_SUB ? FR_BIN_SUB
                        : n->op == FR_OP_MUL ? FR_BIN_MUL : FR_BIN_DIV;
            if (n->n_in == 2) {
                const fr_node *bn = &g->nodes[n->in[1]];
                fr_binary_forward(op, nb, n->c, n->h, n->w, a, nb, bn->c, bn->h, bn->w, fr_xf_in_ptr(x, n->in[1]), y);
            } else {
                int d[3];
                const_dims(&g->tensors[n->param[0]], d);
                fr_binary_forward(op, nb, n->c, n->h, n->w, a, 1, d[0], d[1], d[2], g->tensors[n->param[0]].data, y);
            }
            break;
        }
        case FR_OP_MAXPOOL: case FR_OP_AVGPOOL: {
            fr_conv_shape s;
            fr_xf_conv_shape(g, n, nb, &s);
            if (n->op == FR_OP_MAXPOOL) fr_maxpool_forward(&s, a, y);
            else fr_avgpool_forward(&s, n->a.count_include_pad, a, y);
            break;
        }
        case FR_OP_GAP: fr_gap_forward(nb, an->c, an->h * an->w, a, y); break;
        case FR_OP_FLATTEN: case FR_OP_RESHAPE: memcpy(y, a, cnt * sizeof(float)); break;
        case FR_OP_BN: {
            const float *gm = g->tensors[n->param[0]].data, *bt = g->tensors[n->param[1]].data;
            float *mu = g->tensors[n->param[2]].data, *var = g->tensors[n->param[3]].data;
            if (x->mode == FR_EXEC_TRAIN)
                fr_bn_train_forward(nb, n->c, hw, a, gm, bt, mu, var, 0.1f, n->a.eps, y, x->bn_xhat[i],
                                    x->bn_mean[i], x->bn_inv[i]);
            else
                fr_bn_infer_forward(nb, n->c, hw, a, gm, bt, mu, var, n->a.eps, y);
            break;
        }
        case FR_OP_SOFTMAX: softmax_channels(nb, n->c, hw, a, y); break;
        case FR_OP_CONCAT: {
            size_t off = 0;
            for (int k = 0; k < n->n_in; k++) {
                const fr_node *p = &g->nodes[n->in[k]];
                size_t per = fr_xf_node_size(p);
                const float *src = fr_xf_in_ptr(x, n->in[k]);
                for (int s = 0; s < nb; s++)
                    memcpy(y + (size_t)s * fr_xf_node_size(n) + off, src + (size_t)s * per, per * sizeof(float));
                off += per;
            }
            break;
        }
        case FR_OP_TRANSPOSE:
            fr_transpose_forward(nb, an->c, an->h, an->w, n->a.perm, a, y);
            break;
        default:
            fr_abort(__FILE__, __LINE__, "exec: unsupported op %s", fr_op_name(n->op));
        }
        if (x->has_hook[i]) x->hooks[i].forward(x->hooks[i].ctx, y, x->out[i], cnt);
    }
}

/* Where a conv's or linear's bias gradient goes: NULL (not computed) without a bias or with
 * bias gradients off.  Reconstruction learns weights only, and a 112x112 expand conv's db is a
 * whole extra read of its 154 MB output gradient per batch of 32. */
static float *bias_grad(const fr_exec *x, const fr_node *n)
{
    return x->bias_grads && n->param[1] >= 0 ? x->pgrad[n->param[1]] : NULL;
}

void fr_exec_set_bias_grads(fr_exec *x, int on) { x->bias_grads = !!on; }

/* Where the gradient for producer j goes.  Returns NULL when nobody needs it. */
static float *dx_target(fr_exec *x, int j, int want_input_grad, int *accum)
{
    *accum = 0;
    float *dst = NULL;
    unsigned char *set = NULL;
    if (j >= x->first) {
        dst = x->grad[j];
        set = &x->grad_set[j];
    } else {
        if (!want_input_grad) return NULL;
        for (int q = 0; q < x->n_ext; q++)
            if (x->ext[q] == j) { dst = x->ext_grad[q]; set = &x->grad_set[j]; }
        if (!dst) return NULL;
    }
    if (*set) { *accum = 1; return x->tmp; }
    *set = 1;
    return dst;
}

static void dx_finish(fr_exec *x, int j, int accum, size_t cnt)
{
    if (!accum) return;
    float *dst = NULL;
    if (j >= x->first) dst = x->grad[j];
    else for (int q = 0; q < x->n_ext; q++) if (x->ext[q] == j) dst = x->ext_grad[q];
    fr_add_into(cnt, dst, x->tmp);
}

void fr_exec_backward(fr_exec *x, int nb, const float *dy_out, int want_input_grad)
{
    FR_ASSERT(x->mode != FR_EXEC_INFER);
    fr_graph *g = x->g;
    for (int i = x->first; i <= x->last; i++) x->grad_set[i] = 0;
    for (int q = 0; q < x->n_ext; q++) x->grad_set[x->ext[q]] = 0;
    for (int i = x->last; i >= x->first; i--) {
        const fr_node *n = &g->nodes[i];
        if (i == x->tail) {   /* the caller applied its backward: dy_out is its input's gradient */
            x->grad_set[n->in[0]] = 1;
            continue;
        }
        const int top = x->tail >= 0 ? g->nodes[x->tail].in[0] : x->last;   /* where dy_out enters */
        const float *dy = i == top ? dy_out : x->grad[i];
        if (i != top && !x->grad_set[i]) continue;   /* dead branch */
        if (x->ofolded[i]) {   /* its conv applies this activation's backward (conv_oact) */
            x->grad_set[n->in[0]] = 1;
            continue;
        }
        if (x->oact_of[i] >= 0) {   /* the gradient arrives at the folded activation */
            int j = x->oact_of[i];
            dy = j == x->last ? dy_out : x->grad[j];
        }
        size_t cnt = fr_xf_node_size(n) * (size_t)nb;
        if (x->has_hook[i]) {
            x->hooks[i].backward(x->hooks[i].ctx, x->pre[i], dy, x->tmp2, cnt);
            dy = x->tmp2;
        }
        const float *yop = x->has_hook[i] ? x->pre[i] : x->out[i];
        int j = n->in[0], acc;
        const fr_node *an = &g->nodes[j];
        const float *a = fr_xf_in_ptr(x, j);
        size_t acnt = fr_xf_node_size(an) * (size_t)nb;
        int hw = n->h * n->w;
        switch (n->op) {
        case FR_OP_CONV: {
            fr_conv_shape s;
            fr_xf_conv_shape(g, n, nb, &s);
            int src = fr_xf_conv_source(x, n, &s);
            fr_xf_conv_oact(x, i, &s);
            if (src != j) {   /* the gradient skips the folded nodes */
                j = src;
                a = fr_xf_in_ptr(x, j);
                acnt = fr_xf_node_size(&g->nodes[j]) * (size_t)nb;
            }
            float *dx = dx_target(x, j, want_input_grad, &acc);
            fr_conv_backward(&s, a, weight_of(x, n, i), dy, dx, x->pgrad[n->param[0]], bias_grad(x, n), x->scratch);
            if (dx) dx_finish(x, j, acc, acnt);
            break;
        }
        case FR_OP_LINEAR: {
            float *dx = dx_target(x, j, want_input_grad, &acc);
            const int tk = n->a.tokens;
            fr_linear_backward(tk ? nb * tk : nb, tk ? an->w : (int)fr_xf_node_size(an), tk ? n->w : n->c, a,
                               weight_of(x, n, i), dy, dx, x->pgrad[n->param[0]], bias_grad(x, n));
            if (dx) dx_finish(x, j, acc, acnt);
            break;
        }
        case FR_OP_ATTENTION: {
            /* dq, dk, dv into this node's buffer, then to each producer (they may be one node) */
            const fr_node *kn = &g->nodes[n->in[1]];
            const size_t qs = fr_xf_node_size(n), ks = fr_xf_node_size(kn);
            float *dq = x->bn_xhat[i], *dk = dq + qs * nb, *dv = dk + ks * nb;
            const float *k = fr_xf_in_ptr(x, n->in[1]), *v = fr_xf_in_ptr(x, n->in[2]);
            const int T = n->c, hd = n->w / n->a.heads;
            for (int s = 0; s < nb; s++)
                fr_attention_backward(T, n->a.heads, n->a.kv_heads, hd, 1.0f / sqrtf((float)hd), a + s * qs, k + s * ks,
                                      v + s * ks, yop + s * qs, x->bn_mean[i] + (size_t)s * n->a.heads * T, dy + s * qs,
                                      dq + s * qs, dk + s * ks, dv + s * ks, x->scratch);
            const float *src[3] = {dq, dk, dv};
            for (int q = 0; q < 3; q++) {
                int jq = n->in[q], aq;
                float *d = dx_target(x, jq, want_input_grad, &aq);
                if (!d) continue;
                size_t c = (q ? ks : qs) * (size_t)nb;
                memcpy(d, src[q], c * sizeof(float));
                dx_finish(x, jq, aq, c);
            }
            break;
        }
        case FR_OP_EMBED: {
            const fr_tensor *t = &g->tensors[n->param[0]];
            const int vocab = (int)t->dim[0], rows = nb * n->c;
            int32_t *ids = fr_xmalloc(sizeof(int32_t) * (size_t)(rows ? rows : 1));
            for (int r = 0; r < rows; r++) ids[r] = embed_id(a[r], vocab);
            fr_embedding_backward(rows, vocab, n->w, ids, dy, x->pgrad[n->param[0]]);
            free(ids);
            float *dx = dx_target(x, j, want_input_grad, &acc);   /* ids carry no gradient */
            if (dx) {
                memset(dx, 0, acnt * sizeof(float));
                dx_finish(x, j, acc, acnt);
            }
            break;
        }
        case FR_OP_ADD: case FR_OP_SUB: case FR_OP_MUL: case FR_OP_DIV: {
            fr_binop op = n->op == FR_OP_ADD ? FR_BIN_ADD : n->op == FR_OP_SUB ? FR_BIN_SUB
                        : n->op == FR_OP_MUL ? FR_BIN_MUL : FR_BIN_DIV;
            if (n->n_in == 2) {
                int j2 = n->in[1], acc2;
                const fr_node *bn = &g->nodes[j2];
                const float *b = fr_xf_in_ptr(x, j2);
                float *da = dx_target(x, j, want_input_grad, &acc);
                if (da) {
                    fr_binary_backward(op, nb, n->c, n->h, n->w, a, nb, bn->c, bn->h, bn->w, b, dy, da, NULL);
                    dx_finish(x, j, acc, acnt);
                }
                float *dbt = dx_target(x, j2, want_input_grad, &acc2);
                if (dbt) {
                    fr_binary_backward(op, nb, n->c, n->h, n->w, a, nb, bn->c, bn->h, bn->w, b, dy, NULL, dbt);
                    dx_finish(x, j2, acc2, fr_xf_node_size(bn) * (size_t)nb);
                }
            } else {
                int d[3];
                const_dims(&g->tensors[n->param[0]], d);
                float *da = dx_target(x, j, want_input_grad, &acc);
                if (da) {
                    fr_binary_backward(op, nb, n->c, n->h, n->w, a, 1, d[0], d[1], d[2], g->tensors[n->param[0]].data,
                                       dy, da, NULL);
                    dx_finish(x, j, acc, acnt);
                }
            }
            break;
        }
        case FR_OP_CONCAT: {
            size_t off = 0;
            for (int k = 0; k < n->n_in; k++) {
                int jk = n->in[k], ak;
                const fr_node *p = &g->nodes[jk];
                size_t per = fr_xf_node_size(p);
                float *dx = dx_target(x, jk, want_input_grad, &ak);
                if (dx) {
                    for (int s = 0; s < nb; s++)
                        memcpy(dx + (size_t)s * per, dy + (size_t)s * fr_xf_node_size(n) + off, per * sizeof(float));
                    dx_finish(x, jk, ak, per * (size_t)nb);
                }
                off += per;
            }
            break;
        }
        default: {
            float *dx = dx_target(x, j, want_input_grad, &acc);
            if (n->op == FR_OP_BN && x->mode == FR_EXEC_TRAIN) {
                /* Trainer: BN parameters get gradients even when dx is not wanted. */
                float *dxb = dx ? dx : x->tmp;
                fr_bn_train_backward(nb, n->c, hw, g->tensors[n->param[0]].data, x->bn_xhat[i], x->bn_inv[i], dy,
                                     dxb, x->pgrad[n->param[0]], x->pgrad[n->param[1]]);
                if (dx) dx_finish(x, j, acc, acnt);
                break;
            }
            if (n->op == FR_OP_LAYERNORM || n->op == FR_OP_RMSNORM) {
                /* parameter gradients even when dx is not wanted */
                const int rows = nb * n->c * n->h;
                const float *gm = g->tensors[n->param[0]].data;
                if (n->op == FR_OP_LAYERNORM)
                    fr_layernorm_backward(rows, n->w, a, gm, x->bn_mean[i], x->bn_inv[i], dy, dx, x->pgrad[n->param[0]],
                                          n->param[1] >= 0 ? x->pgrad[n->param[1]] : NULL);
                else
                    fr_rmsnorm_backward(rows, n->w, a, gm, x->bn_inv[i], dy, dx, x->pgrad[n->param[0]]);
                if (dx) dx_finish(x, j, acc, acnt);
                break;
            }
            if (!dx) break;
            switch (n->op) {
            case FR_OP_RELU: fr_relu_backward(cnt, a, dy, dx); break;
            case FR_OP_RELU6: fr_relu6_backward(cnt, a, dy, dx); break;
            case FR_OP_CLIP: fr_clip_backward(cnt, a, n->a.alpha, n->a.beta, dy, dx); break;
            case FR_OP_SIGMOID: fr_sigmoid_backward(cnt, yop, dy, dx); break;
            case FR_OP_HARDSIGMOID: fr_hardsigmoid_backward(cnt, a, n->a.alpha, n->a.beta, dy, dx); break;
            case FR_OP_HARDSWISH: fr_hardswish_backward(cnt, a, dy, dx); break;
            case FR_OP_GELU: fr_gelu_backward(cnt, n->a.form ? FR_GELU_TANH : FR_GELU_ERF, a, dy, dx); break;
            case FR_OP_SILU: fr_silu_backward(cnt, a, dy, dx); break;
            case FR_OP_ROPE:
                for (int s = 0; s < nb; s++)
                    fr_rope(n->c, n->a.heads, n->w / n->a.heads, 0, n->a.theta, 1, dy + (size_t)s * fr_xf_node_size(n),
                            dx + (size_t)s * fr_xf_node_size(n));
                break;
            case FR_OP_MAXPOOL: case FR_OP_AVGPOOL: {
                fr_conv_shape s;
                fr_xf_conv_shape(g, n, nb, &s);
                if (n->op == FR_OP_MAXPOOL) fr_maxpool_backward(&s, a, dy, dx);
                else fr_avgpool_backward(&s, n->a.count_include_pad, dy, dx);
                break;
            }
            case FR_OP_GAP: fr_gap_backward(nb, an->c, an->h * an->w, dy, dx); break;
            case FR_OP_FLATTEN: case FR_OP_RESHAPE: memcpy(dx, dy, cnt * sizeof(float)); break;
            case FR_OP_BN:
                fr_bn_infer_backward(nb, n->c, hw, g->tensors[n->param[0]].data, g->tensors[n->param[3]].data,
                                     n->a.eps, dy, dx);
                break;
            case FR_OP_SOFTMAX:
                for (int s = 0; s < nb; s++)
                    for (int p = 0; p < hw; p++) {
                        const float *yy = yop + (size_t)s * n->c * hw + p, *gg = dy + (size_t)s * n->c * hw + p;
                        float *dd = dx + (size_t)s * n->c * hw + p;
                        double dot = 0;
                        for (int k = 0; k < n->c; k++) dot += (double)yy[(size_t)k * hw] * gg[(size_t)k * hw];
                        for (int k = 0; k < n->c; k++)
                            dd[(size_t)k * hw] = yy[(size_t)k * hw] * (gg[(size_t)k * hw] - (float)dot);
                    }
                break;
            case FR_OP_PAD:
                fr_pad_backward(nb, an->c, an->h, an->w, n->a.pt, n->a.pl, n->a.pb, n->a.pr, dy, dx);
                break;
            case FR_OP_TRANSPOSE:
                fr_transpose_backward(nb, an->c, an->h, an->w, n->a.perm, dy, dx);
                break;
            default:
                fr_abort(__FILE__, __LINE__, "exec: no backward for %s", fr_op_name(n->op));
            }
            dx_finish(x, j, acc, acnt);
            break;
        }
        }
    }
}

const float *fr_exec_param_grad(const fr_exec *x, int tensor)
{
    if (tensor < 0 || tensor >= x->g->n_tensors) return NULL;
    if (!x->bias_grads)   /* a conv's or linear's bias is then not computed: say so */
        for (int i = x->first; i <= x->last; i++) {
            const fr_node *n = &x->g->nodes[i];
            if ((n->op == FR_OP_CONV || n->op == FR_OP_LINEAR) && n->param[1] == tensor) return NULL;
        }
    return x->pgrad[tensor];
}

const float *fr_exec_input_grad(const fr_exec *x, int k)
{
    FR_ASSERT(k >= 0 && k < x->n_ext);
    return x->grad_set[x->ext[k]] ? x->ext_grad[k] : NULL;
}

int fr_eval_accuracy(const fr_model *m, const fr_dataset *ds, const float *const *weights, int batch,
                     double *acc, fr_err *e)
{
    return fr_eval_accuracy_ex(&m->g, &m->meta, ds ? ds : &m->eval, weights, NULL, batch, 0, acc, e);
}

int fr_eval_accuracy_ex(const fr_graph *gc, const fr_meta *meta, const fr_dataset *ds, const float *const *weights,
                        const fr_out_hook *const *hooks, int batch, int max_samples, double *acc, fr_err *e)
{
    if (ds->n == 0 || !ds->labels) return fr_err_set(e, FR_EINPUT, "%s: no labelled evaluation data", meta->name);
    fr_graph *g = (fr_graph *)gc;   /* inference mode never writes the graph */
    int total = max_samples > 0 && max_samples < ds->n ? max_samples : ds->n;
    if (batch > total) batch = total;   /* buffers for the batches actually run */
    fr_exec *x = fr_exec_new(g, 0, g->n_nodes - 1, batch, FR_EXEC_INFER, e);
    if (!x) return e ? e->code : FR_ENOMEM;
    for (int i = 1; i < g->n_nodes; i++) {
        if (weights && weights[i]) fr_exec_set_weight(x, i, weights[i]);
        if (hooks && hooks[i]) fr_exec_set_hook(x, i, hooks[i]);
    }
    size_t per = (size_t)meta->in_c * meta->in_h * meta->in_w;
    if ((size_t)ds->c * ds->h * ds->w != per) {
        fr_exec_free(x);
        return fr_err_set(e, FR_EINPUT, "%s: evaluation samples are %dx%dx%d, the model expects %dx%dx%d", meta->name,
                          ds->c, ds->h, ds->w, meta->in_c, meta->in_h, meta->in_w);
    }
    float *in = fr_amalloc((size_t)batch * per * sizeof(float));
    if (!in) { fr_exec_free(x); return fr_err_set(e, FR_ENOMEM, "out of memory for evaluation batch"); }
    fr_exec_bind_input(x, 0, in);
    const fr_node *out = &g->nodes[g->n_nodes - 1];
    size_t oc = (size_t)out->c * out->h * out->w;
    long correct = 0;
    for (int s0 = 0; s0 < total; s0 += batch) {
        int nb = FR_MIN(batch, total - s0);
        for (int s = 0; s < nb; s++) fr_dataset_sample(ds, meta, s0 + s, in + (size_t)s * per);
        fr_exec_forward(x, nb);
        const float *y = fr_exec_output(x);
        for (int s = 0; s < nb; s++) {
            size_t best = 0;
            for (size_t k = 1; k < oc; k++) if (y[(size_t)s * oc + k] > y[(size_t)s * oc + best]) best = k;
            correct += (int32_t)best == ds->labels[s0 + s];
        }
    }
    fr_afree(in);
    fr_exec_free(x);
    *acc = (double)correct / total;
    return FR_OK;
}
