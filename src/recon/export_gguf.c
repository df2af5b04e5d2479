/* export_gguf.c — LLaMA-shaped graphs as GGUF (contract and decisions in
 * include/frtui/export_gguf.h; the container is io/gguf.c).
 *
 * Design note: one pass matches the graph into per-block roles (blk), checking every node's
 * op, inputs and consumer count; a second pass writes tensors in llama.cpp's order.  The
 * encoder never looks at names, so an imported LLaMA with other node names exports the same.
 */
#include "frtui/export_gguf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/half.h"

enum { R_NORM1, R_Q, R_K, R_V, R_O, R_NORM2, R_GATE, R_UP, R_DOWN, R__N };
static const char *const role_name[R__N] = {"attn_norm", "attn_q",   "attn_k",  "attn_v",  "attn_output",
                                            "ffn_norm",  "ffn_gate", "ffn_up", "ffn_down"};

typedef struct {
    int node[R__N];
    int rope_q, rope_k, attn;
} blk;

typedef struct {
    const fr_graph *g;
    int *uses;              /* consumers per node */
    blk *b;
    int nb;
    int embed, out_norm, head;
    int heads, kv_heads, hd, d, ff, vocab;
    float eps, theta;
    fr_err *e;
} match;

static int bad(match *m, int node, const char *want)
{
    const fr_node *n = &m->g->nodes[node];
    return fr_err_set(m->e, FR_EINPUT, "not a LLaMA-shaped model for GGUF: node '%s' (%s) where %s was expected", n->name,
                      fr_op_name(n->op), want);
}

static const fr_node *N(const match *m, int i) { return &m->g->nodes[i]; }

/* node i has op `op` and exactly `uses` consumers */
static int is(const match *m, int i, fr_op op, int uses) { return N(m, i)->op == op && m->uses[i] == uses; }

static int linear(const match *m, int i) { return is(m, i, FR_OP_LINEAR, 1) && N(m, i)->a.tokens > 0; }

static int rms_eps(match *m, int i)
{
    const float eps = N(m, i)->a.eps;
    if (m->eps == 0) m->eps = eps;
    return m->eps == eps;
}

/* The MLP half of the block ending in residual add res2 (down(SiLU(gate(n)) * up(n)) with n =
 * RMSNorm of the stream, added to it): fills b, returns that stream (the attention half's
 * residual add), or -1. */
static int match_mlp(match *m, int res2, blk *b)
{
    for (int side = 0; side < 2; side++) {
        const int down = N(m, res2)->in[side], res1 = N(m, res2)->in[1 - side];
        if (!linear(m, down) || !is(m, N(m, down)->in[0], FR_OP_MUL, 1)) continue;
        const int mul = N(m, down)->in[0];
        if (N(m, mul)->n_in != 2) continue;
        for (int s2 = 0; s2 < 2; s2++) {
            const int silu = N(m, mul)->in[s2], up = N(m, mul)->in[1 - s2];
            if (!is(m, silu, FR_OP_SILU, 1) || !linear(m, up) || !linear(m, N(m, silu)->in[0])) continue;
            const int gate = N(m, silu)->in[0], norm2 = N(m, gate)->in[0];
            if (N(m, up)->in[0] != norm2 || !is(m, norm2, FR_OP_RMSNORM, 2) || N(m, norm2)->in[0] != res1)
                continue;
            b->node[R_DOWN] = down, b->node[R_GATE] = gate, b->node[R_UP] = up, b->node[R_NORM2] = norm2;
            return res1;
        }
    }
    return -1;
}

/* The attention half ending in residual add res1; sets *prev to the stream the block reads. */
static int match_attention(match *m, int res1, blk *b, int *prev)
{
    if (!is(m, res1, FR_OP_ADD, 2) || N(m, res1)->n_in != 2) return bad(m, res1, "the attention's residual add");
    for (int s3 = 0; s3 < 2; s3++) {
        const int o = N(m, res1)->in[s3], x = N(m, res1)->in[1 - s3];
        if (!linear(m, o) || !is(m, N(m, o)->in[0], FR_OP_ATTENTION, 1)) continue;
        const int at = N(m, o)->in[0];
        const fr_node *A = N(m, at);
        const int rq = A->in[0], rk = A->in[1], v = A->in[2];
        if (!is(m, rq, FR_OP_ROPE, 1) || !is(m, rk, FR_OP_ROPE, 1) || !linear(m, v))
            return bad(m, at, "attention over RoPE'd q, k and v");
        const int q = N(m, rq)->in[0], k = N(m, rk)->in[0], norm1 = N(m, v)->in[0];
        if (!linear(m, q) || !linear(m, k)) return bad(m, at, "q and k projections under RoPE");
        if (N(m, q)->in[0] != norm1 || N(m, k)->in[0] != norm1 || !is(m, norm1, FR_OP_RMSNORM, 3) ||
            N(m, norm1)->in[0] != x)
            return bad(m, norm1, "one RMSNorm feeding q, k and v from the residual stream");
        if (m->uses[x] != 2) return bad(m, x, "a residual stream read by the block only");
        if (!rms_eps(m, norm1) || !rms_eps(m, b->node[R_NORM2]))
            return bad(m, norm1, "the same RMSNorm epsilon in every block");
        if (N(m, rq)->a.theta != N(m, rk)->a.theta || (m->theta != 0 && m->theta != N(m, rq)->a.theta))
            return bad(m, rq, "one RoPE base for every block");
        m->theta = N(m, rq)->a.theta;
        if (N(m, rq)->a.heads != A->a.heads || N(m, rk)->a.heads != A->a.kv_heads ||
            (m->heads && (m->heads != A->a.heads || m->kv_heads != A->a.kv_heads)))
            return bad(m, at, "the same head counts in RoPE, attention and every block");
        m->heads = A->a.heads, m->kv_heads = A->a.kv_heads;
        b->node[R_NORM1] = norm1, b->node[R_Q] = q, b->node[R_K] = k, b->node[R_V] = v, b->node[R_O] = o;
        b->rope_q = rq, b->rope_k = rk, b->attn = at;
        *prev = x;
        return FR_OK;
    }
    return bad(m, res1, "an attention output projection added to the residual stream");
}

/* The block ending in residual add `res2`; sets *prev to the stream it started from. */
static int match_block(match *m, int res2, blk *b, int *prev)
{
    if (N(m, res2)->op != FR_OP_ADD || N(m, res2)->n_in != 2) return bad(m, res2, "the MLP's residual add");
    const int res1 = match_mlp(m, res2, b);
    if (res1 < 0) return bad(m, res2, "a SwiGLU MLP (down(SiLU(gate(x)) * up(x))) added to the residual stream");
    return match_attention(m, res1, b, prev);
}

static const fr_tensor *param(const match *m, int node, int k)
{
    const fr_node *n = N(m, node);
    return k < n->n_param && n->param[k] >= 0 ? &m->g->tensors[n->param[k]] : NULL;
}

static int match_graph(match *m)
{
    const fr_graph *g = m->g;
    m->vocab = fr_graph_lm_vocab(g);
    if (m->vocab <= 0)
        return fr_err_set(m->e, FR_EINPUT, "not a language model (GGUF export needs token ids in, next-token logits out)");
    m->uses = fr_xcalloc((size_t)g->n_nodes, sizeof(int));
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_in; j++) m->uses[g->nodes[i].in[j]]++;
    m->head = g->n_nodes - 1;
    if (N(m, m->head)->op != FR_OP_LINEAR || N(m, m->head)->a.tokens <= 0) return bad(m, m->head, "the LM head");
    if (param(m, m->head, 1)) return bad(m, m->head, "an LM head without bias");
    m->out_norm = N(m, m->head)->in[0];
    if (!is(m, m->out_norm, FR_OP_RMSNORM, 1)) return bad(m, m->out_norm, "the final RMSNorm");
    m->b = fr_xcalloc((size_t)g->n_nodes, sizeof(blk));
    int x = N(m, m->out_norm)->in[0];
    while (N(m, x)->op != FR_OP_EMBED) {
        if (m->nb >= g->n_nodes / 8 + 1) return bad(m, x, "a decoder block");
        int rc = match_block(m, x, &m->b[m->nb], &x);
        if (rc) return rc;
        m->nb++;
    }
    m->embed = x;
    if (!m->nb) return bad(m, x, "at least one decoder block");
    if (N(m, N(m, x)->in[0])->op != FR_OP_INPUT) return bad(m, x, "a token embedding of the input ids");
    for (int i = 0; i < m->nb / 2; i++) {   /* matched from the top down: put block 0 first */
        blk t = m->b[i];
        m->b[i] = m->b[m->nb - 1 - i], m->b[m->nb - 1 - i] = t;
    }
    const fr_tensor *E = param(m, m->embed, 0);
    m->d = (int)E->dim[1];
    const fr_tensor *Q = param(m, m->b[0].node[R_Q], 0), *G = param(m, m->b[0].node[R_GATE], 0);
    if (Q->dim[0] % m->heads) return bad(m, m->b[0].node[R_Q], "a q projection of heads x head size rows");
    m->hd = (int)(Q->dim[0] / m->heads);
    m->ff = (int)G->dim[0];
    for (int i = 0; i < m->nb; i++) {
        for (int r = 0; r < R__N; r++) {
            const fr_tensor *W = param(m, m->b[i].node[r], 0);
            int64_t want0 = r == R_Q ? (int64_t)m->heads * m->hd : (r == R_K || r == R_V) ? (int64_t)m->kv_heads * m->hd
                            : (r == R_GATE || r == R_UP) ? m->ff : m->d;
            int64_t want1 = r == R_O ? (int64_t)m->heads * m->hd : r == R_DOWN ? m->ff : m->d;
            if (r == R_NORM1 || r == R_NORM2) {
                if (param(m, m->b[i].node[r], 1) || W->dim[0] != m->d) return bad(m, m->b[i].node[r], "an RMSNorm of d weights");
                continue;
            }
            if (W->ndim != 2 || W->dim[0] != want0 || W->dim[1] != want1)
                return bad(m, m->b[i].node[r], "a projection of the same shape as in block 0");
        }
    }
    if (m->hd % 2) return bad(m, m->b[0].node[R_Q], "an even head size for RoPE");
    return FR_OK;
}

/* ---- tensors -------------------------------------------------------------------------------- */

/* Row r of the exported q/k matrix is row perm(r) of frtui's: llama.cpp rotates adjacent pairs
 * (2i, 2i+1) of each head where frtui rotates (i, i + hd/2); same frequency for pair i. */
static int64_t src_row(int64_t r, int hd, int permute)
{
    if (!permute) return r;
    const int64_t h = r / hd, j = r % hd, half = hd / 2;
    return h * hd + (j % 2) * half + j / 2;
}

/* A vector (a norm's weight, a bias) is rows of one element, so a q/k bias permutes too. */
static float *f32_rows(const fr_tensor *W, int hd, int permute)
{
    const int64_t rows = W->ndim == 2 ? W->dim[0] : W->dim[0], cols = W->ndim == 2 ? W->dim[1] : 1;
    float *d = fr_xmalloc((size_t)(rows * cols) * sizeof(float));
    for (int64_t r = 0; r < rows; r++)
        memcpy(d + r * cols, W->data + src_row(r, hd, permute) * cols, (size_t)cols * sizeof(float));
    return d;
}

static fr_gguf_tinfo *add_info(fr_gguf_report *rep, const char *name)
{
    rep->t = fr_xrealloc(rep->t, (size_t)(rep->n + 1) * sizeof *rep->t);
    fr_gguf_tinfo *t = &rep->t[rep->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

static void put_f32(fr_gguf *out, fr_gguf_report *rep, const char *name, const fr_tensor *W, int hd, int permute)
{
    int64_t ne[2] = {W->ndim == 2 ? W->dim[1] : W->dim[0], W->ndim == 2 ? W->dim[0] : 1};
    fr_gguf_tensor(out, name, FR_GGML_F32, W->ndim == 2 ? 2 : 1, ne, f32_rows(W, hd, permute));
    fr_gguf_tinfo *t = add_info(rep, name);
    t->type = FR_GGML_F32;
    for (int64_t i = 0; i < fr_tensor_numel(W); i++) t->max_abs = fmax(t->max_abs, fabs((double)W->data[i]));
}

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

/* The block type for a layer's codes, or F32 with the reason in why. */
static fr_ggml_type pick_type(const fr_gguf_qlayer *q, int64_t rows, int64_t cols, char *why, size_t nwhy)
{
    const int64_t glen = q->ns1 == 1 ? cols : (q->ns1 % rows == 0 && cols % (q->ns1 / rows) == 0) ? cols / (q->ns1 / rows) : 0;
    if (cols % FR_GGML_QK || !glen || glen % FR_GGML_QK) {
        snprintf(why, nwhy, "scale groups of %lld weights do not hold whole 32-weight blocks", (long long)glen);
        return FR_GGML_F32;
    }
    int lo = INT32_MAX, hi = INT32_MIN;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            int64_t gi = q->ns1 == 1 ? 0 : r * (q->ns1 / rows) + c / glen;
            int v = q->symmetric ? q->code[r * cols + c] : q->code[r * cols + c] - (int)q->zp[gi];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
            if (!q->symmetric && (float)(int)q->zp[gi] != q->zp[gi]) {
                snprintf(why, nwhy, "zero point %g is not an integer", (double)q->zp[gi]);
                return FR_GGML_F32;
            }
        }
    if (q->bits <= 4) {
        if (q->symmetric && lo >= -8 && hi <= 7) return FR_GGML_Q4_0;
        if (!q->symmetric) {
            int clo = INT32_MAX, chi = INT32_MIN;
            for (int64_t i = 0; i < rows * cols; i++) clo = FR_MIN(clo, q->code[i]), chi = FR_MAX(chi, q->code[i]);
            if (clo >= 0 && chi <= 15) return FR_GGML_Q4_1;
        }
    }
    if (lo >= -128 && hi <= 127) return FR_GGML_Q8_0;
    snprintf(why, nwhy, "%d-bit %s codes span %d..%d, beyond an int8 block", q->bits,
             q->symmetric ? "symmetric" : "asymmetric", lo, hi);
    return FR_GGML_F32;
}

/* Blocks of one quantized weight from its codes; checks each decoded weight against frtui's. */
static void put_quant(fr_gguf *out, fr_gguf_report *rep, const char *name, const fr_tensor *W, const fr_gguf_qlayer *q,
                      int hd, int permute)
{
    const int64_t rows = W->dim[0], cols = W->dim[1];
    char why[96] = "";
    fr_ggml_type t = pick_type(q, rows, cols, why, sizeof why);
    if (t == FR_GGML_F32) {
        put_f32(out, rep, name, W, hd, permute);
        rep->t[rep->n - 1].bits = q->bits;
        snprintf(rep->t[rep->n - 1].why, sizeof rep->t[rep->n - 1].why, "%s", why);
        return;
    }
    const size_t rb = fr_ggml_row_bytes(t, cols);
    uint8_t *data = fr_xcalloc((size_t)rows, rb);
    fr_gguf_tinfo *info = add_info(rep, name);
    info->type = t;
    info->bits = q->bits;
    const int64_t gpr = q->ns1 == 1 ? 1 : q->ns1 / rows, glen = cols / gpr;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t sr = src_row(r, hd, permute);
        for (int64_t b = 0; b < cols / FR_GGML_QK; b++) {
            const int64_t c0 = b * FR_GGML_QK, gi = q->ns1 == 1 ? 0 : sr * gpr + c0 / glen;
            const float s = q->s1[gi], zp = q->symmetric ? 0.0f : q->zp[gi];
            const int32_t *code = q->code + sr * cols + c0;
            const float *w = W->data + sr * cols + c0;
            uint8_t *p = data + (size_t)r * rb + (size_t)b * (rb / (size_t)(cols / FR_GGML_QK));
            const uint16_t dh = fr_f32_to_f16(s), mh = fr_f32_to_f16(-s * zp);
            const float d = fr_f16_to_f32(dh), m = fr_f16_to_f32(mh);
            float dec[FR_GGML_QK];
            put_le16(p, dh);
            if (t == FR_GGML_Q8_0) {
                for (int j = 0; j < FR_GGML_QK; j++) {
                    const int v = code[j] - (int)zp;
                    p[2 + j] = (uint8_t)(int8_t)v;
                    dec[j] = (float)v * d;
                }
            } else {
                const int off = t == FR_GGML_Q4_0 ? 8 : 0;
                uint8_t *qs = p + (t == FR_GGML_Q4_1 ? 4 : 2);
                if (t == FR_GGML_Q4_1) put_le16(p + 2, mh);
                for (int j = 0; j < FR_GGML_QK / 2; j++) {   /* element j in the low nibble, j + 16 high */
                    const int a = code[j] + off, c = code[j + FR_GGML_QK / 2] + off;
                    qs[j] = (uint8_t)(a | (c << 4));
                    dec[j] = t == FR_GGML_Q4_0 ? (float)(a - 8) * d : (float)a * d + m;
                    dec[j + 16] = t == FR_GGML_Q4_0 ? (float)(c - 8) * d : (float)c * d + m;
                }
            }
            for (int j = 0; j < FR_GGML_QK; j++) {
                info->max_err = fmax(info->max_err, fabs((double)dec[j] - (double)w[j]));
                info->max_abs = fmax(info->max_abs, fabs((double)w[j]));
            }
        }
    }
    int64_t ne[2] = {cols, rows};
    fr_gguf_tensor(out, name, t, 2, ne, data);
}

static const fr_gguf_qlayer *find_q(const fr_gguf_qlayer *ql, int nql, int node)
{
    for (int i = 0; i < nql; i++)
        if (ql[i].node == node) return &ql[i];
    return NULL;
}

static void put_linear(match *m, fr_gguf *out, fr_gguf_report *rep, const char *base, int node, const fr_gguf_qlayer *ql,
                       int nql, int permute)
{
    char name[FR_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s.weight", base);
    const fr_tensor *W = param(m, node, 0), *B = param(m, node, 1);
    const fr_gguf_qlayer *q = find_q(ql, nql, node);
    if (q) put_quant(out, rep, name, W, q, m->hd, permute);
    else put_f32(out, rep, name, W, m->hd, permute);
    if (B) {
        snprintf(name, sizeof name, "%s.bias", base);
        put_f32(out, rep, name, B, m->hd, permute);
    }
}

int fr_gguf_encode_llama(const fr_graph *g, const fr_meta *meta, const fr_gguf_qlayer *ql, int nql,
                         const fr_gguf_meta *gm, uint8_t **out, size_t *out_n, fr_gguf_report *rep, fr_err *e)
{
    *out = NULL;
    *out_n = 0;
    memset(rep, 0, sizeof *rep);
    match m = {.g = g, .e = e};
    int rc = match_graph(&m);
    if (rc) {
        free(m.uses);
        free(m.b);
        return rc;
    }
    fr_gguf *o = fr_gguf_new();
    fr_gguf_kv_str(o, "general.architecture", "llama");
    fr_gguf_kv_str(o, "general.name", meta->name);
    int quant = 0;
    for (int i = 0; i < nql; i++) quant |= ql[i].bits < 32;
    if (quant) fr_gguf_kv_u32(o, "general.quantization_version", 2);
    fr_gguf_kv_u32(o, "llama.context_length", (uint32_t)meta->in_c);
    fr_gguf_kv_u32(o, "llama.embedding_length", (uint32_t)m.d);
    fr_gguf_kv_u32(o, "llama.block_count", (uint32_t)m.nb);
    fr_gguf_kv_u32(o, "llama.feed_forward_length", (uint32_t)m.ff);
    fr_gguf_kv_u32(o, "llama.attention.head_count", (uint32_t)m.heads);
    fr_gguf_kv_u32(o, "llama.attention.head_count_kv", (uint32_t)m.kv_heads);
    fr_gguf_kv_u32(o, "llama.attention.key_length", (uint32_t)m.hd);
    fr_gguf_kv_u32(o, "llama.attention.value_length", (uint32_t)m.hd);
    fr_gguf_kv_u32(o, "llama.rope.dimension_count", (uint32_t)m.hd);
    fr_gguf_kv_f32(o, "llama.rope.freq_base", m.theta);
    fr_gguf_kv_f32(o, "llama.attention.layer_norm_rms_epsilon", m.eps);
    fr_gguf_kv_u32(o, "llama.vocab_size", (uint32_t)m.vocab);
    rep->byte_vocab = m.vocab == 256;
    if (rep->byte_vocab) {
        /* llama.cpp's "rwkv" tokenizer matches raw bytes against a trie of unescaped tokens, so
         * 256 tokens "\xNN" tokenize any text into exactly its bytes, as frtui trained on them.
         * (SentencePiece's byte fallback would first turn each space into U+2581, three bytes.) */
        char names[256][8];
        const char *tok[256];
        int32_t type[256];
        for (int i = 0; i < 256; i++) {
            snprintf(names[i], sizeof names[i], "\\x%02x", i);
            tok[i] = names[i], type[i] = 1;   /* llama.cpp's token type "normal" */
        }
        fr_gguf_kv_str(o, "tokenizer.ggml.model", "rwkv");
        fr_gguf_kv_arr_str(o, "tokenizer.ggml.tokens", tok, 256);
        fr_gguf_kv_arr_i32(o, "tokenizer.ggml.token_type", type, 256);
        fr_gguf_kv_bool(o, "tokenizer.ggml.add_bos_token", 0);
        fr_gguf_kv_bool(o, "tokenizer.ggml.add_eos_token", 0);
    } else {
        fr_gguf_kv_str(o, "tokenizer.ggml.model", "none");
    }
    if (gm && gm->method) {
        fr_gguf_kv_str(o, "frtui.method", gm->method);
        fr_gguf_kv_u32(o, "frtui.bits", (uint32_t)gm->bits);
        fr_gguf_kv_u32(o, "frtui.act_bits", (uint32_t)gm->act_bits);
        if (gm->granularity) fr_gguf_kv_str(o, "frtui.granularity", gm->granularity);
    }
    put_f32(o, rep, "token_embd.weight", param(&m, m.embed, 0), m.hd, 0);
    char base[64];
    for (int i = 0; i < m.nb; i++)
        for (int r = 0; r < R__N; r++) {
            snprintf(base, sizeof base, "blk.%d.%s", i, role_name[r]);
            if (r == R_NORM1 || r == R_NORM2) {
                char name[80];
                snprintf(name, sizeof name, "%s.weight", base);
                put_f32(o, rep, name, param(&m, m.b[i].node[r], 0), m.hd, 0);
            } else {
                put_linear(&m, o, rep, base, m.b[i].node[r], ql, nql, r == R_Q || r == R_K);
            }
        }
    put_f32(o, rep, "output_norm.weight", param(&m, m.out_norm, 0), m.hd, 0);
    put_linear(&m, o, rep, "output", m.head, ql, nql, 0);
    rep->blocks = m.nb;
    rep->vocab = m.vocab;
    rc = fr_gguf_encode(o, out, out_n, e);
    rep->bytes = *out_n;
    fr_gguf_free(o);
    free(m.uses);
    free(m.b);
    if (rc) fr_gguf_report_free(rep);
    return rc;
}

void fr_gguf_report_free(fr_gguf_report *r)
{
    free(r->t);
    memset(r, 0, sizeof *r);
}
