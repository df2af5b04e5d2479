/* lm.c — the tiny LLaMA-style language model, its trainer and its token windows; see
 * include/frtui/lm.h. */
#include "frtui/lm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/exec.h"
#include "frtui/fidelity.h"
#include "frtui/tops.h"
#include "frtui/train.h"

typedef struct {
    fr_model *m;
    fr_rng rng;
    const fr_lm_arch *a;
} lmb;

static int tensor(lmb *b, const char *name, int64_t d0, int64_t d1, float sd, float fill)
{
    int64_t dim[2] = {d0, d1};
    int t = fr_graph_add_tensor(&b->m->g, name, d1 > 0 ? 2 : 1, dim);
    fr_tensor *T = &b->m->g.tensors[t];
    int64_t n = fr_tensor_numel(T);
    for (int64_t i = 0; i < n; i++) T->data[i] = sd > 0 ? sd * fr_rng_normal(&b->rng) : fill;
    return t;
}

static int node(lmb *b, const char *name, fr_op op, int n_in, int i0, int i1, int i2)
{
    int in[3] = {i0, i1, i2};
    return fr_graph_add_node(&b->m->g, name, op, n_in, in);
}

/* A per-token projection named `name` (tensor name.weight, [out, in], no bias). */
static int proj(lmb *b, const char *name, int x, int d_in, int d_out, float sd)
{
    char tn[FR_NAME_MAX + 8];
    snprintf(tn, sizeof tn, "%s.weight", name);
    int t = tensor(b, tn, d_out, d_in, sd, 0);
    int n = node(b, name, FR_OP_LINEAR, 1, x, 0, 0);
    fr_node *nd = &b->m->g.nodes[n];
    nd->n_param = 1;
    nd->param[0] = t;
    nd->a.tokens = b->a->T;
    return n;
}

static int rmsnorm(lmb *b, const char *name, int x)
{
    char tn[FR_NAME_MAX + 8];
    snprintf(tn, sizeof tn, "%s.weight", name);
    int t = tensor(b, tn, b->a->d, 0, 0, 1.0f);
    int n = node(b, name, FR_OP_RMSNORM, 1, x, 0, 0);
    b->m->g.nodes[n].n_param = 1;
    b->m->g.nodes[n].param[0] = t;
    b->m->g.nodes[n].a.eps = b->a->eps;
    return n;
}

static int block(lmb *b, int i, int x)
{
    const fr_lm_arch *a = b->a;
    const int hd = a->d / a->heads, dkv = a->kv_heads * hd;
    const float sd = 0.02f, sd_out = 0.02f / sqrtf(2.0f * (float)a->layers);
    char nm[FR_NAME_MAX];
#define N(s) (snprintf(nm, sizeof nm, "blk.%d.%s", i, s), nm)
    int n1 = rmsnorm(b, N("attn_norm"), x);
    int q = proj(b, N("attn_q"), n1, a->d, a->d, sd);
    int k = proj(b, N("attn_k"), n1, a->d, dkv, sd);
    int v = proj(b, N("attn_v"), n1, a->d, dkv, sd);
    int rq = node(b, N("rope_q"), FR_OP_ROPE, 1, q, 0, 0);
    b->m->g.nodes[rq].a.heads = a->heads;
    b->m->g.nodes[rq].a.theta = a->theta;
    int rk = node(b, N("rope_k"), FR_OP_ROPE, 1, k, 0, 0);
    b->m->g.nodes[rk].a.heads = a->kv_heads;
    b->m->g.nodes[rk].a.theta = a->theta;
    int at = node(b, N("attn"), FR_OP_ATTENTION, 3, rq, rk, v);
    b->m->g.nodes[at].a.heads = a->heads;
    b->m->g.nodes[at].a.kv_heads = a->kv_heads;
    int o = proj(b, N("attn_output"), at, a->d, a->d, sd_out);
    int h = node(b, N("attn_res"), FR_OP_ADD, 2, o, x, 0);
    int n2 = rmsnorm(b, N("ffn_norm"), h);
    int gate = proj(b, N("ffn_gate"), n2, a->d, a->ff, sd);
    int up = proj(b, N("ffn_up"), n2, a->d, a->ff, sd);
    int sg = node(b, N("ffn_silu"), FR_OP_SILU, 1, gate, 0, 0);
    int mu = node(b, N("ffn_mul"), FR_OP_MUL, 2, sg, up, 0);
    int dn = proj(b, N("ffn_down"), mu, a->ff, a->d, sd_out);
    return node(b, N("ffn_res"), FR_OP_ADD, 2, dn, h, 0);
#undef N
}

int fr_lm_build(fr_model *m, const fr_lm_arch *a, uint64_t seed, fr_err *e)
{
    if (a->vocab < 2 || a->vocab > (1 << 24) || a->d < 2 || a->layers < 1 || a->heads < 1 || a->kv_heads < 1 ||
        a->ff < 1 || a->T < 2 || a->d % a->heads || a->heads % a->kv_heads || (a->d / a->heads) % 2 || !(a->theta > 0) ||
        !(a->eps > 0))
        return fr_err_set(e, FR_EINPUT, "language model: inconsistent shape (vocab %d, d %d, %d heads, %d kv heads, "
                          "ff %d, T %d)", a->vocab, a->d, a->heads, a->kv_heads, a->ff, a->T);
    lmb b = {.m = m, .a = a};
    fr_rng_stream(&b.rng, seed, 0x400);
    m->meta.in_c = a->T; m->meta.in_h = 1; m->meta.in_w = 1;
    for (int c = 0; c < 4; c++) m->meta.mean[c] = 0.0f, m->meta.std[c] = 1.0f;
    m->meta.n_classes = 0;
    int x = node(&b, "tokens", FR_OP_INPUT, 0, 0, 0, 0);
    int te = tensor(&b, "token_embd.weight", a->vocab, a->d, 0.02f, 0);
    x = node(&b, "token_embd", FR_OP_EMBED, 1, x, 0, 0);
    m->g.nodes[x].n_param = 1;
    m->g.nodes[x].param[0] = te;
    for (int i = 0; i < a->layers; i++) x = block(&b, i, x);
    x = rmsnorm(&b, "output_norm", x);
    proj(&b, "output", x, a->d, a->vocab, 0.02f);
    int rc = fr_graph_infer_shapes(&m->g, a->T, 1, 1, e);
    FR_ASSERT(rc != FR_OK || fr_graph_lm_vocab(&m->g) == a->vocab);
    return rc;
}

int fr_lm_train(fr_model *m, const uint8_t *text, size_t n, const fr_lm_train_config *c, FILE *log, fr_err *e)
{
    fr_graph *g = &m->g;
    const int V = fr_graph_lm_vocab(g), T = m->meta.in_c, B = c->batch;
    if (!V) return fr_err_set(e, FR_EINPUT, "%s: not a language model", m->meta.name);
    if (V < 256) return fr_err_set(e, FR_EINPUT, "%s: a byte-level trainer needs a vocabulary of 256 (not %d)", m->meta.name, V);
    if (n <= (size_t)T || n - T > UINT32_MAX)
        return fr_err_set(e, FR_EINPUT, "training text of %zu bytes does not fit windows of %d", n, T);
    fr_exec *x = fr_exec_new(g, 0, g->n_nodes - 1, B, FR_EXEC_TRAIN, e);
    if (!x) return e->code;
    float *in = fr_amalloc((size_t)B * T * sizeof(float));
    float *dlog = fr_amalloc((size_t)B * T * V * sizeof(float));
    int32_t *tgt = fr_xmalloc((size_t)B * T * sizeof(int32_t));
    if (!in || !dlog) {
        fr_afree(in); fr_afree(dlog); free(tgt); fr_exec_free(x);
        return fr_err_set(e, FR_ENOMEM, "out of memory for a training batch");
    }
    fr_adam opt;
    fr_adam_init(&opt, g, x);
    fr_rng rng;
    fr_rng_stream(&rng, c->seed, 0x410);
    fr_exec_bind_input(x, 0, in);
    double t0 = fr_now(), run = 0;
    int rc = FR_OK, runs = 0;
    for (int step = 0; step < c->steps; step++) {
        for (int k = 0; k < B; k++) {
            size_t off = fr_rng_below(&rng, (uint32_t)(n - T));
            for (int t = 0; t < T; t++) {
                in[k * T + t] = (float)text[off + t];
                tgt[k * T + t] = t + 1 < T ? text[off + t + 1] : -1;
            }
        }
        fr_exec_forward(x, B);
        double loss = fr_lm_xent(B * T, V, fr_exec_output(x), tgt, dlog, NULL);
        if (!isfinite(loss)) {
            rc = fr_err_set(e, FR_ENUM, "training diverged (loss %g) at step %d", loss, step);
            break;
        }
        fr_exec_backward(x, B, dlog, 0);
        /* warm-up, then cosine from lr down to lr * lr_min_frac */
        float lr = c->lr;
        if (step < c->warmup) lr *= (float)(step + 1) / (float)c->warmup;
        else {
            float p = (float)(step - c->warmup) / (float)FR_MAX(1, c->steps - c->warmup);
            lr *= c->lr_min_frac + (1.0f - c->lr_min_frac) * 0.5f * (1.0f + cosf(3.14159265f * p));
        }
        fr_adam_step(&opt, g, x, lr, c->weight_decay, step);
        run += loss;
        runs++;
        if (log && c->log_every > 0 && ((step + 1) % c->log_every == 0 || step + 1 == c->steps)) {
            double el = fr_now() - t0;
            fprintf(log, "  step %d/%d: loss %.4f (%.3f bits/byte), lr %.2e, %.0f tokens/s, %.0f s\n", step + 1,
                    c->steps, run / runs, fr_lm_bits(run / runs), (double)lr, (double)(step + 1) * B * T / el, el);
            fflush(log);
            run = 0;
            runs = 0;
        }
    }
    fr_adam_free(&opt, g);
    fr_afree(in); fr_afree(dlog); free(tgt);
    fr_exec_free(x);
    return rc;
}

int fr_lm_windows(const uint8_t *text, size_t n, int T, int count, uint64_t seed, fr_dataset *d, fr_err *e)
{
    memset(d, 0, sizeof *d);
    if (T < 2 || count < 1 || n < (size_t)T || (!seed && n / (size_t)T < (size_t)count) || n - T > UINT32_MAX)
        return fr_err_set(e, FR_EINPUT, "text of %zu bytes does not hold %d windows of %d", n, count, T);
    *d = (fr_dataset){.n = count, .c = T, .h = 1, .w = 1, .dtype = 0, .scale = 1.0f, .offset = 0.0f};
    d->u8 = fr_amalloc((size_t)count * T);
    if (!d->u8) return fr_err_set(e, FR_ENOMEM, "out of memory for %d windows", count);
    fr_rng rng;
    fr_rng_stream(&rng, seed, 0x420);
    for (int i = 0; i < count; i++) {
        size_t off = seed ? fr_rng_below(&rng, (uint32_t)(n - T + 1)) : (size_t)i * T;
        memcpy(d->u8 + (size_t)i * T, text + off, (size_t)T);
    }
    return FR_OK;
}
