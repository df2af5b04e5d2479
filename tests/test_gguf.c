/* test_gguf.c — the GGUF export (issue 16, item 6).
 *
 * Independent checks, from the inside out:
 *   - fp16 conversion: every half round-trips, every midpoint rounds to even, overflow -> inf;
 *   - the container: a reader written here from the format's description (not frtui's writer)
 *     parses keys, tensor infos, alignment and offsets back;
 *   - the blocks: each Q4_0 / Q4_1 / Q8_0 block is decoded with ggml's formulas, un-permuted
 *     from llama.cpp's RoPE pairing, and compared with frtui's dequantised weights (the bound is
 *     the fp16 rounding of the block scale); tensor types follow the grid;
 *   - refusals: a CNN and a broken LLaMA graph name the node that breaks the match;
 *   - llama.cpp itself (libllama from npm @node-llama-cpp/linux-x64, loaded with dlopen when
 *     tests/tools/fetch_llama.sh has fetched it): perplexity of the exported sample LM, full
 *     precision within 0.1 % and quantized (Q4_0, Q4_1, learned FlexRound codes) within 1 % of
 *     frtui's own; its tokenizer turns text into the byte ids frtui trained on.
 * `test_gguf --ppl FILE.gguf MODEL.frm [WINDOWS]` prints llama.cpp's perplexity of FILE.gguf on
 * MODEL.frm's evaluation windows (tests/gguf.t.sh uses it on files `frtui export` wrote).
 */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fr_test.h"
#include "frtui/blas.h"
#include "frtui/export_gguf.h"
#include "frtui/fidelity.h"
#include "frtui/frm.h"
#include "frtui/gguf.h"
#include "frtui/half.h"
#include "frtui/lm.h"
#include "frtui/recon.h"
#include "frtui/runcfg.h"

/* ---- fp16 ----------------------------------------------------------------------------------- */

static void test_half(void)
{
    int bad_rt = 0, bad_mid = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = fr_f16_to_f32((uint16_t)h);
        if (isnan(f)) {
            bad_rt += !isnan(fr_f16_to_f32(fr_f32_to_f16(f)));
            continue;
        }
        bad_rt += fr_f32_to_f16(f) != h;
        /* the midpoint to the next half of the same sign goes to the even one of the two */
        if ((h & 0x7fff) >= 0x7bff) continue;
        const float g = fr_f16_to_f32((uint16_t)(h + 1));
        const double mid = ((double)f + (double)g) / 2;
        if ((double)(float)mid != mid) continue;
        const uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        bad_mid += fr_f32_to_f16((float)mid) != want;
    }
    FR_CHECKF(bad_rt == 0, "%d halves do not round-trip", bad_rt);
    FR_CHECKF(bad_mid == 0, "%d midpoints not rounded to even", bad_mid);
    FR_CHECK(fr_f32_to_f16(65520.0f) == 0x7c00 && fr_f32_to_f16(65519.0f) == 0x7bff);
    FR_CHECK(fr_f32_to_f16(-1.0f) == 0xbc00 && fr_f32_to_f16(1e-8f) == 0 && fr_f32_to_f16(6e-8f) == 1);
    FR_CHECK(fr_bf16_to_f32(0x3f80) == 1.0f && fr_bf16_to_f32(0xc000) == -2.0f);
}

/* ---- a GGUF reader written from the format's description ------------------------------------- */

typedef struct {
    char name[96];
    uint32_t nd, type;
    uint64_t ne[4], off;
    const uint8_t *data;
} rtensor;

typedef struct {
    const uint8_t *p, *end, *base;
    int ok;
    uint64_t n_t, n_kv;
    rtensor t[160];
    /* the keys the tests look at */
    char arch[32], tok_model[32], tok5[16];
    uint32_t ctx, embd, blocks, ff, heads, kv_heads, n_tokens, tok_type5;
    float theta, eps;
} rfile;

static uint64_t rd(rfile *r, int n)
{
    uint64_t v = 0;
    if (r->end - r->p < n) { r->ok = 0; return 0; }
    for (int i = 0; i < n; i++) v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

static void rstr(rfile *r, char *out, size_t cap)
{
    uint64_t n = rd(r, 8);
    if (!r->ok || n > (uint64_t)(r->end - r->p)) { r->ok = 0; return; }
    if (out) snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), (const char *)r->p);
    r->p += n;
}

static const int vsize[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

static void rvalue(rfile *r, uint32_t type, const char *key, int idx)
{
    if (type == 8) {
        char s[96];
        rstr(r, s, sizeof s);
        if (!strcmp(key, "general.architecture")) snprintf(r->arch, sizeof r->arch, "%.31s", s);
        if (!strcmp(key, "tokenizer.ggml.model")) snprintf(r->tok_model, sizeof r->tok_model, "%.31s", s);
        if (!strcmp(key, "tokenizer.ggml.tokens") && idx == 0x41) snprintf(r->tok5, sizeof r->tok5, "%.15s", s);
        return;
    }
    if (type == 9) {
        uint32_t et = (uint32_t)rd(r, 4);
        uint64_t n = rd(r, 8);
        if (!strcmp(key, "tokenizer.ggml.tokens")) r->n_tokens = (uint32_t)n;
        for (uint64_t i = 0; i < n && r->ok; i++) rvalue(r, et, key, (int)i);
        return;
    }
    if (type > 12) { r->ok = 0; return; }
    uint64_t v = rd(r, vsize[type]);
    float f;
    uint32_t u = (uint32_t)v;
    memcpy(&f, &u, 4);
    struct { const char *k; uint32_t *u; float *f; } keys[] = {
        {"llama.context_length", &r->ctx, NULL},       {"llama.embedding_length", &r->embd, NULL},
        {"llama.block_count", &r->blocks, NULL},       {"llama.feed_forward_length", &r->ff, NULL},
        {"llama.attention.head_count", &r->heads, NULL}, {"llama.attention.head_count_kv", &r->kv_heads, NULL},
        {"llama.rope.freq_base", NULL, &r->theta},     {"llama.attention.layer_norm_rms_epsilon", NULL, &r->eps},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i].k)) {
            if (keys[i].u) *keys[i].u = u;
            else *keys[i].f = f;
        }
    if (!strcmp(key, "tokenizer.ggml.token_type") && idx == 5) r->tok_type5 = u;
}

static int rparse(rfile *r, const uint8_t *buf, size_t n)
{
    memset(r, 0, sizeof *r);
    r->p = buf, r->end = buf + n, r->ok = 1;
    if (n < 24 || memcmp(buf, "GGUF", 4)) return 0;
    r->p += 4;
    if (rd(r, 4) != 3) return 0;
    r->n_t = rd(r, 8), r->n_kv = rd(r, 8);
    if (r->n_t > 160) return 0;
    for (uint64_t i = 0; i < r->n_kv && r->ok; i++) {
        char key[96];
        rstr(r, key, sizeof key);
        rvalue(r, (uint32_t)rd(r, 4), key, -1);
    }
    for (uint64_t i = 0; i < r->n_t && r->ok; i++) {
        rtensor *t = &r->t[i];
        rstr(r, t->name, sizeof t->name);
        t->nd = (uint32_t)rd(r, 4);
        if (t->nd < 1 || t->nd > 4) return 0;
        for (uint32_t d = 0; d < t->nd; d++) t->ne[d] = rd(r, 8);
        t->type = (uint32_t)rd(r, 4);
        t->off = rd(r, 8);
    }
    if (!r->ok) return 0;
    size_t head = (size_t)(r->p - buf);
    head = (head + 31) / 32 * 32;
    r->base = buf + head;
    for (uint64_t i = 0; i < r->n_t; i++) {
        rtensor *t = &r->t[i];
        uint64_t rows = 1;
        for (uint32_t d = 1; d < t->nd; d++) rows *= t->ne[d];
        uint64_t bytes = rows * fr_ggml_row_bytes((fr_ggml_type)t->type, (int64_t)t->ne[0]);
        if (t->off % 32 || head + t->off + bytes > n) return 0;
        t->data = r->base + t->off;
    }
    return 1;
}

static const rtensor *rfind(const rfile *r, const char *name)
{
    for (uint64_t i = 0; i < r->n_t; i++)
        if (!strcmp(r->t[i].name, name)) return &r->t[i];
    return NULL;
}

static float rd_half(const uint8_t *p) { return fr_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

/* Row `row` of tensor t decoded to floats with ggml's block formulas. */
static void decode_row(const rtensor *t, uint64_t row, float *out)
{
    const uint64_t n = t->ne[0];
    const size_t rb = fr_ggml_row_bytes((fr_ggml_type)t->type, (int64_t)n);
    const uint8_t *p = t->data + row * rb;
    for (uint64_t b = 0; b < (t->type == FR_GGML_F32 ? 1 : n / 32); b++) {
        switch (t->type) {
        case FR_GGML_F32: memcpy(out, p, n * 4); break;
        case FR_GGML_Q8_0: {
            const uint8_t *q = p + b * 34;
            for (int j = 0; j < 32; j++) out[b * 32 + j] = (float)(int8_t)q[2 + j] * rd_half(q);
            break;
        }
        case FR_GGML_Q4_0: {
            const uint8_t *q = p + b * 18;
            for (int j = 0; j < 16; j++) {
                out[b * 32 + j] = (float)((q[2 + j] & 15) - 8) * rd_half(q);
                out[b * 32 + j + 16] = (float)((q[2 + j] >> 4) - 8) * rd_half(q);
            }
            break;
        }
        default: {
            const uint8_t *q = p + b * 20;
            for (int j = 0; j < 16; j++) {
                out[b * 32 + j] = (float)(q[4 + j] & 15) * rd_half(q) + rd_half(q + 2);
                out[b * 32 + j + 16] = (float)(q[4 + j] >> 4) * rd_half(q) + rd_half(q + 2);
            }
        }
        }
    }
}

/* ---- the container ------------------------------------------------------------------------- */

static void test_container(void)
{
    fr_gguf *g = fr_gguf_new();
    fr_gguf_kv_str(g, "general.architecture", "llama");
    fr_gguf_kv_u32(g, "llama.block_count", 7);
    fr_gguf_kv_f32(g, "llama.rope.freq_base", 500000.0f);
    const char *toks[] = {"a", "bb", "ccc", "d", "e", "<0x05>"};
    fr_gguf_kv_arr_str(g, "tokenizer.ggml.tokens", toks, 6);
    int32_t types[] = {1, 1, 1, 1, 1, 6};
    fr_gguf_kv_arr_i32(g, "tokenizer.ggml.token_type", types, 6);
    fr_gguf_kv_bool(g, "tokenizer.ggml.add_bos_token", 0);
    float *a = fr_xmalloc(3 * sizeof(float));
    a[0] = 1, a[1] = -2, a[2] = 3.5f;
    int64_t ne1[1] = {3};
    fr_gguf_tensor(g, "first", FR_GGML_F32, 1, ne1, a);
    uint8_t *q = fr_xcalloc(2, 34);
    q[0] = 0x00, q[1] = 0x3c;       /* d = 1.0 */
    q[2] = 0xfb;                    /* -5 */
    int64_t ne2[2] = {32, 2};
    fr_gguf_tensor(g, "second", FR_GGML_Q8_0, 2, ne2, q);
    uint8_t *buf;
    size_t n;
    fr_err e;
    FR_CHECK(fr_gguf_encode(g, &buf, &n, &e) == FR_OK);
    fr_gguf_free(g);
    rfile *r = fr_xmalloc(sizeof *r);
    FR_CHECK(rparse(r, buf, n) && r->n_t == 2 && r->n_kv == 6);
    FR_CHECK(!strcmp(r->arch, "llama") && r->blocks == 7 && r->theta == 500000.0f && r->n_tokens == 6 && r->tok_type5 == 6);
    const rtensor *t1 = rfind(r, "first"), *t2 = rfind(r, "second");
    FR_CHECK(t1 && t2 && t1->off == 0 && t2->off == 32 && t2->ne[0] == 32 && t2->ne[1] == 2 && t2->type == 8);
    float row[32];
    if (t1 && t2) {
        decode_row(t1, 0, row);
        FR_CHECK(row[0] == 1 && row[1] == -2 && row[2] == 3.5f);
        decode_row(t2, 0, row);
        FR_CHECK(row[0] == -5 && row[1] == 0);
    }
    FR_CHECK(n == (size_t)(r->base - buf) + 32 + 2 * 34 + 28);   /* 68 bytes of Q8_0 padded to 96 */
    free(r);
    free(buf);
}

/* ---- a tiny LM, quantized, exported, decoded ----------------------------------------------- */

static const fr_lm_arch small = {.vocab = 256, .d = 64, .layers = 2, .heads = 2, .kv_heads = 1, .ff = 96, .T = 16,
                                 .theta = 10000.0f, .eps = 1e-5f};

static uint8_t *pattern_text(size_t n)
{
    uint8_t *t = fr_xmalloc(n);
    const char *s = "In the beginning God created the heaven and the earth. ";
    for (size_t i = 0; i < n; i++) t[i] = (uint8_t)s[i % strlen(s)];
    return t;
}

/* Runs cfg over every unit of m; *q receives each layer's codes (pointing into r's results) and
 * *gq a copy of the recon graph carrying frtui's dequantised weights. */
static fr_recon *quantize(const fr_model *m, const fr_run_config *cfg, fr_gguf_qlayer **q, int *nq, fr_graph *gq, fr_err *e)
{
    fr_recon *r = fr_recon_new(m, cfg, e);
    if (!r) return NULL;
    const fr_partition *p = fr_recon_partition(r);
    *nq = 0;
    *q = fr_xcalloc(64, sizeof **q);
    fr_graph_copy(gq, &fr_recon_model(r)->g);
    for (int k = 0; k < p->n; k++) {
        if (fr_recon_begin(r, k, e)) goto fail;
        while (fr_recon_iter(r) < fr_recon_iters(r))
            if (fr_recon_step(r)) goto fail;
        if (fr_recon_end(r, e)) goto fail;
        int nl;
        const fr_layer_result *L = fr_recon_results(r, k, &nl);
        for (int l = 0; l < nl && *nq < 64; l++) {
            (*q)[(*nq)++] = (fr_gguf_qlayer){L[l].node, L[l].bits, cfg->symmetric, L[l].ns1, L[l].s1, L[l].zp, L[l].code};
            memcpy(gq->tensors[gq->nodes[L[l].node].param[0]].data, L[l].w_hat, (size_t)L[l].n * sizeof(float));
        }
    }
    return r;
fail:
    fr_recon_free(r);
    fr_graph_free(gq);
    free(*q);
    *q = NULL;
    return NULL;
}

/* llama.cpp's row r of a q/k matrix is frtui's row src(r) (adjacent RoPE pairs vs rotate-half). */
static int64_t frtui_row(int64_t r, int hd, int permute)
{
    if (!permute) return r;
    return r / hd * hd + (r % hd % 2) * (hd / 2) + r % hd / 2;
}

/* Every exported weight against frtui's: returns the worst |w_gguf - w_frtui| / bound, where the
 * bound is what an fp16 block scale (and Q4_1 minimum) may move a weight. */
static double check_weights(const rfile *r, const fr_graph *g, const fr_gguf_qlayer *q, int nq, int hd, int *types)
{
    double worst = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const fr_node *nd = &g->nodes[i];
        if (nd->op != FR_OP_LINEAR && nd->op != FR_OP_EMBED && nd->op != FR_OP_RMSNORM) continue;
        char name[FR_NAME_MAX + 8];
        snprintf(name, sizeof name, "%s.weight", nd->name);   /* the builder uses llama.cpp's names */
        const rtensor *t = rfind(r, name);
        if (!t) { worst = INFINITY; continue; }
        const fr_tensor *W = &g->tensors[nd->param[0]];
        const int64_t rows = W->ndim == 2 ? W->dim[0] : 1, cols = W->ndim == 2 ? W->dim[1] : W->dim[0];
        if ((int64_t)t->ne[0] != cols || (t->nd == 2 && (int64_t)t->ne[1] != rows)) { worst = INFINITY; continue; }
        const fr_gguf_qlayer *ql = NULL;
        for (int k = 0; k < nq; k++) ql = q[k].node == i ? &q[k] : ql;
        if (t->type < 16) types[t->type]++;
        const int permute = strstr(nd->name, "attn_q") || strstr(nd->name, "attn_k");
        if (nd->op == FR_OP_LINEAR && nd->n_param > 1 && nd->param[1] >= 0) {   /* a bias: one value per row */
            const fr_tensor *B = &g->tensors[nd->param[1]];
            snprintf(name, sizeof name, "%s.bias", nd->name);
            const rtensor *tb = rfind(r, name);
            float *bv = fr_xmalloc((size_t)B->dim[0] * sizeof(float));
            if (!tb || tb->type != FR_GGML_F32 || (int64_t)tb->ne[0] != B->dim[0]) worst = INFINITY;
            else {
                decode_row(tb, 0, bv);
                for (int64_t rr = 0; rr < B->dim[0]; rr++)
                    if (bv[rr] != B->data[frtui_row(rr, hd, permute)]) worst = INFINITY;
            }
            free(bv);
        }
        float *row = fr_xmalloc((size_t)cols * sizeof(float));
        for (int64_t rr = 0; rr < rows; rr++) {
            decode_row(t, (uint64_t)rr, row);
            const int64_t sr = frtui_row(rr, hd, permute);
            for (int64_t c = 0; c < cols; c++) {
                const double w = W->data[sr * cols + c], err = fabs((double)row[c] - w);
                double bound = 0;
                if (ql && t->type != FR_GGML_F32) {
                    const int64_t gpr = ql->ns1 == 1 ? 1 : ql->ns1 / rows, gi = ql->ns1 == 1 ? 0 : sr * gpr + c / (cols / gpr);
                    const double s = fabs((double)ql->s1[gi]), z = ql->symmetric ? 0 : fabs((double)ql->zp[gi]);
                    bound = (fabs((double)ql->code[sr * cols + c]) + 2 * z) * s * 1e-3 + 1e-30;
                }
                const double ratio = bound > 0 ? err / bound : (err == 0 ? 0 : INFINITY);
                if (ratio > worst) worst = ratio;
            }
        }
        free(row);
    }
    return worst;
}

static void calib(fr_model *m)
{
    const size_t n = 6000;
    uint8_t *text = pattern_text(n);
    fr_err e;
    FR_ASSERT(fr_lm_windows(text, n, small.T, 16, 3, &m->calib, &e) == FR_OK);
    FR_ASSERT(fr_lm_windows(text, n, small.T, 8, 4, &m->eval, &e) == FR_OK);
    free(text);
}

static void export_arch(const fr_lm_arch *arch, const char *label, int symmetric, int group, int bits, int last_bits,
                        fr_method method, int want_q40, int want_q41, int want_q80, int want_f32_quant)
{
    fr_model m;
    fr_err e;
    fr_model_init(&m);
    FR_ASSERT(fr_lm_build(&m, arch, 11, &e) == FR_OK);
    if (arch->qkv_bias)   /* fr_lm_build leaves biases 0: give them values that show a wrong order */
        for (int t = 0; t < m.g.n_tensors; t++)
            if (strstr(m.g.tensors[t].name, ".bias"))
                for (int64_t i = 0; i < m.g.tensors[t].dim[0]; i++) m.g.tensors[t].data[i] = 0.01f * (float)i;
    calib(&m);
    fr_run_config c;
    FR_ASSERT(fr_run_config_preset(&c, "flexround-llm", &e) == FR_OK);
    c.method = method, c.bits = bits, c.first_last_bits = last_bits, c.symmetric = symmetric, c.group_size = group;
    c.iters = method == FR_METHOD_RTN ? 0 : 6, c.batch = 4;
    fr_gguf_qlayer *q;
    int nq;
    fr_graph gq;
    fr_recon *r = quantize(&m, &c, &q, &nq, &gq, &e);
    FR_CHECKF(r != NULL, "%s: %s", label, e.msg);
    if (!r) { fr_model_free(&m); return; }
    uint8_t *buf = NULL;
    size_t n = 0;
    fr_gguf_report rep;
    int rc = fr_gguf_encode_llama(&gq, &m.meta, q, nq, NULL, &buf, &n, &rep, &e);
    FR_CHECKF(rc == FR_OK, "%s: %s", label, e.msg);
    rfile *rf = fr_xmalloc(sizeof *rf);
    if (!rc) {
        FR_CHECKF(rparse(rf, buf, n), "%s: the file does not parse", label);
        FR_CHECK(!strcmp(rf->arch, "llama") && rf->blocks == 2 && rf->embd == 64 && rf->ff == 96 && rf->heads == (uint32_t)arch->heads &&
                 rf->kv_heads == (uint32_t)arch->kv_heads && rf->ctx == 16 && rf->theta == 10000.0f && rf->eps == 1e-5f);
        FR_CHECK(!strcmp(rf->tok_model, "rwkv") && rf->n_tokens == 256 && !strcmp(rf->tok5, "\\x41") && rf->tok_type5 == 1);
        int types[16] = {0};
        const double worst = check_weights(rf, &gq, q, nq, fr_lm_head_dim(arch), types);
        FR_CHECKF(worst <= 1.0, "%s: a weight moved %.3g times the fp16 scale bound", label, worst);
        int f32q = 0;
        for (int i = 0; i < rep.n; i++) f32q += rep.t[i].bits && rep.t[i].type == FR_GGML_F32;
        FR_CHECKF(types[FR_GGML_Q4_0] == want_q40 && types[FR_GGML_Q4_1] == want_q41 && types[FR_GGML_Q8_0] == want_q80 &&
                  f32q == want_f32_quant, "%s: Q4_0 %d, Q4_1 %d, Q8_0 %d, quantized F32 %d", label, types[FR_GGML_Q4_0],
                  types[FR_GGML_Q4_1], types[FR_GGML_Q8_0], f32q);
        fr_gguf_report_free(&rep);
    }
    free(rf);
    free(buf);
    free(q);
    fr_graph_free(&gq);
    fr_recon_free(r);
    fr_model_free(&m);
}

static void export_case(const char *label, int symmetric, int group, int bits, int last_bits, fr_method method,
                        int want_q40, int want_q41, int want_q80, int want_f32_quant)
{
    export_arch(&small, label, symmetric, group, bits, last_bits, method, want_q40, want_q41, want_q80, want_f32_quant);
}

/* 14 block projections + the head.  Symmetric 4-bit -> Q4_0; asymmetric 4-bit -> Q4_1; the
 * 8-bit head: symmetric -> Q8_0, asymmetric -> Q8_0 only if codes - zp fit an int8, which a
 * min-max grid's extreme codes (0 and 255 around zp ~ 128) do not: F32 there. */
static void test_blocks_rtn(void)
{
    export_case("sym W4 group 32", 1, 32, 4, 8, FR_METHOD_RTN, 14, 0, 1, 0);
    export_case("sym W4 per channel", 1, 0, 4, 8, FR_METHOD_RTN, 14, 0, 1, 0);
    export_case("sym W3 group 64", 1, 64, 3, 3, FR_METHOD_RTN, 15, 0, 0, 0);
    export_case("asym W4 group 32", 0, 32, 4, 4, FR_METHOD_RTN, 0, 15, 0, 0);
    export_case("sym W8", 1, 32, 8, 8, FR_METHOD_RTN, 0, 0, 15, 0);
}

static void test_blocks_learned(void)
{
    export_case("FlexRound asym W4 group 32", 0, 32, 4, 4, FR_METHOD_FLEXROUND, 0, 15, 0, 0);
    export_case("AdaRound sym W4 per channel", 1, 0, 4, 4, FR_METHOD_ADAROUND, 15, 0, 0, 0);
    export_case("FlexRound asym W3, 8-bit head", 0, 0, 3, 8, FR_METHOD_FLEXROUND, 0, 14, 0, 1);
}

/* Groups of 16 cannot hold a 32-weight block: every layer stays F32, exactly frtui's values. */
static void test_blocks_fallback(void) { export_case("sym W4 group 16", 1, 16, 4, 4, FR_METHOD_RTN, 0, 0, 0, 15); }

/* q/k/v biases (Qwen2) and a head size other than d / heads (4 heads of 32 on d 64): the q and
 * k rows and their biases permute with the head size, not d / heads. */
static void test_blocks_biases(void)
{
    fr_lm_arch a = small;
    a.heads = 4, a.kv_heads = 2, a.head_dim = 32, a.qkv_bias = 1;
    export_arch(&a, "biases, head_dim 32", 1, 32, 4, 8, FR_METHOD_RTN, 14, 0, 1, 0);
}

static void test_refusals(void)
{
    fr_model m;
    fr_err e;
    fr_model_init(&m);
    FR_ASSERT(fr_lm_build(&m, &small, 1, &e) == FR_OK);
    uint8_t *buf;
    size_t n;
    fr_gguf_report rep;
    /* a LayerNorm where llama.cpp's llama expects RMSNorm */
    int k = fr_graph_find_node(&m.g, "blk.1.ffn_norm");
    FR_ASSERT(k >= 0);
    m.g.nodes[k].op = FR_OP_LAYERNORM;
    FR_CHECK(fr_gguf_encode_llama(&m.g, &m.meta, NULL, 0, NULL, &buf, &n, &rep, &e) == FR_EINPUT);
    FR_CHECKF(strstr(e.msg, "blk.1") != NULL, "%s", e.msg);
    m.g.nodes[k].op = FR_OP_RMSNORM;
    /* a GELU MLP */
    k = fr_graph_find_node(&m.g, "blk.0.ffn_silu");
    m.g.nodes[k].op = FR_OP_GELU;
    FR_CHECK(fr_gguf_encode_llama(&m.g, &m.meta, NULL, 0, NULL, &buf, &n, &rep, &e) == FR_EINPUT);
    FR_CHECKF(strstr(e.msg, "SwiGLU") != NULL, "%s", e.msg);
    m.g.nodes[k].op = FR_OP_SILU;
    FR_CHECK(fr_gguf_encode_llama(&m.g, &m.meta, NULL, 0, NULL, &buf, &n, &rep, &e) == FR_OK);
    free(buf);
    fr_gguf_report_free(&rep);
    fr_model_free(&m);
    /* not a language model at all */
    if (fr_frm_read("samples/resnet-fmnist.frm", &m, &e) == FR_OK) {
        FR_CHECK(fr_gguf_encode_llama(&m.g, &m.meta, NULL, 0, NULL, &buf, &n, &rep, &e) == FR_EINPUT);
        FR_CHECKF(strstr(e.msg, "not a language model") != NULL, "%s", e.msg);
        fr_model_free(&m);
    } else {
        FR_CHECKF(0, "%s", e.msg);
    }
}

/* ---- llama.cpp through its C API ------------------------------------------------------------- */

/* Only the leading fields of llama.cpp's parameter structs are set, so they are declared up to
 * those and padded: the default-params functions write their full struct into the padding, and
 * the structs are passed by value on the stack (SysV, > 16 bytes), where the callee reads only
 * its own size.  llama_batch is declared whole (llama.h of node-llama-cpp 3.22.1, llama.cpp
 * "v0.5.0" as that package names it). */
typedef struct { _Alignas(16) unsigned char b[512]; } l_model_params;
typedef struct {
    uint32_t n_ctx, n_batch, n_ubatch, n_seq_max, n_rs_seq, n_outputs_max, n_outputs_max_per_seq;
    int32_t n_threads, n_threads_batch;
    unsigned char rest[512];   /* no padding before it: the bytes follow the real layout */
} l_ctx_params_head;
typedef union { l_ctx_params_head h; _Alignas(16) unsigned char b[560]; } l_ctx_params;
typedef struct {
    int32_t n_tokens;
    int32_t *token;
    float *embd;
    int32_t *pos;
    int32_t *n_seq_id;
    int32_t **seq_id;
    int8_t *logits;
} l_batch;

typedef struct {
    void (*load_all_from_path)(const char *);
    void (*backend_init)(void);
    void (*log_set)(void (*)(int, const char *, void *), void *);
    l_model_params (*model_default_params)(void);
    void *(*model_load)(const char *, l_model_params);
    void (*model_free)(void *);
    l_ctx_params (*ctx_default_params)(void);
    void *(*init_from_model)(void *, l_ctx_params);
    void (*free_ctx)(void *);
    const void *(*get_vocab)(const void *);
    int32_t (*n_tokens)(const void *);
    l_batch (*batch_init)(int32_t, int32_t, int32_t);
    void (*batch_free)(l_batch);
    int32_t (*decode)(void *, l_batch);
    float *(*logits_ith)(void *, int32_t);
    void *(*get_memory)(const void *);
    void (*memory_clear)(void *, bool);
    int32_t (*tokenize)(const void *, const char *, int32_t, int32_t *, int32_t, bool, bool);
    void *libs[3];
} llama_api;

static void quiet_log(int level, const char *text, void *ud) { (void)level, (void)text, (void)ud; }

static const char *llama_dir(void)
{
    const char *d = getenv("FRTUI_LLAMA_DIR");
    return d && *d ? d : "build/npm/llama/bins/linux-x64";
}

static int llama_open(llama_api *L, char *why, size_t nwhy)
{
    memset(L, 0, sizeof *L);
    const char *dir = llama_dir();
    const char *names[3] = {"libggml-base.so", "libggml.v0.5.0.so", "libllama.v0.5.0.so"};
    for (int i = 0; i < 3; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (!(L->libs[i] = dlopen(p, RTLD_NOW | RTLD_GLOBAL))) {
            snprintf(why, nwhy, "%s", dlerror());
            return 0;
        }
    }
#define SYM(f, lib, name) (*(void **)&L->f = dlsym(L->libs[lib], name), L->f != NULL)
    int ok = SYM(load_all_from_path, 1, "ggml_backend_load_all_from_path") && SYM(backend_init, 2, "llama_backend_init") &&
             SYM(log_set, 2, "llama_log_set") && SYM(model_default_params, 2, "llama_model_default_params") &&
             SYM(model_load, 2, "llama_model_load_from_file") && SYM(model_free, 2, "llama_model_free") &&
             SYM(ctx_default_params, 2, "llama_context_default_params") &&
             SYM(init_from_model, 2, "llama_init_from_model") && SYM(free_ctx, 2, "llama_free") &&
             SYM(get_vocab, 2, "llama_model_get_vocab") && SYM(n_tokens, 2, "llama_vocab_n_tokens") &&
             SYM(batch_init, 2, "llama_batch_init") && SYM(batch_free, 2, "llama_batch_free") &&
             SYM(decode, 2, "llama_decode") && SYM(logits_ith, 2, "llama_get_logits_ith") &&
             SYM(get_memory, 2, "llama_get_memory") && SYM(memory_clear, 2, "llama_memory_clear") &&
             SYM(tokenize, 2, "llama_tokenize");
#undef SYM
    if (!ok) {
        snprintf(why, nwhy, "libllama lacks a symbol of the C API this test uses");
        return 0;
    }
    L->log_set(quiet_log, NULL);
    L->load_all_from_path(dir);
    L->backend_init();
    return 1;
}

/* llama.cpp's mean next-token NLL of the windows of ds (T-1 predictions per window, as
 * fr_eval_lm counts them); NAN on failure. */
static double llama_nll(llama_api *L, const char *gguf, const fr_dataset *ds, const fr_meta *meta, int windows, int check_tok)
{
    void *model = L->model_load(gguf, L->model_default_params());
    if (!model) return NAN;
    const int T = meta->in_c;
    l_ctx_params cp = L->ctx_default_params();
    cp.h.n_ctx = (uint32_t)T, cp.h.n_batch = (uint32_t)T, cp.h.n_ubatch = (uint32_t)T, cp.h.n_seq_max = 1;
    cp.h.n_threads = cp.h.n_threads_batch = 2;
    void *ctx = L->init_from_model(model, cp);
    const void *vocab = L->get_vocab(model);
    const int V = L->n_tokens(vocab);
    double sum = 0;
    long n = 0;
    int ok = ctx != NULL && V > 0;
    if (ok && check_tok) {   /* the byte vocabulary: text -> its bytes, no BOS, no space prefix */
        int32_t ids[64];
        const char *s = "In the beginning\n";
        int32_t k = L->tokenize(vocab, s, (int32_t)strlen(s), ids, 64, false, false);
        ok = k == (int32_t)strlen(s);
        for (int i = 0; ok && i < k; i++) ok = ids[i] == (uint8_t)s[i];
        if (!ok) fprintf(stderr, "llama.cpp tokenized the test text into %d ids, not its %zu bytes\n", k, strlen(s));
    }
    l_batch b = L->batch_init(T, 0, 1);
    float *in = fr_xmalloc((size_t)T * sizeof(float));
    const int total = windows > 0 && windows < ds->n ? windows : ds->n;
    for (int w = 0; ok && w < total; w++) {
        fr_dataset_sample(ds, meta, w, in);
        for (int t = 0; t < T; t++) {
            b.token[t] = (int32_t)in[t], b.pos[t] = t, b.n_seq_id[t] = 1, b.seq_id[t][0] = 0, b.logits[t] = 1;
        }
        b.n_tokens = T;
        L->memory_clear(L->get_memory(ctx), true);
        if (L->decode(ctx, b) != 0) { ok = 0; break; }
        for (int t = 0; t + 1 < T; t++) {
            const float *lg = L->logits_ith(ctx, t);
            double mx = -INFINITY, z = 0;
            for (int v = 0; v < V; v++) mx = fmax(mx, (double)lg[v]);
            for (int v = 0; v < V; v++) z += exp((double)lg[v] - mx);
            sum += mx + log(z) - (double)lg[(int)in[t + 1]];
            n++;
        }
    }
    free(in);
    L->batch_free(b);
    if (ctx) L->free_ctx(ctx);
    L->model_free(model);
    return ok && n ? sum / (double)n : NAN;
}

static const char *sample = "samples/tinylm-kjv.frm";
enum { WINDOWS = 96 };

static double frtui_nll(const fr_graph *g, const fr_model *m)
{
    double nll = NAN;
    long tok;
    fr_err e;
    if (fr_eval_lm(g, &m->meta, &m->eval, NULL, NULL, 32, WINDOWS, &nll, &tok, &e)) fprintf(stderr, "%s\n", e.msg);
    return nll;
}

static double write_and_measure(llama_api *L, const fr_graph *g, const fr_model *m, const fr_gguf_qlayer *q, int nq,
                                int check_tok)
{
    uint8_t *buf;
    size_t n;
    fr_gguf_report rep;
    fr_err e;
    if (fr_gguf_encode_llama(g, &m->meta, q, nq, NULL, &buf, &n, &rep, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return NAN;
    }
    fr_gguf_report_free(&rep);
    char path[64];
    snprintf(path, sizeof path, "/tmp/frtui-gguf-%ld.gguf", (long)getpid());
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, n, f) == n;
    if (f) ok &= fclose(f) == 0;
    free(buf);
    double nll = ok ? llama_nll(L, path, &m->eval, &m->meta, WINDOWS, check_tok) : NAN;
    unlink(path);
    return nll;
}

static void llama_case(llama_api *L, const fr_model *m, const char *label, fr_method method, int symmetric, int group,
                       int iters)
{
    fr_run_config c;
    fr_err e;
    FR_ASSERT(fr_run_config_preset(&c, "flexround-llm", &e) == FR_OK);
    c.method = method, c.bits = 4, c.symmetric = symmetric, c.group_size = group, c.iters = iters, c.n_calib = 64;
    fr_gguf_qlayer *q;
    int nq;
    fr_graph gq;
    fr_recon *r = quantize(m, &c, &q, &nq, &gq, &e);
    FR_CHECKF(r != NULL, "%s: %s", label, e.msg);
    if (!r) return;
    const double mine = frtui_nll(&gq, m), theirs = write_and_measure(L, &gq, m, q, nq, 0);
    const double rel = fabs(exp(theirs) / exp(mine) - 1);
    printf("# %s: perplexity frtui %.4f, llama.cpp %.4f (%.3f %%)\n", label, exp(mine), exp(theirs), 100 * rel);
    FR_CHECKF(rel < 0.01, "%s: llama.cpp's perplexity %.4f vs frtui's %.4f", label, exp(theirs), exp(mine));
    free(q);
    fr_graph_free(&gq);
    fr_recon_free(r);
}

static void test_llama(void)
{
    llama_api L;
    char why[512];
    if (!llama_open(&L, why, sizeof why)) {
        /* `make test` fetches the library first; without npm the check cannot run at all */
        FR_CHECKF(getenv("FRTUI_LLAMA_OPTIONAL") != NULL, "llama.cpp runtime not available (%s): run "
                  "sh tests/tools/fetch_llama.sh build/npm", why);
        return;
    }
    fr_model m;
    fr_err e;
    if (fr_frm_read(sample, &m, &e)) {
        FR_CHECKF(0, "%s", e.msg);
        return;
    }
    const double mine = frtui_nll(&m.g, &m), theirs = write_and_measure(&L, &m.g, &m, NULL, 0, 1);
    const double rel = fabs(exp(theirs) / exp(mine) - 1);
    printf("# full precision: perplexity frtui %.5f, llama.cpp %.5f (%.4f %%)\n", exp(mine), exp(theirs), 100 * rel);
    FR_CHECKF(rel < 1e-3, "llama.cpp's perplexity %.5f vs frtui's %.5f", exp(theirs), exp(mine));
    llama_case(&L, &m, "RTN W4 sym group 32 (Q4_0)", FR_METHOD_RTN, 1, 32, 0);
    llama_case(&L, &m, "RTN W4 asym per channel (Q4_1)", FR_METHOD_RTN, 0, 0, 0);
    llama_case(&L, &m, "FlexRound W4 asym group 32 (Q4_1)", FR_METHOD_FLEXROUND, 0, 32, 12);
    fr_model_free(&m);
}

static int ppl_main(int argc, char **argv)
{
    llama_api L;
    char why[512];
    fr_model m;
    fr_err e;
    if (!llama_open(&L, why, sizeof why)) return fprintf(stderr, "test_gguf: %s\n", why), 2;
    if (fr_frm_read(argv[3], &m, &e)) return fprintf(stderr, "test_gguf: %s\n", e.msg), 2;
    const double nll = llama_nll(&L, argv[2], &m.eval, &m.meta, argc > 4 ? atoi(argv[4]) : 0, 0);
    fr_model_free(&m);
    if (isnan(nll)) return fprintf(stderr, "test_gguf: llama.cpp could not evaluate %s\n", argv[2]), 1;
    printf("%.6f\n", exp(nll));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "--ppl")) return ppl_main(argc, argv);
    fr_blas_set_threads(1);
    FR_RUN(test_half);
    FR_RUN(test_container);
    FR_RUN(test_blocks_rtn);
    FR_RUN(test_blocks_learned);
    FR_RUN(test_blocks_fallback);
    FR_RUN(test_blocks_biases);
    FR_RUN(test_refusals);
    FR_RUN(test_llama);
    return FR_REPORT();
}
