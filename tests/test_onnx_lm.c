/* test_onnx_lm.c — transformers exported by torch.onnx.export import and compute what torch
 * computed (issue 16, item 5; src/import/onnx_tok.c).
 *
 *   test_onnx_lm [DIR]     fixtures in DIR (default tests/torch/lm; see its README.md)
 *
 * The fixtures (tests/tools/torch_transformer_fixture.py, torch 1.13, seeded random weights) are a
 * LLaMA-style LM (RMSNorm, RoPE, 4 query / 2 kv heads repeated with repeat_interleave, SiLU
 * written as x * sigmoid(x), SwiGLU) and a GPT-2-style LM (LayerNorm, learned positions, fused
 * q/k/v with bias split in three, erf GELU, tied head), each at opsets 14 and 17; the same two
 * as Hugging Face writes them (hfllama: rsqrt norms, q pre-scaled, finfo.min mask, repeat_kv by
 * expand+reshape, symbolic batch and sequence; gpt2hf: Conv1D as Gemm on flattened tokens, tanh
 * GELU, masked_fill, arange positions); GPT-2 with attention as torch 2 decomposes
 * scaled_dot_product_attention (sqrt of the scale on q and k^T, a Trilu -inf mask) and tanh
 * F.gelu (x * (x * x)); torch's logits for 8 windows computed in float64.  For each file this test checks
 *   - the import recognises every pattern: the expected count of each frtui operator, the kv head
 *     count, RoPE's theta recovered from the tables, a language model (ids in, logits out);
 *   - the forward matches torch's logits within 1e-4 of each window's largest logit;
 *   - opsets 14 and 17 (LayerNorm decomposed vs one node) give bit-identical logits;
 *   - BRECQ units are the two decoder blocks plus the head;
 * and that files with one thing changed are refused with a message naming what: a mask that is
 * not causal, RoPE tables that are not cos/sin, GELU constants that are not GELU's.  Missing
 * fixtures are a failure, not a skip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fr_test.h"
#include "frtui/dataio.h"
#include "frtui/exec.h"
#include "frtui/onnx.h"
#include "frtui/partition.h"

static const char *dir = "tests/torch/lm";

typedef struct {
    const char *file, *logits;
    int llama;       /* 1: LLaMA-style; 0: GPT-2-style */
    int same_as_prev;/* the previous file at another opset: bit-identical logits expected */
    int dyn;         /* symbolic batch and sequence: imported with the window as the shape */
    int gelu_form;   /* GPT-2 style: 0 erf, 1 tanh */
} fx;
static const fx files[] = {
    {"llama_op14.onnx", "llama", 1, 0, 0, 0}, {"llama_op17.onnx", "llama", 1, 1, 0, 0},
    {"gpt2_op14.onnx", "gpt2", 0, 0, 0, 0},   {"gpt2_op17.onnx", "gpt2", 0, 1, 0, 0},
    {"hfllama_op17.onnx", "hfllama", 1, 0, 1, 0}, {"gpt2hf_op14.onnx", "gpt2hf", 0, 0, 0, 1},
    {"gpt2sdpa_op14.onnx", "gpt2sdpa", 0, 0, 0, 1},
};

static int count(const fr_graph *g, fr_op op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == op;
    return n;
}

static int read_file(const char *path, uint8_t **buf, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc((size_t)sz);
    *n = fread(*buf, 1, (size_t)sz, f);
    fclose(f);
    return *n == (size_t)sz ? 0 : -1;
}

/* logits of every window of ids (int64 [N, T]) through m: N * T * V floats (caller frees). */
static float *forward(fr_model *m, const fr_npy *ids, int *V)
{
    fr_err e;
    int N = (int)ids->shape[0], T = (int)ids->shape[1];
    fr_exec *ex = fr_exec_new(&m->g, 0, m->g.n_nodes - 1, N, FR_EXEC_INFER, &e);
    FR_CHECKF(ex != NULL, "%s", e.msg);
    if (!ex) return NULL;
    float *in = malloc((size_t)N * T * sizeof(float));
    for (int k = 0; k < N * T; k++) in[k] = (float)((const int64_t *)ids->data)[k];
    fr_exec_bind_input(ex, 0, in);
    fr_exec_forward(ex, N);
    const fr_node *o = &m->g.nodes[m->g.n_nodes - 1];
    *V = o->w;
    size_t cnt = (size_t)N * T * (size_t)o->w;
    float *y = malloc(cnt * sizeof(float));
    memcpy(y, fr_exec_output(ex), cnt * sizeof(float));
    fr_exec_free(ex);
    free(in);
    return y;
}

static void check_structure(const fr_model *m, const fx *f)
{
    const fr_graph *g = &m->g;
    int L = 2;
    FR_CHECKF(fr_graph_lm_vocab(g) == 64, "%s: vocab %d", f->file, fr_graph_lm_vocab(g));
    FR_CHECK(count(g, FR_OP_EMBED) == 1 && count(g, FR_OP_ATTENTION) == L);
    if (f->llama) {
        FR_CHECKF(count(g, FR_OP_RMSNORM) == 2 * L + 1 && count(g, FR_OP_ROPE) == 2 * L && count(g, FR_OP_SILU) == L &&
                  count(g, FR_OP_LINEAR) == 7 * L + 1 && count(g, FR_OP_MUL) == L && count(g, FR_OP_ADD) == 2 * L,
                  "%s: %d rmsnorm, %d rope, %d silu, %d linear, %d mul, %d add", f->file, count(g, FR_OP_RMSNORM),
                  count(g, FR_OP_ROPE), count(g, FR_OP_SILU), count(g, FR_OP_LINEAR), count(g, FR_OP_MUL), count(g, FR_OP_ADD));
        for (int i = 0; i < g->n_nodes; i++) {
            const fr_node *n = &g->nodes[i];
            if (n->op == FR_OP_ATTENTION) FR_CHECKF(n->a.heads == 4 && n->a.kv_heads == 2, "%s: %d/%d heads", f->file, n->a.heads, n->a.kv_heads);
            if (n->op == FR_OP_ROPE) FR_CHECKF(fabs(n->a.theta - 10000.0) < 1e-2, "%s: theta %g", f->file, (double)n->a.theta);
        }
    } else {
        /* + 1 ADD: the learned positions; 3 LINEAR per block from the split q/k/v */
        FR_CHECKF(count(g, FR_OP_LAYERNORM) == 2 * L + 1 && count(g, FR_OP_GELU) == L && count(g, FR_OP_LINEAR) == 6 * L + 1 &&
                  count(g, FR_OP_ADD) == 2 * L + 1 && count(g, FR_OP_ROPE) == 0 && count(g, FR_OP_MUL) == 0,
                  "%s: %d layernorm, %d gelu, %d linear, %d add", f->file, count(g, FR_OP_LAYERNORM), count(g, FR_OP_GELU),
                  count(g, FR_OP_LINEAR), count(g, FR_OP_ADD));
        for (int i = 0; i < g->n_nodes; i++) {
            if (g->nodes[i].op == FR_OP_ATTENTION) FR_CHECK(g->nodes[i].a.heads == 4 && g->nodes[i].a.kv_heads == 4);
            if (g->nodes[i].op == FR_OP_GELU) FR_CHECKF(g->nodes[i].a.form == f->gelu_form, "%s: gelu form %d", f->file, g->nodes[i].a.form);
        }
    }
    fr_partition p;
    fr_err e;
    FR_CHECKF(fr_partition_build(g, 0, FR_UNITS_BRECQ, &p, &e) == FR_OK, "%s: %s", f->file, e.msg);
    int blocks = 0;
    for (int k = 0; k < p.n; k++) blocks += p.units[k].is_block;
    FR_CHECKF(p.n == 3 && blocks == 2 && strcmp(p.units[0].name, "block:blocks.0") == 0, "%s: %d units, %d blocks, first %s",
              f->file, p.n, blocks, p.n ? p.units[0].name : "");
    fr_partition_free(&p);
}

static void test_fixtures(void)
{
    char path[512];
    fr_err e;
    fr_npy ids;
    snprintf(path, sizeof path, "%s/ids.npy", dir);
    int rc0 = fr_npy_read(path, &ids, &e);
    FR_CHECKF(rc0 == FR_OK, "%s", e.msg);
    if (rc0) return;
    FR_CHECK(ids.dtype == FR_NPY_I64 && ids.ndim == 2);
    float *prev = NULL;
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        const fx *f = &files[k];
        fr_model m;
        snprintf(path, sizeof path, "%s/%s", dir, f->file);
        int rc;
        if (f->dyn) {   /* the window is symbolic ('seq'): refused without a shape, then given one */
            rc = fr_onnx_import(path, &m, &e);
            FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, "'seq'"), "%s without a shape: %d %s", f->file, rc, rc ? e.msg : "");
            if (rc == FR_OK) fr_model_free(&m);
            fr_onnx_shape sh = {.n = 1, .d = {ids.shape[1]}, .strict = 0};
            rc = fr_onnx_import_shaped(path, &sh, &m, &e);
        } else {
            rc = fr_onnx_import(path, &m, &e);
        }
        FR_CHECKF(rc == FR_OK, "%s: %s", f->file, e.msg);
        if (rc) continue;
        FR_CHECK(m.meta.in_c == ids.shape[1] && m.meta.in_h == 1 && m.meta.in_w == 1 && m.meta.n_classes == 0);
        check_structure(&m, f);
        fr_npy ref;
        snprintf(path, sizeof path, "%s/%s_logits.npy", dir, f->logits);
        int V = 0;
        float *y = forward(&m, &ids, &V);
        if (y && fr_npy_read(path, &ref, &e) == FR_OK) {
            int N = (int)ids.shape[0], T = (int)ids.shape[1];
            FR_CHECK(ref.ndim == 3 && ref.shape[0] == N && ref.shape[1] == T && ref.shape[2] == V);
            const float *r = ref.data;
            double worst = 0;
            for (int n = 0; n < N && ref.shape[2] == V; n++) {
                double big = 1e-6;
                for (int j = 0; j < T * V; j++) big = fmax(big, fabs(r[(size_t)n * T * V + j]));
                for (int j = 0; j < T * V; j++) worst = fmax(worst, fabs(y[(size_t)n * T * V + j] - r[(size_t)n * T * V + j]) / big);
            }
            FR_CHECKF(worst <= 1e-4, "%s: logits differ from torch by %.3g", f->file, worst);
            printf("  %-16s %2d nodes, max logit error %.2e of the window's largest\n", f->file, m.g.n_nodes, worst);
            fr_npy_free(&ref);
        } else {
            FR_CHECKF(0, "%s: %s", f->file, e.msg);
        }
        /* the same model at another opset: the same operators, the same bits */
        if (f->same_as_prev) {
            FR_CHECK(prev && y);
            if (prev && y) FR_CHECKF(memcmp(prev, y, (size_t)ids.shape[0] * ids.shape[1] * V * sizeof(float)) == 0,
                                     "%s: logits differ from the other opset's", f->file);
        }
        free(prev);
        prev = y;
        fr_model_free(&m);
    }
    free(prev);
    fr_npy_free(&ids);
}

/* Replaces the first occurrence of the float `from` in buf by `to`; returns 0 when absent. */
static int patch_float(uint8_t *buf, size_t n, float from, float to)
{
    for (size_t k = 0; k + 4 <= n; k++)
        if (memcmp(buf + k, &from, 4) == 0) { memcpy(buf + k, &to, 4); return 1; }
    return 0;
}

static void refused(const char *file, float from, float to, const char *want)
{
    char path[512];
    uint8_t *buf = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FR_CHECKF(read_file(path, &buf, &n) == 0, "%s unreadable", path);
    if (!buf) return;
    FR_CHECKF(patch_float(buf, n, from, to), "%s: %g not found", file, (double)from);
    fr_model m;
    fr_err e;
    int rc = fr_onnx_import_mem(buf, n, file, &m, &e);
    FR_CHECKF(rc == FR_EINPUT && strstr(e.msg, want) && strstr(e.msg, file), "%s with %g -> %g: rc %d, '%s' (want '%s')", file,
              (double)from, (double)to, rc, rc ? e.msg : "", want);
    if (rc == FR_OK) fr_model_free(&m);
    free(buf);
}

static void test_refusals(void)
{
    /* the mask's first -1e9 (row 0, column 1) made 0: row 0 may see token 1 */
    refused("llama_op14.onnx", -1e9f, 0.0f, "not causal");
    refused("gpt2_op17.onnx", -1e9f, -1.0f, "not causal");
    /* cos(1) in the cos table (t = 1, i = 0) changed: not a rotary table any more */
    refused("llama_op17.onnx", (float)cos(1.0), 0.5f, "rotary tables");
    /* GELU's x / sqrt 2 with another constant */
    refused("gpt2_op14.onnx", 1.41421354f, 1.5f, "erf outside GELU");
    /* tanh GELU's 0.044715 changed: the polynomial is not GELU's */
    refused("gpt2hf_op14.onnx", 0.044715f, 0.05f, "(GELU)");
}

int main(int argc, char **argv)
{
    if (argc > 1) dir = argv[1];
    FR_RUN(test_fixtures);
    FR_RUN(test_refusals);
    return FR_REPORT();
}
