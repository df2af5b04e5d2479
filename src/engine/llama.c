/* llama.c — the LLaMA-family decoder graph; see include/frtui/llama.h. */
#include "frtui/llama.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    fr_model *m;
    const fr_lm_arch *a;
} lb;

static int tensor(lb *b, const char *name, int64_t d0, int64_t d1, float fill)
{
    int64_t dim[2] = {d0, d1};
    int t = fr_graph_add_tensor(&b->m->g, name, d1 > 0 ? 2 : 1, dim);
    fr_tensor *T = &b->m->g.tensors[t];
    for (int64_t i = 0; i < fr_tensor_numel(T); i++) T->data[i] = fill;
    return t;
}

static int node(lb *b, const char *name, fr_op op, int n_in, int i0, int i1, int i2)
{
    int in[3] = {i0, i1, i2};
    return fr_graph_add_node(&b->m->g, name, op, n_in, in);
}

/* A per-token projection `name` (tensor name.weight [out, in], name.bias [out] when bias). */
static int proj(lb *b, const char *name, int x, int d_in, int d_out, int bias)
{
    char tn[FR_NAME_MAX + 8];
    snprintf(tn, sizeof tn, "%s.weight", name);
    int t = tensor(b, tn, d_out, d_in, 0.0f), tb = -1;
    if (bias) {
        snprintf(tn, sizeof tn, "%s.bias", name);
        tb = tensor(b, tn, d_out, 0, 0.0f);
    }
    int n = node(b, name, FR_OP_LINEAR, 1, x, 0, 0);
    fr_node *nd = &b->m->g.nodes[n];
    nd->n_param = bias ? 2 : 1;
    nd->param[0] = t;
    nd->param[1] = tb;
    nd->a.tokens = b->a->T;
    return n;
}

static int rmsnorm(lb *b, const char *name, int x)
{
    char tn[FR_NAME_MAX + 8];
    snprintf(tn, sizeof tn, "%s.weight", name);
    int t = tensor(b, tn, b->a->d, 0, 1.0f);
    int n = node(b, name, FR_OP_RMSNORM, 1, x, 0, 0);
    b->m->g.nodes[n].n_param = 1;
    b->m->g.nodes[n].param[0] = t;
    b->m->g.nodes[n].a.eps = b->a->eps;
    return n;
}

static int block(lb *b, int i, int x)
{
    const fr_lm_arch *a = b->a;
    const int hd = fr_lm_head_dim(a), dq = a->heads * hd, dkv = a->kv_heads * hd;
    char nm[FR_NAME_MAX];
#define N(s) (snprintf(nm, sizeof nm, "blk.%d.%s", i, s), nm)
    int n1 = rmsnorm(b, N("attn_norm"), x);
    int q = proj(b, N("attn_q"), n1, a->d, dq, a->qkv_bias);
    int k = proj(b, N("attn_k"), n1, a->d, dkv, a->qkv_bias);
    int v = proj(b, N("attn_v"), n1, a->d, dkv, a->qkv_bias);
    int rq = node(b, N("rope_q"), FR_OP_ROPE, 1, q, 0, 0);
    b->m->g.nodes[rq].a.heads = a->heads;
    b->m->g.nodes[rq].a.theta = a->theta;
    int rk = node(b, N("rope_k"), FR_OP_ROPE, 1, k, 0, 0);
    b->m->g.nodes[rk].a.heads = a->kv_heads;
    b->m->g.nodes[rk].a.theta = a->theta;
    int at = node(b, N("attn"), FR_OP_ATTENTION, 3, rq, rk, v);
    b->m->g.nodes[at].a.heads = a->heads;
    b->m->g.nodes[at].a.kv_heads = a->kv_heads;
    int o = proj(b, N("attn_output"), at, dq, a->d, 0);
    int h = node(b, N("attn_res"), FR_OP_ADD, 2, o, x, 0);
    int n2 = rmsnorm(b, N("ffn_norm"), h);
    int gate = proj(b, N("ffn_gate"), n2, a->d, a->ff, 0);
    int up = proj(b, N("ffn_up"), n2, a->d, a->ff, 0);
    int sg = node(b, N("ffn_silu"), FR_OP_SILU, 1, gate, 0, 0);
    int mu = node(b, N("ffn_mul"), FR_OP_MUL, 2, sg, up, 0);
    int dn = proj(b, N("ffn_down"), mu, a->ff, a->d, 0);
    return node(b, N("ffn_res"), FR_OP_ADD, 2, dn, h, 0);
#undef N
}

int fr_llama_graph(fr_model *m, const fr_lm_arch *a, fr_err *e)
{
    const int hd = fr_lm_head_dim(a);
    if (a->vocab < 2 || a->vocab > (1 << 24) || a->d < 2 || a->layers < 1 || a->layers > 4096 || a->heads < 1 ||
        a->kv_heads < 1 || a->ff < 1 || a->T < 2 || (a->head_dim <= 0 && a->d % a->heads) || a->heads % a->kv_heads ||
        hd < 2 || hd % 2 || !(a->theta > 1) || !(a->eps > 0))
        return fr_err_set(e, FR_EINPUT, "language model: inconsistent shape (vocab %d, d %d, %d heads of %d, %d kv heads, "
                          "ff %d, T %d, theta %g, eps %g)", a->vocab, a->d, a->heads, hd, a->kv_heads, a->ff, a->T,
                          (double)a->theta, (double)a->eps);
    lb b = {.m = m, .a = a};
    m->meta.in_c = a->T; m->meta.in_h = 1; m->meta.in_w = 1;
    for (int c = 0; c < 4; c++) m->meta.mean[c] = 0.0f, m->meta.std[c] = 1.0f;
    m->meta.n_classes = 0;
    int x = node(&b, "tokens", FR_OP_INPUT, 0, 0, 0, 0);
    int te = tensor(&b, "token_embd.weight", a->vocab, a->d, 0.0f);
    x = node(&b, "token_embd", FR_OP_EMBED, 1, x, 0, 0);
    m->g.nodes[x].n_param = 1;
    m->g.nodes[x].param[0] = te;
    for (int i = 0; i < a->layers; i++) x = block(&b, i, x);
    x = rmsnorm(&b, "output_norm", x);
    proj(&b, "output", x, a->d, a->vocab, 0);
    int rc = fr_graph_infer_shapes(&m->g, a->T, 1, 1, e);
    FR_ASSERT(rc != FR_OK || fr_graph_lm_vocab(&m->g) == a->vocab);
    return rc;
}
